"""The direct ``/decide`` view for agents answers exactly what the DRF view answers.

``apps.decisions.api.views.decide`` skips DRF for calls that carry an ``Authorization`` header. Each
case below is sent once through it and once through ``DecideApi`` (the documented DRF view) with an
identical request; status, body bytes and the error headers must be equal. Successful decisions are
compared through idempotent replays across the two paths, which must be byte-identical.
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import RequestFactory, override_settings

from apps.decisions.api import views
from apps.decisions.models import Decision
from apps.ledger.models import LedgerEntry
from tests.conftest import DEMO
from tests.factories import AgentKeyFactory

pytestmark = pytest.mark.django_db

factory = RequestFactory()


def _request(raw_key: str | None, body: bytes, content_type: str, headers: dict[str, str]):
    extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
    if raw_key is not None:
        extra["HTTP_AUTHORIZATION"] = raw_key
    request = factory.generic("POST", "/decide", body, content_type=content_type, **extra)
    request.request_id = "req-test-1"  # set by RequestIdMiddleware in a real request
    return request


def _both(raw_key, body, content_type="application/json", headers=None):
    headers = headers or {}
    direct = views.decide(_request(raw_key, body, content_type, headers))
    drf = views.DecideApi.as_view()(_request(raw_key, body, content_type, headers))
    drf.render()
    return direct, drf


def _same(direct, drf) -> None:
    assert direct.status_code == drf.status_code
    assert direct.content == drf.content
    assert direct["Content-Type"] == drf["Content-Type"] == "application/json"
    for header in ("WWW-Authenticate", "Retry-After", "Idempotent-Replayed"):
        assert direct.get(header) == drf.get(header)


@pytest.fixture
def keys(demo_policy):
    decide_key = AgentKeyFactory(scopes=("decide",))
    reader = AgentKeyFactory(scopes=("ledger:read",))
    revoked = AgentKeyFactory(scopes=("decide",))
    revoked.revoked_at = revoked.created_at
    revoked.save()
    return {
        "decide": f"Bearer {decide_key.raw_key}",
        "reader": f"Bearer {reader.raw_key}",
        "revoked": f"Bearer {revoked.raw_key}",
    }


GOOD = json.dumps(DEMO).encode()

ERROR_CASES = [
    # (name, key, body, content type, headers, expected status, expected error code)
    ("wrong scope", "reader", GOOD, "application/json", {}, 403, "permission_denied"),
    ("unknown key", "Bearer lxk_nope_nope", GOOD, "application/json", {}, 401, None),
    ("not bearer", "Token abc", GOOD, "application/json", {}, 401, None),
    ("three words", "Bearer a b", GOOD, "application/json", {}, 401, None),
    ("revoked key", "revoked", GOOD, "application/json", {}, 401, "authentication_failed"),
    (
        "bad idempotency key",
        "decide",
        GOOD,
        "application/json",
        {"Idempotency-Key": "a b"},
        400,
        "invalid_input",
    ),
    ("text body", "decide", b"actor=x", "text/plain", {}, 415, "unsupported_media_type"),
    (
        "form body",
        "decide",
        b"actor=x",
        "application/x-www-form-urlencoded",
        {},
        415,
        "unsupported_media_type",
    ),
    ("broken json", "decide", b'{"actor": ', "application/json", {}, 400, "malformed_request"),
    (
        "duplicate keys",
        "decide",
        b'{"actor":"a","actor":"b","action":"c"}',
        "application/json",
        {},
        400,
        "malformed_request",
    ),
    (
        "NaN",
        "decide",
        b'{"actor":"a","action":"b","risk_level":NaN}',
        "application/json",
        {},
        400,
        "malformed_request",
    ),
    ("not utf-8", "decide", b'{"actor":"\xff"}', "application/json", {}, 400, "malformed_request"),
    ("array", "decide", b"[]", "application/json", {}, 400, "validation_error"),
    ("empty body", "decide", b"", "application/json", {}, 400, "validation_error"),
    ("missing action", "decide", b'{"actor":"a"}', "application/json", {}, 400, "validation_error"),
    (
        "too deep context",
        "decide",
        json.dumps(
            {
                "actor": "a",
                "action": "b",
                "context": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}},
            }
        ).encode(),
        "application/json",
        {},
        400,
        "validation_error",
    ),
    (
        "json with charset",
        "decide",
        b'{"actor":"a"}',
        "application/json; charset=utf-8",
        {},
        400,
        "validation_error",
    ),
]


@pytest.mark.parametrize(
    ("name", "key", "body", "content_type", "headers", "status", "code"),
    ERROR_CASES,
    ids=[case[0] for case in ERROR_CASES],
)
def test_errors_are_identical_and_write_nothing(
    keys, name, key, body, content_type, headers, status, code
):
    direct, drf = _both(keys.get(key, key), body, content_type, headers)
    _same(direct, drf)
    assert direct.status_code == status
    error = json.loads(direct.content)["error"]
    assert set(error) == {"code", "message", "details"}
    if code is not None:
        assert error["code"] == code
    if status == 401:
        assert direct["WWW-Authenticate"] == 'Bearer realm="lexecon"'
    assert Decision.objects.count() == 0
    assert not LedgerEntry.objects.filter(entry_type="decision.made").exists()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_oversized_body_is_413_on_both_paths(keys):
    body = json.dumps({**DEMO, "context": {"note": "x" * 2000}}).encode()
    direct, drf = _both(keys["decide"], body)
    _same(direct, drf)
    assert direct.status_code == 413
    assert Decision.objects.count() == 0


def test_success_replays_identically_across_paths(keys):
    headers = {"Idempotency-Key": "cross-path-1"}
    first = views.decide(_request(keys["decide"], GOOD, "application/json", headers))
    assert first.status_code == 200
    body = json.loads(first.content)
    assert body["outcome"] == "allowed"
    assert body["capability_token"].startswith("cap_")
    assert body["request_id"] == "req-test-1"
    # Time-ordered ids (RFC 9562 v7) for the two unique indexes every allowed decision feeds.
    assert uuid.UUID(body["decision_id"]).version == 7
    assert uuid.UUID(hex=Decision.objects.get().token_jti).version == 7
    replay = views.DecideApi.as_view()(_request(keys["decide"], GOOD, "application/json", headers))
    replay.render()
    assert replay.status_code == 200
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.content == first.content
    direct_replay = views.decide(_request(keys["decide"], GOOD, "application/json", headers))
    assert direct_replay["Idempotent-Replayed"] == "true"
    assert direct_replay.content == first.content
    assert Decision.objects.count() == 1
    assert LedgerEntry.objects.filter(entry_type="decision.made").count() == 1


def test_conflicting_replay_is_409_on_both_paths(keys):
    headers = {"Idempotency-Key": "cross-path-2"}
    assert (
        views.decide(_request(keys["decide"], GOOD, "application/json", headers)).status_code == 200
    )
    other = json.dumps({**DEMO, "action": "delete_customer_data"}).encode()
    direct, drf = _both(keys["decide"], other, headers=headers)
    _same(direct, drf)
    assert direct.status_code == 409
    assert Decision.objects.count() == 1


def test_requests_without_credentials_and_other_methods_use_drf(client, keys):
    response = client.post("/decide", GOOD, content_type="application/json")
    assert response.status_code == 401
    assert json.loads(response.content)["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == 'Bearer realm="lexecon"'
    response = client.get("/decide", HTTP_AUTHORIZATION=keys["decide"])
    assert response.status_code == 405
    assert json.loads(response.content)["error"]["code"] == "method_not_allowed"
    assert Decision.objects.count() == 0


def test_agent_calls_through_the_middleware_keep_every_response_header(client, keys):
    """Agent calls leave the middleware chain early (AgentFastPathMiddleware) but still get the
    request id, the security headers and the no-store cache policy."""
    response = client.post(
        "/decide",
        GOOD,
        content_type="application/json",
        HTTP_AUTHORIZATION=keys["decide"],
        HTTP_X_REQUEST_ID="agent-req-7",
    )
    assert response.status_code == 200
    assert response["X-Request-ID"] == "agent-req-7"
    assert json.loads(response.content)["request_id"] == "agent-req-7"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cache-Control"] == "no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Length"] == str(len(response.content))  # not sent chunked
    assert "Set-Cookie" not in response
    error = client.post(
        "/decide", b"{", content_type="application/json", HTTP_AUTHORIZATION=keys["decide"]
    )
    assert error.status_code == 400
    assert error["X-Frame-Options"] == "DENY"
    assert error["Cache-Control"] == "no-store"
    assert error["Content-Length"] == str(len(error.content))


def test_staff_session_calls_still_pass_csrf_and_otp(verified_client, demo_policy):
    """Without an Authorization header /decide is the full stack: a verified officer's session
    call without a CSRF token is refused and writes nothing."""
    from django.test import Client

    officer = verified_client("compliance_officer")
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.cookies = officer.cookies
    response = csrf_client.post("/decide", GOOD, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in json.loads(response.content)["error"]["message"]
    assert Decision.objects.count() == 0


def test_staff_session_on_the_agent_only_route_is_told_what_is_needed(verified_client, demo_policy):
    """The mirror of the staff-only case (issue 15 §4): say who may call /decide."""
    officer = verified_client("compliance_officer")
    entries = LedgerEntry.objects.count()
    response = officer.post("/decide", GOOD, content_type="application/json")
    assert response.status_code == 403
    assert json.loads(response.content)["error"]["message"] == (
        "This route is for agent keys with the scope 'decide'; staff sessions cannot use it."
    )
    assert Decision.objects.count() == 0
    assert LedgerEntry.objects.count() == entries
