"""The original's session token, on compat routes only: ``session_id`` as a cookie or as
``Authorization: Bearer <session_id>``.

The token is the key of one of our Django sessions, issued by ``POST /auth/login`` after the
password *and* the one-time code. It is read exactly as Django's own session middleware would:
the user must still exist and be active, the session's password hash must match (a password
change ends it), and the OTP device recorded in it must be the user's and confirmed — otherwise
the user is authenticated but not verified, and every permission class refuses them.
"""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.utils.crypto import constant_time_compare
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed

from apps.accounts.authentication import AUTHENTICATE_HEADER
from apps.accounts.constants import AGENT_KEY_PREFIX

COOKIE = "session_id"
_AGENT_KEY = f"{AGENT_KEY_PREFIX}_"


def session_store(session_key: str | None = None):
    """A session object of the configured engine (the same sessions the browser gets)."""
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key)


def presented_session_key(request) -> str | None:
    """The session key the caller presents, or None. A Bearer value that looks like an agent key
    is left to the agent key authentication."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        parts = header.split()
        if len(parts) == 2 and parts[0].lower() == "bearer" and not parts[1].startswith(_AGENT_KEY):
            return parts[1]
        return None
    return request.COOKIES.get(COOKIE) or None


def user_of_session(session_key: str):
    """The user a session belongs to, with ``otp_device``/``is_verified`` as django-otp sets them,
    or None when the session is unknown, expired, or no longer valid for its user."""
    store = session_store(session_key)
    if not store.exists(session_key):
        return None
    data = store.load()
    user_id, backend = data.get(SESSION_KEY), data.get(BACKEND_SESSION_KEY)
    if user_id is None or backend not in settings.AUTHENTICATION_BACKENDS:
        return None
    user = get_user_model()._default_manager.filter(pk=user_id, is_active=True).first()
    if user is None or not constant_time_compare(
        data.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash()
    ):
        return None
    device = None
    persistent_id = data.get(DEVICE_ID_SESSION_KEY)
    if persistent_id:
        device = Device.from_persistent_id(persistent_id)
        if device is not None and (device.user_id != user.pk or not device.confirmed):
            device = None
    user.otp_device = device
    user.is_verified = lambda: user.otp_device is not None
    return user


class OriginalSessionAuthentication(BaseAuthentication):
    """``session_id`` (cookie or Bearer). A presented but unknown or expired session is a 401."""

    def authenticate(self, request):
        session_key = presented_session_key(request)
        if session_key is None:
            return None
        user = user_of_session(session_key)
        if user is None:
            raise AuthenticationFailed("Invalid or expired session")
        return user, session_key

    def authenticate_header(self, request) -> str:
        return AUTHENTICATE_HEADER
