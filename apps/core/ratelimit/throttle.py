"""The agent-key budgets, inside DRF (``DEFAULT_THROTTLE_CLASSES``).

DRF calls throttles after authentication and the permission check and before the handler, so the
key is known without a second lookup (``request.user`` is the principal authentication built,
carrying the key's own rates) and a refused request never reaches code that writes. Every DRF view
gets it, present and future, unless it sets ``throttle_classes`` itself. Staff sessions and
anonymous callers are counted by :class:`~apps.core.ratelimit.middleware.RateLimitMiddleware`
before the view instead; so is everything that is not a DRF view.

This is DRF's throttle hook only: the counting is :mod:`apps.core.ratelimit.limiter`'s (atomic in
Redis), not DRF's read-then-write cache throttle.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from apps.core.principals import AgentIdentity
from apps.core.ratelimit.charges import agent_charges, caller_charges, enforce


class AgentKeyRateLimit(BaseThrottle):
    """``decide`` budget on views that declare ``rate_limit_budget = "decide"``, ``api`` on every
    other DRF view; per agent key. Refusals raise, so the answer is the error shape.

    A request that sent an ``Authorization`` header but is not an agent here (a view without
    authentication classes never looks at the header) is counted as the middleware would have,
    which left it to this class: a made-up header buys no way around the per-address budget.
    """

    def allow_request(self, request, view) -> bool:
        if not settings.LEXECON_RATE_LIMIT_ENABLED or getattr(view, "rate_limit_exempt", False):
            return True
        principal = request.user
        if isinstance(principal, AgentIdentity):
            charges = agent_charges(principal, view)
        elif request._request.META.get("HTTP_AUTHORIZATION"):
            charges = caller_charges(request._request, view)
        else:
            return True  # counted by RateLimitMiddleware before the view
        # Raises over the limit; the verdict stays on Django's request, where
        # RateLimitMiddleware (above the agent route) finds it for the headers.
        enforce(request._request, charges)
        return True
