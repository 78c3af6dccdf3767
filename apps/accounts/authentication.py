"""DRF authentication: agent bearer keys and OTP-verified staff sessions."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed

from apps.accounts import services
from apps.accounts.models import AgentKey
from apps.accounts.principals import AgentPrincipal

# last_used_at is refreshed at most this often, so a busy agent does not cost a write per request.
LAST_USED_RESOLUTION = timedelta(seconds=60)
AUTHENTICATE_HEADER = 'Bearer realm="lexecon"'


def authenticate_agent_header(header: str) -> tuple[AgentPrincipal, AgentKey] | None:
    """``(principal, key)`` for a valid ``Bearer`` agent key, None without a header.

    Raises ``AuthenticationFailed`` for a header that is present but malformed or names a key that is
    unknown, expired or revoked. Shared by DRF views and the direct ``/decide`` view.
    """
    if not header:
        return None
    parts = header.split()
    if len(parts) != 2 or parts[0].lower() != AgentKeyAuthentication.keyword.lower():
        raise AuthenticationFailed("Use 'Authorization: Bearer <agent key>'.")
    key = services.agent_key_authenticate(raw_key=parts[1])
    if key is None:
        raise AuthenticationFailed("The agent key is not valid, expired or revoked.")
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        services.agent_key_touch(key=key, now=now)
    principal = AgentPrincipal(
        key_id=str(key.pk),
        name=key.name,
        prefix=key.prefix,
        scopes=frozenset(key.scopes),
        decide_rate_limit=key.decide_rate_limit,
        api_rate_limit=key.api_rate_limit,
    )
    return principal, key


class AgentKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer lxk_<prefix>_<secret>``.

    A header that is present but wrong is a 401, never a fall-through to other authenticators.
    """

    keyword = "Bearer"

    def authenticate(self, request):
        return authenticate_agent_header(request.META.get("HTTP_AUTHORIZATION", ""))

    def authenticate_header(self, request) -> str:
        return AUTHENTICATE_HEADER


class StaffSessionAuthentication(SessionAuthentication):
    """Browser session of a staff user (CSRF enforced). OTP verification is checked by permissions."""
