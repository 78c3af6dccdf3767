"""Reads for accounts."""

from __future__ import annotations

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
