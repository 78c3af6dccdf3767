"""Which budgets a request draws on, and counting them: shared by the middleware and the throttle."""

from __future__ import annotations

import hashlib
import json

from django.core.exceptions import RequestDataTooBig

from apps.core.exceptions import RateLimited, RateLimitUnavailable
from apps.core.principals import AgentIdentity
from apps.core.ratelimit.client_ip import client_bucket
from apps.core.ratelimit.limiter import (
    API,
    DECIDE,
    IP,
    LOGIN,
    STAFF,
    Charge,
    LimiterUnavailable,
    budget_rate,
    get_limiter,
)


def agent_charges(principal: AgentIdentity, view) -> list[Charge]:
    """An agent key: ``decide`` on views that declare it, ``api`` on the others; the key's own
    rate if it has one."""
    budget = DECIDE if getattr(view, "rate_limit_budget", None) == DECIDE else API
    rate = budget_rate(budget, principal.rate_limit_override(budget))
    return [] if rate is None else [Charge(budget, principal.key_id, rate, principal.label)]


def caller_charges(request, view) -> list[Charge]:
    """Anyone else (``request`` is Django's): a signed-in user against ``staff``, anybody else
    against ``ip``; a password ``POST`` to a view declaring ``rate_limit_budget = "login"`` also
    against ``login``, per user name + address."""
    charges = []
    user = getattr(request, "user", None)
    bucket = None
    if user is not None and user.is_authenticated:
        rate = budget_rate(STAFF)
        if rate is not None:
            charges.append(Charge(STAFF, str(user.pk), rate, f"user:{user.pk}"))
    else:
        bucket = _bucket(request)
        rate = budget_rate(IP)
        if rate is not None:
            charges.append(Charge(IP, bucket, rate, f"address {bucket}"))
    if getattr(view, "rate_limit_budget", None) == LOGIN and request.method == "POST":
        rate = budget_rate(LOGIN)
        if rate is not None:
            bucket = bucket or _bucket(request)
            username = _login_username(request).strip().casefold()
            # The counter's name commits to the pair without writing the user name into Redis.
            pair = hashlib.sha256(f"{bucket}\n{username}".encode()).hexdigest()[:32]
            charges.append(Charge(LOGIN, pair, rate, f"sign-in from {bucket}"))
    return charges


def _login_username(request) -> str:
    """The user name of a sign-in: a form field, or a JSON body's ``username`` (the original
    Lexecon's ``POST /auth/login``). Unreadable bodies count under the empty name."""
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, RequestDataTooBig):
            return ""
        value = data.get("username", "") if isinstance(data, dict) else ""
        return value if isinstance(value, str) else ""
    return str(request.POST.get("username", ""))


def _bucket(request) -> str:
    # Without an address (a Unix socket's peer) every such caller shares one budget.
    return client_bucket(request) or "unknown"


def enforce(request, charges: list[Charge]) -> None:
    """Count ``charges`` for ``request`` (Django's) and leave the verdict on it for the
    ``X-RateLimit-*`` headers. Raises ``RateLimited`` over a limit and ``RateLimitUnavailable``
    when the store is unreachable and a budget fails closed."""
    try:
        verdict = get_limiter().charge(charges)
    except LimiterUnavailable as exc:
        raise RateLimitUnavailable() from exc
    request.rate_limit = verdict
    if verdict is not None and not verdict.allowed:
        raise RateLimited(
            budget=verdict.budget, limit=verdict.limit, retry_after=verdict.reset_seconds
        )
