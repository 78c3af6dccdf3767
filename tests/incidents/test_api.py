"""The incident API: open, read, list, move through the states; who may do what; CSRF; bad input
is a 4xx in the error shape and writes nothing; every write is one ledger entry of its declared
shape, with who and when."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from apps.incidents.models import Incident
from apps.ledger import events
from apps.ledger import services as ledger
from apps.ledger.selectors import ledger_verify
from tests.conftest import verify_session
from tests.incidents.conftest import (
    DESCRIPTION,
    URL,
    assert_error,
    counts,
    entry,
    stamp,
)

pytestmark = pytest.mark.django_db


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


# --- Opening ---------------------------------------------------------------------------------------


def test_an_officer_opens_an_incident_and_the_ledger_records_it(officer, body):
    response = officer.post(URL, body, format="json")
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["ai_system"] == "cv-screening"
    assert answer["status"] == "open"
    assert answer["category"] == "general"
    assert answer["description"] == DESCRIPTION
    assert answer["created_by"] == f"user:{officer.user.pk}"
    assert answer["allowed_transitions"] == ["initial_report_sent", "closed"]
    # The deadline is in the answer, 15 days after awareness, with the time left now.
    assert parse(answer["deadline"]) == parse(body["aware_at"]) + timedelta(days=15)
    assert answer["time_left"].startswith("14 d 22 h") or answer["time_left"].startswith(
        "14 d 23 h"
    )
    assert [c["clock"] for c in answer["clocks"]] == ["art73"]
    assert answer["next_deadline"]["clock"] == "art73"
    (seq,) = answer["ledger_entry_ids"]

    entry_type, payload = entry(seq)
    assert entry_type == "incident.opened"
    events.validate_payload(entry_type, payload, allow_test=False)
    assert payload["subject"] == {"type": "incident", "id": answer["id"]}
    assert payload["actor"]["id"] == f"user:{officer.user.pk}"
    assert payload["category"] == "general"
    assert payload["gdpr_due_at"] is None
    assert parse(payload["report_due_at"]) == parse(answer["deadline"])
    # The description is committed, never written.
    assert "screening assistant" not in str(payload)
    incident = Incident.objects.get(pk=answer["id"])
    assert ledger.commitment_matches(
        DESCRIPTION, incident.description_salt, payload["description_commitment"]
    )
    assert ledger_verify()["valid"] is True


@pytest.mark.parametrize(
    ("category", "days"),
    [("general", 15), ("death", 10), ("widespread_or_critical_infrastructure", 2)],
)
def test_each_category_has_its_deadline(officer, body, category, days):
    answer = officer.post(URL, {**body, "category": category}, format="json").json()
    assert parse(answer["deadline"]) == parse(body["aware_at"]) + timedelta(days=days)
    assert answer["clocks"][0]["period"] == f"{days} days"


def test_personal_data_starts_the_gdpr_clock_and_only_then(officer, body):
    without = officer.post(URL, body, format="json").json()
    assert [c["clock"] for c in without["clocks"]] == ["art73"]

    answer = officer.post(URL, {**body, "personal_data_involved": True}, format="json").json()
    assert [c["clock"] for c in answer["clocks"]] == ["art73", "gdpr_art33"]
    gdpr = answer["clocks"][1]
    assert parse(gdpr["due_at"]) == parse(body["aware_at"]) + timedelta(hours=72)
    # The GDPR deadline comes first, so it is the next one.
    assert answer["next_deadline"]["clock"] == "gdpr_art33"
    _, payload = entry(answer["ledger_entry_ids"][0])
    assert parse(payload["gdpr_due_at"]) == parse(gdpr["due_at"])


def test_decisions_and_evidence_are_linked(officer, body, agent):
    from django.core.files.base import ContentFile

    from apps.evidence import services as evidence
    from tests.escalations.conftest import decide

    answer = decide(agent, {"actor": "ai_agent:customer_service", "action": "read_ticket"})
    artifact = evidence.evidence_register(
        principal=officer.user,
        artifact_type="screenshot",
        title="ranking screen",
        content=ContentFile(b"png bytes"),
        media_type="image/png",
    )
    response = officer.post(
        URL,
        {**body, "decision_ids": [answer["decision_id"]], "evidence_ids": [str(artifact.pk)]},
        format="json",
    )
    assert response.status_code == 201, response.content
    opened = response.json()
    assert opened["decision_ids"] == [answer["decision_id"]]
    assert opened["evidence_ids"] == [str(artifact.pk)]
    _, payload = entry(opened["ledger_entry_ids"][0])
    assert payload["decision_ids"] == [answer["decision_id"]]
    assert payload["evidence_ids"] == [str(artifact.pk)]


def test_an_incident_recorded_late_is_overdue_at_once(officer, body):
    aware = timezone.now() - timedelta(days=3)
    answer = officer.post(
        URL,
        {**body, "category": "widespread_or_critical_infrastructure", "aware_at": stamp(aware)},
        format="json",
    ).json()
    clock = answer["clocks"][0]
    assert clock["state"] == "overdue"
    assert clock["seconds_left"] < 0
    assert answer["time_left"].startswith("overdue by 1 d")


# --- Refusals write nothing ------------------------------------------------------------------------

FUTURE = stamp(timezone.now() + timedelta(days=2))


@pytest.mark.parametrize(
    ("_case", "change", "code"),
    [
        ("unknown category", {"category": "minor"}, "validation_error"),
        ("aware_at without zone", {"aware_at": "2026-11-30T10:00:00"}, "validation_error"),
        ("aware_at not a time", {"aware_at": "yesterday at noon"}, "validation_error"),
        ("aware_at a number", {"aware_at": 1764500000}, "validation_error"),
        ("aware_at in the future", {"aware_at": FUTURE}, "invalid_input"),
        ("unknown system", {"ai_system": "no-such-system"}, "invalid_input"),
        ("system id malformed", {"ai_system": "CV Screening"}, "validation_error"),
        ("empty description", {"description": "   "}, "validation_error"),
        ("nul in description", {"description": "a\x00b"}, "validation_error"),
        ("description too long", {"description": "x" * 10_001}, "validation_error"),
        ("personal data as string", {"personal_data_involved": "no"}, "validation_error"),
        ("personal data missing", {"personal_data_involved": None}, "validation_error"),
        ("unknown field", {"severity": "high"}, "validation_error"),
        ("decision id malformed", {"decision_ids": ["42"]}, "validation_error"),
        (
            "unknown decision",
            {"decision_ids": ["01890a5d-ac96-774b-bcce-b302099a8057"]},
            "invalid_input",
        ),
        (
            "unknown evidence",
            {"evidence_ids": ["01890a5d-ac96-774b-bcce-b302099a8057"]},
            "invalid_input",
        ),
        (
            "too many decisions",
            {"decision_ids": ["01890a5d-ac96-774b-bcce-b302099a8057"] * 101},
            "validation_error",
        ),
        ("not a member state", {"member_state": "US"}, "validation_error"),
    ],
)
def test_bad_input_is_400_and_writes_nothing(officer, body, _case, change, code):
    before = counts()
    sent = {k: v for k, v in {**body, **change}.items() if v is not None}
    response = officer.post(URL, sent, format="json")
    assert_error(response, 400, code)
    assert counts() == before


def test_a_body_that_is_not_an_object_or_not_json_is_400(officer, system):
    before = counts()
    assert_error(officer.post(URL, [1, 2], format="json"), 400, "validation_error")
    assert_error(
        officer.post(URL, '{"ai_system": "cv-screening",', content_type="application/json"),
        400,
        "malformed_request",
    )
    assert counts() == before


# --- Who may do what -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["reviewer", "auditor"])
def test_staff_without_manage_policies_cannot_write_but_can_read(staff_api, opened, body, role):
    client = staff_api(role)
    before = counts()
    assert_error(client.post(URL, body, format="json"), 403, "permission_denied")
    assert_error(
        client.patch(f"{URL}/{opened['id']}", {"status": "closed"}, format="json"),
        403,
        "permission_denied",
    )
    assert_error(
        client.post(f"{URL}/{opened['id']}/reports", {"kind": "initial"}, format="json"),
        403,
        "permission_denied",
    )
    assert counts() == before
    if (
        role == "reviewer"
    ):  # Issue 19: reviewers no longer hold view_dashboard (compliance reads are not theirs).
        assert_error(client.get(URL), 403, "permission_denied")
        return
    assert client.get(URL).status_code == 200
    assert client.get(f"{URL}/{opened['id']}").json()["id"] == opened["id"]


def test_an_administrator_writes(staff_api, body):
    response = staff_api("admin").post(URL, body, format="json")
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("scopes", [("compliance:read",), ("policies:write",), ("decide",)])
def test_agents_cannot_write(agent_client, opened, body, scopes):
    client = agent_client(*scopes)
    before = counts()
    error = assert_error(client.post(URL, body, format="json"), 403, "permission_denied")
    assert "manage_policies" in error["message"]
    assert_error(
        client.patch(f"{URL}/{opened['id']}", {"status": "closed"}, format="json"),
        403,
        "permission_denied",
    )
    assert counts() == before


def test_agents_read_with_compliance_read_only(agent_client, opened):
    assert agent_client("compliance:read").get(f"{URL}/{opened['id']}").status_code == 200
    assert_error(agent_client("decide").get(URL), 403, "permission_denied")


def write_requests(opened: dict, body: dict) -> list[tuple[str, str, dict]]:
    """Every write endpoint, with a body it would accept from an officer."""
    suggestion = f"{URL}/suggestions/agent_stop:01890a5d-ac96-774b-bcce-b302099a8057"
    return [
        ("post", URL, body),
        ("patch", f"{URL}/{opened['id']}", {"status": "closed", "note": "x" * 30}),
        ("post", f"{URL}/{opened['id']}/reports", {"kind": "initial"}),
        ("post", f"{suggestion}/dismiss", {"reason": "not relevant here"}),
        ("post", f"{suggestion}/accept", {"category": "general", "personal_data_involved": False}),
    ]


def test_anonymous_and_password_only_sessions_are_refused(make_user, opened, body):
    no_otp = APIClient()
    no_otp.force_login(make_user("pat", "compliance_officer"))
    before = counts()
    for method, url, data in write_requests(opened, body):
        anonymous = getattr(APIClient(), method)(url, data, format="json")
        assert anonymous.status_code in (401, 403), url
        assert_error(getattr(no_otp, method)(url, data, format="json"), 403, "permission_denied")
    assert counts() == before
    assert APIClient().get(URL).status_code in (401, 403)


def test_session_writes_need_the_csrf_token(make_user, opened, body):
    user = make_user("cora", "compliance_officer")
    client = verify_session(Client(enforce_csrf_checks=True), user)
    before = counts()
    writes = write_requests(opened, body)
    for method, url, data in writes:
        response = getattr(client, method)(url, data, content_type="application/json")
        error = assert_error(response, 403, "permission_denied")
        assert "CSRF" in error["message"], url
    assert counts() == before
    # With the token the same session writes.
    client.get("/", follow=True)  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = client.post(URL, body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201, response.content


# --- Reading ---------------------------------------------------------------------------------------


def test_list_filters_and_counts(officer, body):
    officer.post(URL, body, format="json")
    officer.post(URL, {**body, "category": "death"}, format="json")
    answer = officer.get(URL).json()
    assert answer["total"] == 2
    assert all("deadline" in i and "time_left" in i for i in answer["incidents"])
    assert officer.get(URL, {"category": "death"}).json()["total"] == 1
    assert officer.get(URL, {"status": "closed"}).json()["total"] == 0
    assert officer.get(URL, {"ai_system": "other"}).json()["total"] == 0
    assert_error(officer.get(URL, {"status": "gone"}), 400, "validation_error")
    assert_error(officer.get(URL, {"limit": 0}), 400, "validation_error")


def test_an_unknown_incident_is_404(officer, system):
    response = officer.get(f"{URL}/01890a5d-ac96-774b-bcce-b302099a8057")
    assert_error(response, 404, "not_found")
    before = counts()
    response = officer.patch(
        f"{URL}/01890a5d-ac96-774b-bcce-b302099a8057", {"status": "closed"}, format="json"
    )
    assert_error(response, 404, "not_found")
    assert counts() == before


# --- The state machine -----------------------------------------------------------------------------


def test_the_whole_life_of_an_incident_is_ledgered(officer, opened):
    url = f"{URL}/{opened['id']}"
    # No report yet: recording that it was sent is refused.
    before = counts()
    error = assert_error(
        officer.patch(url, {"status": "initial_report_sent"}, format="json"), 409, "report_missing"
    )
    assert error["details"] == {"kind": "initial"}
    assert counts() == before

    initial = officer.post(f"{url}/reports", {"kind": "initial"}, format="json")
    assert initial.status_code == 201, initial.content
    moved = officer.patch(url, {"status": "initial_report_sent"}, format="json")
    assert moved.status_code == 200, moved.content
    answer = moved.json()
    assert answer["status"] == "initial_report_sent"
    assert answer["clocks"][0]["state"] == "met"
    assert answer["next_deadline"] is None
    (step,) = answer["history"]
    assert (step["before"], step["after"], step["actor"]) == (
        "open",
        "initial_report_sent",
        f"user:{officer.user.pk}",
    )
    assert step["report_id"] == initial.json()["id"]
    entry_type, payload = entry(step["ledger_entry_id"])
    assert entry_type == "incident.transitioned"
    events.validate_payload(entry_type, payload, allow_test=False)
    assert payload["report_sha256"] == initial.json()["pdf"]["sha256"]
    assert payload["deadline_met"] is True

    # The complete report is generated only now, and needed before it is recorded as sent.
    assert_error(
        officer.patch(url, {"status": "complete_report_sent"}, format="json"), 409, "report_missing"
    )
    assert officer.post(f"{url}/reports", {"kind": "complete"}, format="json").status_code == 201
    note = "Sent to the authority by registered e-mail."
    done = officer.patch(url, {"status": "complete_report_sent", "note": note}, format="json")
    assert done.status_code == 200, done.content
    closed = officer.patch(url, {"status": "closed"}, format="json").json()
    assert closed["status"] == "closed"
    assert closed["allowed_transitions"] == []
    assert [h["after"] for h in closed["history"]] == [
        "initial_report_sent",
        "complete_report_sent",
        "closed",
    ]
    # The note is kept beside the row and committed on the ledger.
    _, payload = entry(closed["history"][1]["ledger_entry_id"])
    assert note not in str(payload)
    assert payload["note_commitment"]
    # Nothing moves a closed incident.
    before = counts()
    assert_error(officer.patch(url, {"status": "open"}, format="json"), 409, "invalid_transition")
    assert counts() == before
    assert ledger_verify()["valid"] is True


@pytest.mark.parametrize(
    ("_case", "patch", "status", "code"),
    [
        ("empty", {}, 400, "invalid_input"),
        ("unknown state", {"status": "archived"}, 400, "validation_error"),
        ("skipping a state", {"status": "complete_report_sent"}, 409, "invalid_transition"),
        ("back to open", {"status": "open"}, 409, "invalid_transition"),
        ("closing unreported without why", {"status": "closed"}, 400, "invalid_input"),
        ("closing with a short why", {"status": "closed", "note": "no"}, 400, "invalid_input"),
        ("a note alone", {"note": "just a note"}, 400, "invalid_input"),
        ("gdpr without personal data", {"gdpr_notified": True}, 400, "invalid_input"),
        ("gdpr false", {"gdpr_notified": False}, 400, "validation_error"),
        ("unknown field", {"status": "closed", "by": "me"}, 400, "validation_error"),
    ],
)
def test_a_refused_patch_writes_nothing(officer, opened, _case, patch, status, code):
    before = counts()
    assert_error(officer.patch(f"{URL}/{opened['id']}", patch, format="json"), status, code)
    assert counts() == before
    assert Incident.objects.get(pk=opened["id"]).status == "open"


def test_an_incident_that_is_not_reportable_is_closed_with_why(officer, opened):
    why = "On review the ranking never reached a recruiter; no harm occurred."
    answer = officer.patch(
        f"{URL}/{opened['id']}", {"status": "closed", "note": why}, format="json"
    ).json()
    assert answer["status"] == "closed"
    assert answer["clocks"][0]["state"] == "closed_unreported"
    assert answer["history"][0]["note"] == why


def test_the_gdpr_notification_is_recorded_once(officer, body):
    opened = officer.post(URL, {**body, "personal_data_involved": True}, format="json").json()
    url = f"{URL}/{opened['id']}"
    answer = officer.patch(url, {"gdpr_notified": True}, format="json").json()
    gdpr = answer["clocks"][1]
    assert gdpr["state"] == "met"
    assert answer["gdpr_notified_at"] is not None
    assert answer["next_deadline"]["clock"] == "art73"
    seq = max(answer["ledger_entry_ids"])
    entry_type, payload = entry(seq)
    assert entry_type == "incident.gdpr_notified"
    assert payload["deadline_met"] is True
    before = counts()
    assert_error(officer.patch(url, {"gdpr_notified": True}, format="json"), 409, "conflict")
    assert counts() == before


def test_gdpr_and_a_state_change_are_both_or_neither(officer, body):
    opened = officer.post(URL, {**body, "personal_data_involved": True}, format="json").json()
    before = counts()
    # The GDPR part would succeed, the transition is refused: neither is written.
    response = officer.patch(
        f"{URL}/{opened['id']}",
        {"gdpr_notified": True, "status": "initial_report_sent"},
        format="json",
    )
    assert_error(response, 409, "report_missing")
    assert counts() == before
    assert Incident.objects.get(pk=opened["id"]).gdpr_notified_at is None
