"""Password-step lockout (django-axes, RELIABILITY T27): per user name + address, with two ceilings.

django-axes records each failed password as a row per (user name, address, user agent) and applies
one failure limit to every combination it is told to watch. We need different limits for
different combinations, so this handler decides from three sums over the rows of the cool-off
period (``AXES_COOLOFF_TIME``):

- the pair (this user name from this address) locks at ``AXES_FAILURE_LIMIT`` (5): someone's
  typing errors lock only themselves, at that address, never colleagues behind the same NAT;
- the address, over all user names, locks at ``LEXECON_LOGIN_IP_FAILURE_LIMIT`` (50): password
  spraying from one place stops for every name it tries;
- the user name, from all addresses, locks at ``LEXECON_LOGIN_USER_FAILURE_LIMIT`` (20): a guess
  spread over many addresses stops for that account. (Someone who knows a user name can lock that
  one account out this way; the one-time code still guards it, an administrator can release the
  lock in the admin, and it ends with the cool-off.)

A successful password forgives only its own pair's failures, so signing in to an account of one's
own does not wipe what an address or a user name has collected. Everything here is one query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from apps.core.logging import security_logger


@dataclass(frozen=True)
class Failures:
    """Failed passwords within the cool-off period."""

    pair: int  # this user name from this address
    address: int  # from this address, any user name
    user_name: int  # for this user name, from any address

    def lock_reason(self, pair_limit: int) -> str | None:
        """Why these failures lock the password step, or None."""
        if self.pair >= pair_limit:
            return "user name + address"
        if self.address >= settings.LEXECON_LOGIN_IP_FAILURE_LIMIT:
            return "address (all user names)"
        if self.user_name >= settings.LEXECON_LOGIN_USER_FAILURE_LIMIT:
            return "user name (all addresses)"
        return None


def cool_off_start(now: datetime) -> datetime:
    """Failures before this no longer count."""
    return now - timedelta(hours=settings.AXES_COOLOFF_TIME)


def failures_since(*, username: str | None, ip_address: str | None, since: datetime) -> Failures:
    """The three sums for a user name and address, counting rows of failures after ``since``."""
    recent = AccessAttempt.objects.filter(attempt_time__gte=since).filter(
        Q(username=username) | Q(ip_address=ip_address)
    )

    def total(**match) -> Coalesce:
        return Coalesce(Sum("failures_since_start", filter=Q(**match)), 0)

    sums = recent.aggregate(
        pair=total(username=username, ip_address=ip_address),
        address=total(ip_address=ip_address),
        user_name=total(username=username),
    )
    return Failures(pair=sums["pair"], address=sums["address"], user_name=sums["user_name"])


def attempts_with_totals(*, since: datetime) -> QuerySet[AccessAttempt]:
    """Failure rows, each annotated with the sums it belongs to (``pair_failures``,
    ``address_failures``, ``user_name_failures``) over rows after ``since``: the admin's list."""

    def total(field: str) -> Coalesce:
        rows = (
            AccessAttempt.objects.filter(attempt_time__gte=since, **{field: OuterRef(field)})
            .order_by()
            .values(field)
            .annotate(total=Sum("failures_since_start"))
            .values("total")
        )
        return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))

    pair = (
        AccessAttempt.objects.filter(
            attempt_time__gte=since,
            username=OuterRef("username"),
            ip_address=OuterRef("ip_address"),
        )
        .order_by()
        .values("username", "ip_address")
        .annotate(total=Sum("failures_since_start"))
        .values("total")
    )
    return AccessAttempt.objects.annotate(
        pair_failures=Coalesce(Subquery(pair, output_field=IntegerField()), Value(0)),
        address_failures=total("ip_address"),
        user_name_failures=total("username"),
    )


class LoginLockoutHandler(AxesDatabaseHandler):
    """``AXES_HANDLER``: axes' database handler with the pair limit and the two ceilings."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        failures = failures_since(
            username=get_client_username(request, credentials),
            ip_address=request.axes_ip_address,
            since=get_cool_off_threshold(request),
        )
        limit = get_failure_limit(request, credentials)
        # axes locks when this reaches the (pair) failure limit; a ceiling reached counts as that.
        return max(failures.pair, limit) if failures.lock_reason(limit) else failures.pair

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        """Log the failure (who, from where, when; never the password) before axes records it."""
        security_logger.warning(
            "password sign-in failed",
            extra={
                "event": "auth.login_failed",
                "username": get_client_username(request, credentials),
                "client": getattr(request, "axes_ip_address", None),
                "path": getattr(request, "path", None),
            },
        )
        return super().user_login_failed(sender, credentials, request, **kwargs)

    def reset_user_attempts(self, request, credentials: dict | None = None) -> int:
        count, _ = AccessAttempt.objects.filter(
            username=get_client_username(request, credentials),
            ip_address=request.axes_ip_address,
        ).delete()
        return count
