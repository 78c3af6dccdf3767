"""``POST /decide`` through the whole middleware stack: every way a request can be refused gets
its status and error code in the error shape and writes nothing; replays are byte-identical; the
body's JSON types are part of the contract (``{"actor": 12}`` is a 400 naming ``actor``)."""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client, override_settings

from apps.decisions.models import Decision
from apps.ledger.models import LedgerEntry
from tests.conftest import DEMO
from tests.factories import AgentKeyFactory

pytestmark = pytest.mark.django_db


def _post(raw_key: str | None, body: bytes, content_type="application/json", headers=None):
    extra = {
        f"HTTP_{name.upper().replace('-', '_')}": value for name, value in (headers or {}).items()
    }
    if raw_key is not None:
        extra["HTTP_AUTHORIZATION"] = raw_key
    extra.setdefault("HTTP_X_REQUEST_ID", "req-test-1")
    return Client().generic("POST", "/decide", body, content_type=content_type, **extra)


def _nothing_written() -> None:
    assert Decision.objects.count() == 0
    assert not LedgerEntry.objects.filter(entry_type="decision.made").exists()


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
def test_refused_requests_answer_in_the_error_shape_and_write_nothing(
    keys, name, key, body, content_type, headers, status, code
):
    response = _post(keys.get(key, key), body, content_type, headers)
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    error = json.loads(response.content)["error"]
    assert set(error) == {"code", "message", "details"}
    if code is not None:
        assert error["code"] == code
    if status == 401:
        assert response["WWW-Authenticate"] == 'Bearer realm="lexecon"'
    _nothing_written()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("actor", 12),
        ("actor", 1.5),
        ("actor", True),
        ("action", 7),
        ("resource", 5),
        ("ai_system", 0),
        ("request_id", 42),
        ("tool", 3),
        ("user_intent", 9),
        ("data_classes", ["pii", 3]),
        ("risk_level", "3"),
        ("risk_level", True),
        ("risk_dimensions", {"privacy": "50"}),
        ("context", []),
    ],
    ids=lambda value: repr(value),
)
def test_a_value_of_the_wrong_json_type_is_400_naming_the_field(keys, field, value):
    """JSON types are part of the contract: ``{"actor": 12}`` was once decided as ``"12"``."""
    body = json.dumps({**DEMO, field: value}).encode()
    response = _post(keys["decide"], body)
    assert response.status_code == 400, response.content
    error = json.loads(response.content)["error"]
    assert error["code"] == "validation_error"
    assert list(error["details"]) == [field]
    _nothing_written()


@pytest.mark.parametrize(
    ("extra", "details"),
    [
        ({"actor": "  "}, {"actor": ["This field may not be blank."]}),
        ({"actor": "x" * 201}, {"actor": ["Ensure this field has no more than 200 characters."]}),
        ({"actor": "a\x00b"}, {"actor": ["Null characters are not allowed."]}),
        ({"resource": ""}, {"resource": ["This field may not be blank."]}),
        ({"risk_level": 6}, {"risk_level": ["Ensure this value is less than or equal to 5."]}),
        ({"risk_dimensions": {"luck": 5}}, {"risk_dimensions": ["unknown dimensions ['luck']"]}),
        (
            {"proposed_action": "other"},
            {"action": ["action and proposed_action differ; send one of them"]},
        ),
        (
            {"context": {"s": "a\x00b"}},
            {"context": ["context strings are at most 4096 characters, without NUL"]},
        ),
        ({"tool": None}, {"tool": ["Not a valid string."]}),
    ],
)
def test_validation_messages(keys, extra, details):
    response = _post(keys["decide"], json.dumps({**DEMO, **extra}).encode())
    assert response.status_code == 400
    assert json.loads(response.content)["error"]["details"] == details
    _nothing_written()


@pytest.mark.parametrize(
    "extra",
    [
        {"actor": "  padded  "},
        {"risk_level": 3.0},
        {"resource": None},
        {"action": None, "proposed_action": "access_customer_data"},
        {"unknown_field": 1},
    ],
    ids=repr,
)
def test_accepted_variants(keys, extra):
    body = {**DEMO, **extra}
    if body.get("action") is None:
        body.pop("action")
    response = _post(keys["decide"], json.dumps(body).encode())
    assert response.status_code == 200, response.content
    decision = Decision.objects.get()
    assert decision.actor == body["actor"].strip()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_oversized_body_is_413(keys):
    body = json.dumps({**DEMO, "context": {"note": "x" * 2000}}).encode()
    response = _post(keys["decide"], body)
    assert response.status_code == 413
    _nothing_written()


def test_a_replay_answers_the_same_bytes_and_writes_nothing(keys):
    headers = {"Idempotency-Key": "replay-1"}
    first = _post(keys["decide"], GOOD, headers=headers)
    assert first.status_code == 200
    body = json.loads(first.content)
    assert body["outcome"] == "allowed"
    assert body["capability_token"].startswith("cap_")
    assert body["request_id"] == "req-test-1"
    # Time-ordered ids (RFC 9562 v7) for the two unique indexes every allowed decision feeds.
    assert uuid.UUID(body["decision_id"]).version == 7
    assert uuid.UUID(hex=Decision.objects.get().token_jti).version == 7
    replay = _post(keys["decide"], GOOD, headers=headers)
    assert replay.status_code == 200
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.content == first.content
    assert Decision.objects.count() == 1
    assert LedgerEntry.objects.filter(entry_type="decision.made").count() == 1


def test_a_conflicting_replay_is_409(keys):
    headers = {"Idempotency-Key": "replay-2"}
    assert _post(keys["decide"], GOOD, headers=headers).status_code == 200
    other = json.dumps({**DEMO, "action": "delete_customer_data"}).encode()
    response = _post(keys["decide"], other, headers=headers)
    assert response.status_code == 409
    assert Decision.objects.count() == 1


def test_requests_without_credentials_and_other_methods(client, keys):
    response = client.post("/decide", GOOD, content_type="application/json")
    assert response.status_code == 401
    assert json.loads(response.content)["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == 'Bearer realm="lexecon"'
    response = client.get("/decide", HTTP_AUTHORIZATION=keys["decide"])
    assert response.status_code == 405
    assert json.loads(response.content)["error"]["code"] == "method_not_allowed"
    assert Decision.objects.count() == 0


def test_agent_answers_carry_every_response_header(client, keys):
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
    """Without an Authorization header /decide is a staff session call: a verified officer's
    call without a CSRF token is refused and writes nothing."""
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


def test_the_openapi_request_schema_is_the_validator_s_declaration(client):
    """One declaration: the published request schema is generated from the model that validates."""
    from apps.decisions.api.serializers import DecideInput

    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    component = schema["components"]["schemas"]["DecideInputRequest"]
    declared = DecideInput.model_json_schema(mode="validation")
    assert set(component["properties"]) == set(declared["properties"])
    assert component["required"] == declared["required"] == ["actor"]
    assert component["properties"]["actor"] == {"type": "string", "minLength": 1, "maxLength": 200}
    assert component["properties"]["risk_level"]["maximum"] == 5
