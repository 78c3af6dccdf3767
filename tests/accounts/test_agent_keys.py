"""Agent API keys: hashed at rest, shown once, scoped, expirable, revocable, last_used_at."""

from __future__ import annotations

import io
import time
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts import services
from apps.accounts.models import AgentKey
from apps.core.exceptions import InvalidInput


def bearer(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


@pytest.mark.django_db
def test_raw_key_is_not_stored_and_authenticates():
    issued = services.agent_key_create(name="bot", scopes=["decide"])
    row = AgentKey.objects.get(pk=issued.key.pk)
    secret = issued.raw_key.split("_", 2)[2]
    assert secret not in row.secret_hash
    assert issued.raw_key.startswith(f"lxk_{row.prefix}_")
    response = bearer(issued.raw_key).get("/auth/whoami")
    assert response.status_code == 200
    assert response.json() == {"kind": "agent", "name": "bot", "scopes": ["decide"], "roles": []}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("header_case", "header"),
    [
        ("missing", None),
        ("garbage", "Bearer nonsense"),
        ("wrong-secret", "WRONG"),
        ("unknown-prefix", "Bearer lxk_ffffffff_abcdefabcdefabcdefabcdef"),
        ("wrong-scheme", "Token abc"),
        ("too-many-parts", "Bearer a b"),
    ],
)
def test_missing_or_wrong_key_gets_401_in_error_shape(header_case, header):
    issued = services.agent_key_create(name="bot", scopes=["decide"])
    client = APIClient()
    if header == "WRONG":
        header = "Bearer " + issued.raw_key[:-3] + "xyz"
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/status")
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] in {"not_authenticated", "authentication_failed"}
    assert response["WWW-Authenticate"] == 'Bearer realm="lexecon"'


@pytest.mark.django_db
def test_revoked_key_is_refused_at_once():
    issued = services.agent_key_create(name="bot", scopes=["decide"])
    client = bearer(issued.raw_key)
    assert client.get("/status").status_code == 200
    services.agent_key_revoke(key=issued.key, reason="compromised")
    response = client.get("/status")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


@pytest.mark.django_db
def test_expired_key_is_refused():
    issued = services.agent_key_create(
        name="bot", scopes=["decide"], expires_at=timezone.now() + timedelta(seconds=30)
    )
    client = bearer(issued.raw_key)
    assert client.get("/status").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        response = client.get("/status")
    assert response.status_code == 401


@pytest.mark.django_db
def test_revocation_by_another_worker_is_noticed_within_the_cache_ttl(settings):
    settings.LEXECON_AGENT_KEY_CACHE_SECONDS = 0.2
    issued = services.agent_key_create(name="bot", scopes=["decide"])
    client = bearer(issued.raw_key)
    assert client.get("/status").status_code == 200
    # Another worker revokes: this process's memory is not told.
    AgentKey.objects.filter(pk=issued.key.pk).update(revoked_at=timezone.now())
    deadline = time.monotonic() + 2
    while client.get("/status").status_code == 200:
        assert time.monotonic() < deadline, "revocation not noticed within the TTL"
        time.sleep(0.05)
    assert client.get("/status").status_code == 401


@pytest.mark.django_db
def test_last_used_at_is_recorded():
    issued = services.agent_key_create(name="bot", scopes=["decide"])
    assert issued.key.last_used_at is None
    bearer(issued.raw_key).get("/auth/whoami")
    issued.key.refresh_from_db()
    assert issued.key.last_used_at is not None
    assert timezone.now() - issued.key.last_used_at < timedelta(seconds=5)


@pytest.mark.django_db
def test_unknown_scope_is_rejected_and_nothing_is_written():
    with pytest.raises(InvalidInput):
        services.agent_key_create(name="bot", scopes=["decide", "root"])
    assert AgentKey.objects.count() == 0


@pytest.mark.django_db
def test_scopes_are_enforced_by_scope_or_permission():
    from rest_framework.test import APIRequestFactory

    from apps.accounts.authentication import AgentKeyAuthentication
    from apps.core.api.permissions import ScopeOrPermission

    issued = services.agent_key_create(name="bot", scopes=["ledger:read"])
    factory = APIRequestFactory()
    request = factory.get("/", HTTP_AUTHORIZATION=f"Bearer {issued.raw_key}")
    from rest_framework.request import Request

    drf_request = Request(request, authenticators=[AgentKeyAuthentication()])
    assert ScopeOrPermission.of("ledger:read")().has_permission(drf_request, None) is True
    assert ScopeOrPermission.of("decide")().has_permission(drf_request, None) is False
    assert (
        ScopeOrPermission.of(None, "accounts.view_audit_logs")().has_permission(drf_request, None)
        is False
    )


@pytest.mark.django_db
def test_create_agent_key_command_prints_working_key_last():
    out = io.StringIO()
    call_command("create_agent_key", "cli-bot", "--scopes", "decide,policies:read", stdout=out)
    raw_key = out.getvalue().strip().splitlines()[-1]
    assert raw_key.startswith("lxk_")
    key = AgentKey.objects.get(name="cli-bot")
    assert key.scopes == ["decide", "policies:read"]
    response = bearer(raw_key).get("/auth/whoami")
    assert response.json()["scopes"] == ["decide", "policies:read"]


@pytest.mark.django_db
def test_create_agent_key_default_scopes():
    out = io.StringIO()
    call_command("create_agent_key", "default-bot", stdout=out)
    assert AgentKey.objects.get(name="default-bot").scopes == ["decide", "ledger:read"]


@pytest.mark.django_db
def test_create_agent_key_rejects_unknown_scope():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Unknown scopes"):
        call_command("create_agent_key", "bad", "--scopes", "decide,everything")
    assert not AgentKey.objects.exists()
