"""Legal holds through the API: placed, listed, read, released; each write one ledger entry of its
declared shape; who may do what; CSRF for sessions; refusals write nothing."""

from __future__ import annotations

import json
import uuid

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from apps.ledger import services as ledger
from apps.ledger.models import LedgerEntry
from apps.ledger.selectors import ledger_verify
from apps.retention import selectors, services
from apps.retention.models import LegalHold
from tests.retention.conftest import BASE, HOLD_URL, counts, decide

pytestmark = pytest.mark.django_db

REASON = "Litigation: customer complaint 2026-041 requires these records."
REQUESTED_BY = "Legal department, case 2026-041"
ENVELOPE = {"v", "actor", "subject", "request_id", "reason"}


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]


def entry(seq: int) -> tuple[str, dict]:
    row = LedgerEntry.objects.get(seq=seq)
    return row.entry_type, json.loads(row.payload)


def place(client, **body):
    return client.post(
        HOLD_URL, {"reason": REASON, "requested_by": REQUESTED_BY, **body}, format="json"
    )


# --- Placing ---------------------------------------------------------------------------------------


def test_an_officer_places_a_hold_and_the_ledger_records_it(officer):
    response = place(
        officer, scope="ai_system", ai_system="cv-screening", **{"from": "2026-01-01T00:00:00Z"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["scope"] == "ai_system"
    assert (body["ai_system"], body["actor"], body["decision_ids"]) == ("cv-screening", None, [])
    assert (body["from"], body["to"]) == ("2026-01-01T00:00:00Z", None)
    assert body["status"] == "active"
    assert body["placed_by"] == f"user:{officer.user.pk}"
    assert (body["reason"], body["requested_by"]) == (REASON, REQUESTED_BY)

    entry_type, payload = entry(body["placed_ledger_entry_id"])
    assert entry_type == "legal_hold.placed"
    assert set(payload) == ENVELOPE | {
        "hold_id",
        "scope",
        "ai_system",
        "decision_actor",
        "decision_ids",
        "period_from",
        "period_to",
        "reason_commitment",
        "requested_by_commitment",
    }
    assert payload["subject"] == {"type": "legal_hold", "id": body["id"]}
    assert payload["actor"]["id"] == payload["actor"]["label"] == f"user:{officer.user.pk}"
    assert (payload["ai_system"], payload["period_from"], payload["period_to"]) == (
        "cv-screening",
        "2026-01-01T00:00:00Z",
        None,
    )
    # The texts are committed with the hold's salt, never written.
    assert REASON not in json.dumps(payload)
    assert REQUESTED_BY not in json.dumps(payload)
    hold = LegalHold.objects.get(pk=body["id"])
    assert ledger.commitment_matches(REASON, hold.text_salt, payload["reason_commitment"])
    assert ledger.commitment_matches(
        REQUESTED_BY, hold.text_salt, payload["requested_by_commitment"]
    )
    assert ledger_verify()["valid"] is True


@pytest.mark.parametrize(
    ("_case", "scope_body"),
    [
        ("actor", {"scope": "actor", "actor": "ai_agent:customer_service"}),
        (
            "time range",
            {
                "scope": "time_range",
                "from": "2026-01-01T00:00:00Z",
                "to": "2026-02-01T00:00:00+01:00",
            },
        ),
        (
            "ai system bounded",
            {"scope": "ai_system", "ai_system": "x", "to": "2030-01-01T00:00:00Z"},
        ),
    ],
)
def test_each_scope_is_accepted(officer, _case, scope_body):
    response = place(officer, **scope_body)
    assert response.status_code == 201, response.content
    hold = LegalHold.objects.get(pk=response.json()["id"])
    assert hold.scope == scope_body["scope"]


def test_a_decision_ids_hold_names_existing_decisions(officer, agent):
    first, second = decide(agent), decide(agent)
    ids = [first["decision_id"], second["decision_id"].upper(), first["decision_id"]]
    response = place(officer, scope="decision_ids", decision_ids=ids)
    assert response.status_code == 201, response.content
    assert response.json()["decision_ids"] == [first["decision_id"], second["decision_id"]]
    _, payload = entry(response.json()["placed_ledger_entry_id"])
    assert payload["decision_ids"] == [first["decision_id"], second["decision_id"]]


def test_list_and_read(officer, staff_api, agent_client):
    first = place(officer, scope="actor", actor="ai_agent:a").json()
    second = place(officer, scope="actor", actor="ai_agent:b").json()
    services.legal_hold_release(
        user=officer.user, hold_id=first["id"], reason="Case closed, no longer needed."
    )
    auditor = staff_api("auditor")
    reader = agent_client("compliance:read")
    for client in (officer, auditor, reader):
        listed = client.get(f"{BASE}/legal-holds").json()
        assert listed["total"] == 2
        assert [h["id"] for h in listed["legal_holds"]] == [second["id"], first["id"]]
        active = client.get(f"{BASE}/legal-holds?status=active").json()
        assert [h["id"] for h in active["legal_holds"]] == [second["id"]]
        released = client.get(f"{BASE}/legal-holds?status=released").json()
        assert [h["status"] for h in released["legal_holds"]] == ["released"]
        one = client.get(f"{HOLD_URL}/{first['id']}").json()
        assert (one["status"], one["release_reason"]) == (
            "released",
            "Case closed, no longer needed.",
        )
    assert_error(officer.get(f"{HOLD_URL}/{uuid.uuid4()}"), 404, "not_found")
    assert_error(officer.get(f"{BASE}/legal-holds?status=maybe"), 400, "validation_error")


# --- Releasing -------------------------------------------------------------------------------------


def test_release_with_a_reason_is_ledgered_and_the_hold_stays(officer):
    hold = place(officer, scope="actor", actor="ai_agent:x").json()
    response = officer.delete(
        f"{HOLD_URL}/{hold['id']}", {"reason": "The claim was withdrawn in court."}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "released"
    assert body["released_by"] == f"user:{officer.user.pk}"
    entry_type, payload = entry(body["released_ledger_entry_id"])
    assert entry_type == "legal_hold.released"
    assert set(payload) == ENVELOPE | {"hold_id", "scope", "placed_seq", "reason_commitment"}
    assert payload["placed_seq"] == hold["placed_ledger_entry_id"]
    salt = LegalHold.objects.get(pk=hold["id"]).text_salt
    assert ledger.commitment_matches(
        "The claim was withdrawn in court.", salt, payload["reason_commitment"]
    )
    assert LegalHold.objects.filter(pk=hold["id"]).exists()

    before = counts()
    again = officer.delete(
        f"{HOLD_URL}/{hold['id']}", {"reason": "The claim was withdrawn twice."}, format="json"
    )
    assert_error(again, 409, "conflict")
    assert counts() == before
    assert_error(
        officer.delete(
            f"{HOLD_URL}/{uuid.uuid4()}", {"reason": "no such hold anywhere"}, format="json"
        ),
        404,
        "not_found",
    )
    assert counts() == before


@pytest.mark.parametrize(
    ("_case", "body"),
    [
        ("no body", None),
        ("no reason", {}),
        ("short reason", {"reason": "done"}),
        ("not a string", {"reason": 12345678901}),
        ("unknown field", {"reason": "The claim was withdrawn.", "force": True}),
    ],
)
def test_a_bad_release_is_400_and_writes_nothing(officer, _case, body):
    hold = place(officer, scope="actor", actor="ai_agent:x").json()
    before = counts()
    response = officer.delete(f"{HOLD_URL}/{hold['id']}", body, format="json")
    assert_error(response, 400)
    assert counts() == before
    assert LegalHold.objects.get(pk=hold["id"]).released_at is None


# --- Refusals write nothing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "body", "code"),
    [
        ("unknown scope", {"scope": "everything"}, "validation_error"),
        ("ai_system missing", {"scope": "ai_system"}, "invalid_input"),
        (
            "actor with ai_system",
            {"scope": "actor", "actor": "a", "ai_system": "b"},
            "invalid_input",
        ),
        (
            "ids for a time range",
            {
                "scope": "time_range",
                "decision_ids": [str(uuid.uuid4())],
                "from": "2026-01-01T00:00:00Z",
                "to": "2026-02-01T00:00:00Z",
            },
            "invalid_input",
        ),
        (
            "time range without to",
            {"scope": "time_range", "from": "2026-01-01T00:00:00Z"},
            "invalid_input",
        ),
        (
            "period backwards",
            {"scope": "time_range", "from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
            "invalid_input",
        ),
        (
            "naive time",
            {"scope": "time_range", "from": "2026-01-01T00:00:00", "to": "2026-02-01T00:00:00Z"},
            "validation_error",
        ),
        (
            "not a time",
            {"scope": "time_range", "from": "soon", "to": "2026-02-01T00:00:00Z"},
            "validation_error",
        ),
        (
            "period on decision ids",
            {
                "scope": "decision_ids",
                "decision_ids": [str(uuid.uuid4())],
                "from": "2026-01-01T00:00:00Z",
            },
            "invalid_input",
        ),
        (
            "unknown decision",
            {"scope": "decision_ids", "decision_ids": [str(uuid.uuid4())]},
            "invalid_input",
        ),
        ("not a uuid", {"scope": "decision_ids", "decision_ids": ["42"]}, "validation_error"),
        ("empty ids", {"scope": "decision_ids", "decision_ids": []}, "validation_error"),
        (
            "too many ids",
            {"scope": "decision_ids", "decision_ids": [str(uuid.uuid4()) for _ in range(1001)]},
            "validation_error",
        ),
        ("short reason", {"scope": "actor", "actor": "a", "reason": "because"}, "validation_error"),
        (
            "no requested_by",
            {"scope": "actor", "actor": "a", "requested_by": ""},
            "validation_error",
        ),
        ("number for a string", {"scope": "actor", "actor": 7}, "validation_error"),
        ("unknown field", {"scope": "actor", "actor": "a", "until": "forever"}, "validation_error"),
        ("null character", {"scope": "actor", "actor": "a\x00b"}, "invalid_input"),
    ],
)
def test_bad_holds_are_400_and_write_nothing(officer, _case, body, code):
    before = counts()
    error = assert_error(place(officer, **body), 400, code)
    assert error["message"]
    assert counts() == before


def test_a_body_that_is_not_an_object_is_400(officer):
    before = counts()
    assert_error(officer.post(HOLD_URL, [1, 2], format="json"), 400)
    assert_error(officer.post(HOLD_URL, "x", content_type="application/json"), 400)
    assert counts() == before


# --- Who may do what -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["reviewer", "auditor"])
def test_staff_without_manage_policies_cannot_write(staff_api, officer, role):
    hold = place(officer, scope="actor", actor="ai_agent:x").json()
    client = staff_api(role)
    before = counts()
    assert_error(place(client, scope="actor", actor="ai_agent:y"), 403, "permission_denied")
    assert_error(
        client.delete(
            f"{HOLD_URL}/{hold['id']}", {"reason": "Not mine to release."}, format="json"
        ),
        403,
        "permission_denied",
    )
    assert counts() == before
    # An auditor may read; a reviewer no longer reads compliance data (issue 19).
    expected = 200 if role == "auditor" else 403
    assert client.get(f"{BASE}/legal-holds").status_code == expected


def test_administrators_may_write(staff_api):
    assert place(staff_api("admin"), scope="actor", actor="ai_agent:x").status_code == 201


def test_agents_cannot_write_and_need_the_scope_to_read(agent_client, officer):
    hold = place(officer, scope="actor", actor="ai_agent:x").json()
    before = counts()
    for scopes in (("compliance:read",), ("policies:write", "compliance:read"), ("decide",)):
        client = agent_client(*scopes)
        assert_error(place(client, scope="actor", actor="ai_agent:y"), 403, "permission_denied")
        assert_error(
            client.delete(
                f"{HOLD_URL}/{hold['id']}", {"reason": "An agent cannot release."}, format="json"
            ),
            403,
        )
    assert counts() == before
    assert agent_client("decide").get(f"{BASE}/legal-holds").status_code == 403
    assert agent_client("decide").get(f"{BASE}/status").status_code == 403


def test_anonymous_and_unverified_callers_are_refused(make_user, officer):
    hold = place(officer, scope="actor", actor="ai_agent:x").json()
    before = counts()
    anonymous = APIClient()
    assert place(anonymous, scope="actor", actor="y").status_code in (401, 403)
    assert anonymous.get(f"{BASE}/status").status_code in (401, 403)
    # Password but no one-time code: not verified staff.
    unverified = APIClient()
    unverified.force_login(make_user("otto", "compliance_officer"))
    assert place(unverified, scope="actor", actor="y").status_code == 403
    assert (
        unverified.delete(
            f"{HOLD_URL}/{hold['id']}", {"reason": "Without my second factor."}, format="json"
        ).status_code
        == 403
    )
    assert counts() == before


def test_session_writes_need_the_csrf_token(staff_api):
    client = staff_api("compliance_officer", "carla", csrf=True)
    before = counts()
    error = assert_error(place(client, scope="actor", actor="ai_agent:x"), 403)
    assert "CSRF" in error["message"]
    assert counts() == before
    # With the session's token (the cookie a staff page sets) the same request is accepted.
    client.get("/accounts/login/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        HOLD_URL,
        {"scope": "actor", "actor": "ai_agent:x", "reason": REASON, "requested_by": REQUESTED_BY},
        format="json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 201, response.content
    hold = response.json()
    before = counts()
    refused = client.delete(
        f"{HOLD_URL}/{hold['id']}", {"reason": "Release without the token."}, format="json"
    )
    assert_error(refused, 403)
    assert counts() == before
    assert LegalHold.objects.get(pk=hold["id"]).released_at is None


def test_a_hold_is_written_with_its_entry_or_not_at_all(officer, monkeypatch):
    """The entry and the row share one transaction: a failing row leaves no entry."""
    before = counts()

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(LegalHold, "save", fail)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.legal_hold_place(
            user=officer.user,
            scope=services.HoldScope(scope="actor", actor="ai_agent:x"),
            reason=REASON,
            requested_by=REQUESTED_BY,
        )
    assert counts() == before


def test_held_selector_follows_placing_and_releasing(officer, agent):
    answer = decide(agent)
    from apps.decisions.models import Decision

    decision = Decision.objects.get(pk=answer["decision_id"])
    assert selectors.held(decision=decision) is False
    hold = place(officer, scope="actor", actor=decision.actor).json()
    assert selectors.held(decision=decision) is True
    services.legal_hold_release(
        user=officer.user, hold_id=hold["id"], reason="No longer relevant now."
    )
    assert selectors.held(decision=decision) is False
