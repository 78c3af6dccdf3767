"""Reads for accounts."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django_otp import devices_for_user
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.models import BackupCodeDevice, User, UserSession


def user_has_confirmed_device(*, user: User) -> bool:
    return any(True for _ in devices_for_user(user, confirmed=True))


def user_pending_totp_device(*, user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()


def user_unused_backup_code_count(*, user: User) -> int:
    device = BackupCodeDevice.objects.filter(user=user).first()
    return device.codes.filter(used_at__isnull=True).count() if device else 0


def user_sessions_list(*, user: User) -> list[UserSession]:
    """The user's verified sessions that still exist in the session store, newest first."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    return [
        session
        for session in UserSession.objects.filter(user=user)
        if store.exists(session.session_key)
    ]
