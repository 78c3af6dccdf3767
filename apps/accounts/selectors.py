"""Reads for accounts."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.password_validation import get_password_validators
from django_otp import devices_for_user
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.models import BackupCodeDevice, User


def user_has_confirmed_device(*, user: User) -> bool:
    return any(True for _ in devices_for_user(user, confirmed=True))


def user_pending_totp_device(*, user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()


def user_unused_backup_code_count(*, user: User) -> int:
    device = BackupCodeDevice.objects.filter(user=user).first()
    return device.codes.filter(used_at__isnull=True).count() if device else 0


def user_list() -> list[User]:
    """Every staff user, by user name (for ``manage_users`` holders)."""
    return list(User.objects.prefetch_related("groups").order_by("username"))


def password_policy() -> dict:
    """The password rules in force, read from the configured validators (nothing hard-coded):
    the minimum length and which checks apply. There is no expiry, history or character-class
    rule (NIST SP 800-63B advises against them), so those read as off."""
    validators = get_password_validators(settings.AUTH_PASSWORD_VALIDATORS)
    min_length = max((getattr(v, "min_length", 0) for v in validators), default=0)
    return {
        "min_length": min_length,
        "max_age_days": None,
        "history_count": 0,
        "require_upper": False,
        "require_lower": False,
        "require_digits": False,
        "require_special": False,
        "special_chars": "",
        "validators": [type(v).__name__ for v in validators],
    }


def usernames_by_label(*, labels: Iterable[str]) -> dict[str, str]:
    """``{"user:<id>": username}`` for the ledger labels that name people (staff pages show the
    name; the ledger keeps only the pseudonym). Other labels (agents, system) are left out."""
    ids = {int(label[5:]) for label in labels if label.startswith("user:") and label[5:].isdigit()}
    if not ids:
        return {}
    return {
        f"user:{pk}": name
        for pk, name in User.objects.filter(pk__in=ids).values_list("pk", "username")
    }
