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

from apps.core.exceptions import RateLimited, RateLimitUnavailable
from apps.core.principals import AgentIdentity
from apps.core.ratelimit.limiter import (
    API,
    DECIDE,
    Charge,
    LimiterUnavailable,
    budget_rate,
    get_limiter,
)


class AgentKeyRateLimit(BaseThrottle):
    """``decide`` budget on views that declare ``rate_limit_budget = "decide"``, ``api`` on every
    other DRF view; per agent key. Refusals raise, so the answer is the error shape."""

    def allow_request(self, request, view) -> bool:
        if not settings.LEXECON_RATE_LIMIT_ENABLED:
            return True
        principal = request.user
        if not isinstance(principal, AgentIdentity) or getattr(view, "rate_limit_exempt", False):
            return True
        budget = DECIDE if getattr(view, "rate_limit_budget", None) == DECIDE else API
        rate = budget_rate(budget, principal.rate_limit_override(budget))
        if rate is None:
            return True
        try:
            verdict = get_limiter().charge(
                [Charge(budget, principal.key_id, rate, principal.label)]
            )
        except LimiterUnavailable as exc:
            raise RateLimitUnavailable() from exc
        # On the Django request: RateLimitMiddleware, above the agent route, sets the headers.
        request._request.rate_limit = verdict
        if verdict is not None and not verdict.allowed:
            raise RateLimited(
                budget=verdict.budget, limit=verdict.limit, retry_after=verdict.reset_seconds
            )
        return True
