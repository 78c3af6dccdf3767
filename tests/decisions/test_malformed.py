"""T23: about a thousand malformed /decide bodies → only 4xx in the error shape, nothing written."""

from __future__ import annotations

import json
import random

import pytest

from apps.decisions.models import Decision
from apps.ledger.models import LedgerEntry
from tests.conftest import DEMO

pytestmark = pytest.mark.django_db

VALID = json.dumps(DEMO)
WRONG_VALUES = [None, 1, -1.5, True, [], {}, "", "x" * 5000, ["a"], {"a": 1}, "\x00", 10**30]


def generated_bodies(count: int, seed: int = 23) -> list[tuple[bytes, str]]:
    rng = random.Random(seed)
    bodies: list[tuple[bytes, str]] = []
    fixed = [
        b"",
        b"{",
        b"[",
        b"null",
        b"[]",
        b"42",
        b'"text"',
        b"{}",
        b'{"actor": "a", "actor": "b", "action": "c"}',
        b'{"actor": "a", "action": "b", "context": {"n": NaN}}',
        b'{"actor": "a", "action": "b", "context": {"n": Infinity}}',
        b'{"actor": "a", "action": "b", "context": {"s": "\\ud800"}}',
        b"\xff\xfe{}",
        b'{"actor": "\xc3\x28", "action": "b"}',
        ('{"actor": "a", "action": "b", "context": ' + "[" * 10000 + "]" * 10000 + "}").encode(),
        ('{"actor": "a", "action": "b", "context": ' + '{"k":' * 9 + "1" + "}" * 9 + "}").encode(),
        json.dumps(
            {"actor": "a", "action": "b", "context": {f"k{i}": i for i in range(300)}}
        ).encode(),
        json.dumps({"actor": "a", "action": "b", "data_classes": ["x"] * 51}).encode(),
        json.dumps({"actor": "a", "action": "b", "risk_level": 6}).encode(),
        json.dumps({"actor": "a", "action": "b", "policy_mode": "yolo"}).encode(),
        json.dumps({"actor": "a", "action": "b", "proposed_action": "c"}).encode(),
        json.dumps({"actor": "a", "action": "b", "risk_dimensions": {"luck": 5}}).encode(),
        json.dumps({"actor": "a", "action": "b", "risk_dimensions": {"privacy": 101}}).encode(),
        json.dumps({"actor": "a", "action": "b", "context": {"s": "a\x00b"}}).encode(),
        b'{"actor": "a", "action": "b", "context": {"n": 9007199254740992}}',
        b'{"actor": "a", "action": "b", "context": {"n": -123456789012345678901234567890}}',
        b'{"actor": "a", "action": "b", "context": {"n": 1e400}}',
        b'{"actor": "a", "action": "b", "context": {"n": -1E999}}',
    ]
    bodies += [(body, "application/json") for body in fixed]
    while len(bodies) < count:
        kind = rng.randrange(6)
        if kind == 0:  # truncated valid JSON
            bodies.append((VALID[: rng.randrange(1, len(VALID) - 1)].encode(), "application/json"))
        elif kind == 1:  # random bytes
            bodies.append((rng.randbytes(rng.randrange(1, 200)), "application/json"))
        elif kind == 2:  # a field with a wrong type or size
            body = dict(DEMO)
            field = rng.choice(
                [
                    "actor",
                    "action",
                    "resource",
                    "context",
                    "data_classes",
                    "risk_level",
                    "ai_system",
                    "request_id",
                    "policy_mode",
                ]
            )
            value = rng.choice(WRONG_VALUES)
            if field == "resource" and value is None:
                value = 7
            if field == "context" and isinstance(value, dict):
                value = "not an object"
            body[field] = value
            bodies.append((json.dumps(body).encode(), "application/json"))
        elif kind == 3:  # a required field missing
            body = dict(DEMO)
            body.pop(rng.choice(["actor", "action"]))
            bodies.append((json.dumps(body).encode(), "application/json"))
        elif kind == 4:  # wrong content type
            bodies.append(
                (
                    VALID.encode(),
                    rng.choice(
                        [
                            "text/plain",
                            "application/x-www-form-urlencoded",
                            "application/xml",
                            "multipart/form-data; boundary=x",
                        ]
                    ),
                )
            )
        else:  # a valid body with one byte flipped
            data = bytearray(VALID.encode())
            position = rng.randrange(len(data))
            data[position] = rng.choice(b'{}[]",:\\\x00\xff')
            bodies.append((bytes(data), "application/json"))
    return bodies[:count]


def test_t23_thousand_bad_bodies_get_only_4xx_and_write_nothing(agent, settings):
    entries = LedgerEntry.objects.count()
    statuses: dict[int, int] = {}
    for body, content_type in generated_bodies(1000):
        response = agent.generic("POST", "/decide", body, content_type=content_type)
        if response.status_code == 200:
            # A flipped byte can still leave a valid request (e.g. inside a string value).
            continue
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert 400 <= response.status_code < 500, (body[:200], response.content[:300])
        error = response.json()["error"]
        assert set(error) == {"code", "message", "details"}
        assert b"Traceback" not in response.content
    allowed_writes = Decision.objects.count()
    assert LedgerEntry.objects.count() == entries + allowed_writes
    assert set(statuses) <= {400, 413, 415}
    assert statuses.get(400, 0) > 500
    assert statuses.get(415, 0) > 50


def test_ten_megabyte_body_is_413(agent):
    body = json.dumps({**DEMO, "context": {"blob": "x" * (10 * 1024 * 1024)}})
    response = agent.generic("POST", "/decide", body.encode(), content_type="application/json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert Decision.objects.count() == 0


@pytest.mark.parametrize(
    "number",
    [1e15, 9007199254740991.0, 1.5e-10, -0.0, 5e-324, 0.1 + 0.2, 9007199254740991, -(2**53 - 1)],
)
def test_numbers_inside_i_json_are_decided_and_stay_checkable(agent, number):
    """Numbers within +-(2**53 - 1) are accepted; read back from the database (PostgreSQL's jsonb
    rewrites number spellings) the context still matches its ledger commitment."""
    from apps.ledger import selectors as ledger_selectors
    from apps.ledger import services as ledger_services

    body = {**DEMO, "context": {**DEMO["context"], "n": number}}
    response = agent.post("/decide", body, format="json")
    assert response.status_code == 200, response.content
    decision = Decision.objects.get()
    assert decision.context["n"] == number
    assert ledger_services.commitment_matches(
        decision.context, decision.context_salt, decision.context_commitment
    )
    assert ledger_selectors.ledger_verify()["valid"] is True


@pytest.mark.parametrize(
    "literal",
    ["9007199254740992", "-9007199254740992", "1e16", "-1e300", "9.1e15", "1e400", "-1e999"],
)
def test_numbers_outside_i_json_are_400_and_write_nothing(agent, literal):
    body = b'{"actor": "a", "action": "b", "context": {"n": ' + literal.encode() + b"}}"
    response = agent.generic("POST", "/decide", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"
    assert Decision.objects.count() == 0
    assert not LedgerEntry.objects.filter(entry_type="decision.made").exists()
