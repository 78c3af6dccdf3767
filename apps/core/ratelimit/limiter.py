"""Budgets counted through a store, and what happens while the store cannot be reached.

A *budget* is a family of limits with one rate setting and one fail mode:

============ ===================================== =========================================
budget       counted per                           rate setting (default)
============ ===================================== =========================================
``decide``   agent key, on views marked ``decide`` ``LEXECON_RATE_LIMIT_DECIDE_PER_KEY``
``api``      agent key, every other API view       ``LEXECON_RATE_LIMIT_API_PER_KEY``
``staff``    signed-in user (pages and API)        ``LEXECON_RATE_LIMIT_STAFF_PER_USER``
``ip``       client address, nobody signed in      ``LEXECON_RATE_LIMIT_GLOBAL_PER_IP``
``login``    user name + client address, sign-in   ``LEXECON_RATE_LIMIT_AUTH_LOGIN``
============ ===================================== =========================================

An agent key may carry its own ``decide`` and ``api`` rates (admin); the settings are the default.
While the store is unreachable, the budgets named in ``LEXECON_RATE_LIMIT_FAIL_CLOSED`` (default:
``login``) refuse with 503 and the others admit uncounted; each such request is counted in
Prometheus, and the outage is logged when it begins and when it ends. After a failure the store is left alone for ``LEXECON_RATE_LIMIT_STORE_RETRY_MS``, so
an outage costs one timeout per process per retry interval, not one per request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.signals import setting_changed
from prometheus_client import Counter

from apps.core.ratelimit.rates import Rate, parse_rate
from apps.core.ratelimit.stores import MemoryStore, RedisStore, StoreUnavailable

logger = logging.getLogger("lexecon.ratelimit")

DECIDE, API, STAFF, IP, LOGIN = "decide", "api", "staff", "ip", "login"
BUDGET_SETTINGS = {
    DECIDE: "LEXECON_RATE_LIMIT_DECIDE_PER_KEY",
    API: "LEXECON_RATE_LIMIT_API_PER_KEY",
    STAFF: "LEXECON_RATE_LIMIT_STAFF_PER_USER",
    IP: "LEXECON_RATE_LIMIT_GLOBAL_PER_IP",
    LOGIN: "LEXECON_RATE_LIMIT_AUTH_LOGIN",
}

RATE_LIMITED = Counter(
    "lexecon_rate_limited_total", "Requests refused with 429 by a rate limit.", ["route"]
)
FAIL_OPEN = Counter(
    "lexecon_rate_limit_fail_open_total",
    "Requests admitted uncounted because the rate-limit store was unreachable.",
    ["route"],
)
FAIL_CLOSED = Counter(
    "lexecon_rate_limit_fail_closed_total",
    "Requests refused with 503 because the rate-limit store was unreachable.",
    ["route"],
)


def budget_rate(budget: str, override: str = "") -> Rate | None:
    """The rate of ``budget``: ``override`` (an agent key's own) if given and valid, else the
    setting; None when the budget is ``off``."""
    if override:
        try:
            return parse_rate(override)
        except ValueError:
            logger.warning("ignoring a malformed per-key rate %r for %s", override, budget)
    return parse_rate(getattr(settings, BUDGET_SETTINGS[budget]))


@dataclass(frozen=True, slots=True)
class Charge:
    """One request counted against one budget: ``identity`` names the counter (no personal data
    in clear beyond an address), ``label`` names the caller in logs."""

    budget: str
    identity: str
    rate: Rate
    label: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome for the budget that binds: the refusing one, else the one with least left."""

    budget: str
    limit: int
    remaining: int
    reset_seconds: int  # until the window of this counter ends
    allowed: bool


class LimiterUnavailable(Exception):
    """The store is unreachable and a budget of this request fails closed."""

    def __init__(self, budgets: Sequence[str]) -> None:
        self.budgets = tuple(budgets)
        super().__init__(f"rate-limit store unreachable; {', '.join(budgets)} fail closed")


class Limiter:
    def __init__(
        self,
        store: MemoryStore | RedisStore,
        *,
        prefix: str,
        fail_closed: frozenset[str],
        retry_seconds: float,
    ) -> None:
        self.store = store
        self.prefix = prefix
        self.fail_closed = fail_closed
        self.retry_seconds = retry_seconds
        self._down_until = 0.0
        self._down = False

    def charge(self, charges: Sequence[Charge]) -> Verdict | None:
        """Count one request against each charge. Returns the binding verdict; None when there
        is nothing to count, or when the store is unreachable and every budget fails open.
        Raises :class:`LimiterUnavailable` when it is unreachable and one fails closed."""
        if not charges:
            return None
        keys = [
            (f"{self.prefix}{item.budget}:{item.identity}", item.rate.seconds * 1000)
            for item in charges
        ]
        counts = self._count(keys)
        if counts is None:
            return self._store_down(charges)
        refused: list[Verdict] = []
        binding: Verdict | None = None
        for item, (count, remaining_ms) in zip(charges, counts, strict=True):
            verdict = Verdict(
                budget=item.budget,
                limit=item.rate.limit,
                remaining=max(0, item.rate.limit - count),
                reset_seconds=max(1, -(-remaining_ms // 1000)),
                allowed=count <= item.rate.limit,
            )
            if not verdict.allowed:
                refused.append(verdict)
                RATE_LIMITED.labels(route=item.budget).inc()
                if count == item.rate.limit + 1:  # the first refusal of this window
                    logger.warning(
                        "rate limit reached: %s budget %s for %s; refusing for %d s",
                        item.budget,
                        item.rate,
                        item.label,
                        verdict.reset_seconds,
                    )
            elif binding is None or verdict.remaining < binding.remaining:
                binding = verdict
        if refused:
            return max(refused, key=lambda verdict: verdict.reset_seconds)
        return binding

    def _count(self, keys: list[tuple[str, int]]) -> list | None:
        now = time.monotonic()
        if self._down and now < self._down_until:
            return None
        try:
            counts = self.store.hit(keys)
        except StoreUnavailable as exc:
            self._down_until = now + self.retry_seconds
            if self._down:
                return None  # still away: logged when it went, counted per request
            self._down = True
            logger.error(
                "rate-limit store unreachable (%s): %s fail open, %s fail closed; next try in "
                "%.1f s",
                exc,
                ", ".join(sorted(set(BUDGET_SETTINGS) - self.fail_closed)) or "no budget",
                ", ".join(sorted(self.fail_closed)) or "no budget",
                self.retry_seconds,
            )
            return None
        if self._down:
            self._down = False
            logger.warning("rate-limit store reachable again; counting resumes")
        return counts

    def _store_down(self, charges: Sequence[Charge]) -> None:
        closed = [item.budget for item in charges if item.budget in self.fail_closed]
        if closed:
            for budget in closed:
                FAIL_CLOSED.labels(route=budget).inc()
            raise LimiterUnavailable(closed)
        for item in charges:
            FAIL_OPEN.labels(route=item.budget).inc()


_limiter: Limiter | None = None
_build_lock = threading.Lock()


def get_limiter() -> Limiter:
    """This process's limiter, built from settings on first use (so after gunicorn's fork)."""
    limiter = _limiter
    if limiter is None:
        with _build_lock:
            limiter = _limiter or _build()
    return limiter


def _build() -> Limiter:
    global _limiter
    url = settings.LEXECON_RATE_LIMIT_REDIS_URL
    store = (
        RedisStore(url, timeout=settings.LEXECON_RATE_LIMIT_STORE_TIMEOUT_SECONDS)
        if url
        else MemoryStore()
    )
    _limiter = Limiter(
        store,
        prefix=settings.LEXECON_RATE_LIMIT_KEY_PREFIX,
        fail_closed=frozenset(settings.LEXECON_RATE_LIMIT_FAIL_CLOSED),
        retry_seconds=settings.LEXECON_RATE_LIMIT_STORE_RETRY_SECONDS,
    )
    return _limiter


def forget_limiter() -> None:
    """Drop this process's limiter (and its in-memory counters); the next request builds a new
    one from the current settings. Tests call it between cases."""
    global _limiter
    with _build_lock:
        if _limiter is not None and isinstance(_limiter.store, RedisStore):
            _limiter.store.close()
        _limiter = None


# What the limiter is built from; the rates themselves are read on every request.
_BUILT_FROM = frozenset(
    {
        "LEXECON_RATE_LIMIT_REDIS_URL",
        "LEXECON_RATE_LIMIT_KEY_PREFIX",
        "LEXECON_RATE_LIMIT_FAIL_CLOSED",
        "LEXECON_RATE_LIMIT_STORE_TIMEOUT_SECONDS",
        "LEXECON_RATE_LIMIT_STORE_RETRY_SECONDS",
    }
)


def _settings_changed(*, setting: str, **kwargs) -> None:
    if setting in _BUILT_FROM:
        forget_limiter()


setting_changed.connect(_settings_changed, dispatch_uid="lexecon-ratelimit-settings")
