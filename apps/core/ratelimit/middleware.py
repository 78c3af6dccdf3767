"""Rate limits for every view that is not an agent-key call to a DRF view, and the
``X-RateLimit-*`` headers on every limited answer.

It sits above ``AgentRouteMiddleware``, so it sees the answers of agent calls that router hands
straight to their view (``POST /decide``); their budget is counted inside DRF
(:mod:`.throttle`), once authentication has found the key, and left on the request for the headers
here. Everything else is counted in :meth:`RateLimitMiddleware.process_view`, which Django calls
after the URL is resolved (and after sessions and authentication) and before the view, whatever
this middleware's place in the list:

- a signed-in user: the ``staff`` budget, per user (pages and the API alike);
- nobody signed in: the ``ip`` budget, per client address (``client_ip``);
- and a password ``POST`` to a view that declares ``rate_limit_budget = "login"``: also the
  ``login`` budget, per user name + client address, so typing errors of one person never hold up
  colleagues behind the same address.

Views are chosen by kind, never by a list of URLs: a view class (or function) with
``rate_limit_exempt = True`` is never limited (``/health``); a DRF view called with an
``Authorization`` header is the throttle's. Requests answered before any view (static files,
unknown URLs) are not counted.
"""

from __future__ import annotations

from django.conf import settings

from apps.core.exceptions import ApplicationError
from apps.core.ratelimit.charges import caller_charges, enforce
from apps.core.views import refusal_response


class RateLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        verdict = getattr(request, "rate_limit", None)
        if verdict is not None:
            response.headers["X-RateLimit-Limit"] = str(verdict.limit)
            response.headers["X-RateLimit-Remaining"] = str(verdict.remaining)
            response.headers["X-RateLimit-Reset"] = str(verdict.reset_seconds)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not settings.LEXECON_RATE_LIMIT_ENABLED:
            return None
        view = getattr(view_func, "view_class", view_func)
        if getattr(view, "rate_limit_exempt", False):
            return None
        if getattr(view_func, "cls", None) is not None and request.META.get("HTTP_AUTHORIZATION"):
            return None  # a DRF view with a key: AgentKeyRateLimit counts it, once it is known
        try:
            enforce(request, caller_charges(request, view))
        except ApplicationError as refused:  # RateLimited, RateLimitUnavailable
            return refusal_response(request, refused)
        return None
