"""The AI system registry API: register, read, list, change; who may do what; refusals write
nothing; every change is one ledger entry of the declared shape."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.aisystems.models import AISystem, AISystemChange
from apps.ledger import services as ledger
from apps.ledger.selectors import ledger_verify
from tests.aisystems.conftest import (
    CV_SCREENING,
    REASONING,
    SUPPORT_BOT,
    URL,
    counts,
    entry_payload,
)

pytestmark = pytest.mark.django_db

CLASSIFICATION = {
    "ai_system_id",
    "name",
    "version",
    "role",
    "annex_iii_point",
    "art_6_3_exempt",
    "art_6_3_condition",
    "risk_class",
    "status",
    "owner",
    "intended_purpose_commitment",
    "art_6_3_reasoning_commitment",
}
ENVELOPE = {"v", "actor", "subject", "request_id", "reason"}


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    return body["error"]


# --- Registration ----------------------------------------------------------------------------------


def test_an_officer_registers_a_system_and_the_ledger_records_it(officer):
    officer_id = officer.user.pk
    response = officer.post(URL, {**CV_SCREENING, "owner": f"user:{officer_id}"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"] == "cv-screening"
    assert body["annex_iii_point"] == "4(a)"
    assert body["art_6_3_exempt"] is False
    assert body["art_6_3_condition"] is None
    assert body["art_6_3_reasoning"] == ""
    assert body["risk_class"] == "high"
    assert body["owner"] == f"user:{officer_id}"
    assert body["status"] == "active"
    assert body["created_by"] == f"user:{officer_id}"
    (seq,) = body["ledger_entry_ids"]

    entry_type, payload = entry_payload(seq)
    assert entry_type == "ai_system.registered"
    assert set(payload) == ENVELOPE | CLASSIFICATION
    assert payload["subject"] == {"type": "ai_system", "id": "cv-screening"}
    assert payload["actor"]["id"] == f"user:{officer_id}"
    assert payload["actor"]["label"] == f"user:{officer_id}"  # no user name on the ledger
    assert payload["owner"] == f"user:{officer_id}"
    assert (payload["annex_iii_point"], payload["risk_class"], payload["status"]) == (
        "4(a)",
        "high",
        "active",
    )
    assert payload["art_6_3_condition"] is None
    assert payload["art_6_3_reasoning_commitment"] is None
    # The purpose is committed, never written, and opens with the system's salt.
    assert CV_SCREENING["intended_purpose"] not in str(payload)
    system = AISystem.objects.get(pk="cv-screening")
    assert ledger.commitment_matches(
        CV_SCREENING["intended_purpose"], system.text_salt, payload["intended_purpose_commitment"]
    )
    change = AISystemChange.objects.get(system=system)
    assert (change.ledger_seq, change.entry_type) == (seq, "ai_system.registered")
    assert ledger_verify()["valid"] is True


def test_an_agent_with_policies_write_registers(agent_client):
    writer = agent_client("policies:write")
    response = writer.post(URL, SUPPORT_BOT, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    prefix = writer.agent_key.prefix
    assert body["created_by"] == f"agent:{prefix}"
    assert body["status"] == "development"  # the default
    assert body["owner"] is None
    _, payload = entry_payload(body["ledger_entry_ids"][0])
    assert payload["actor"]["kind"] == "agent"
    assert payload["actor"]["id"] == f"agent:{prefix}"
    assert payload["annex_iii_point"] is None


def test_an_exempt_annex_iii_system_states_its_condition_and_reasoning(officer):
    body = {
        **CV_SCREENING,
        "art_6_3_exempt": True,
        "art_6_3_condition": "a",
        "art_6_3_reasoning": REASONING,
        "risk_class": "minimal",
    }
    response = officer.post(URL, body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["art_6_3_condition"] == "a"
    _, payload = entry_payload(response.json()["ledger_entry_ids"][0])
    assert (payload["art_6_3_exempt"], payload["art_6_3_condition"]) == (True, "a")
    assert REASONING not in str(payload)
    salt = AISystem.objects.get(pk="cv-screening").text_salt
    assert ledger.commitment_matches(REASONING, salt, payload["art_6_3_reasoning_commitment"])


def test_an_annex_iii_system_may_be_prohibited_outright(officer):
    body = {**CV_SCREENING, "id": "mood-at-work", "annex_iii_point": "1(c)"}
    body["risk_class"] = "prohibited"  # emotion recognition at work is an Art. 5 practice
    assert officer.post(URL, body, format="json").status_code == 201


def test_a_taken_id_is_409_and_writes_nothing(officer, registered):
    before = counts()
    response = officer.post(URL, {**CV_SCREENING, "name": "another"}, format="json")
    error = assert_error(response, 409, "conflict")
    assert error["details"] == {"id": "cv-screening"}
    assert counts() == before
    assert AISystem.objects.get(pk="cv-screening").name == CV_SCREENING["name"]


# --- Refusals write nothing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "changes", "code", "field"),
    [
        ("annex III but minimal", {"risk_class": "minimal"}, "invalid_input", "risk_class"),
        ("annex III but limited", {"risk_class": "limited"}, "invalid_input", "risk_class"),
        (
            "exempt without condition",
            {"art_6_3_exempt": True, "art_6_3_reasoning": REASONING},
            "invalid_input",
            "art_6_3_condition",
        ),
        (
            "exempt with a short reasoning",
            {"art_6_3_exempt": True, "art_6_3_condition": "b", "art_6_3_reasoning": "it is fine"},
            "invalid_input",
            "art_6_3_reasoning",
        ),
        (
            "exempt with blank padding only",
            {"art_6_3_exempt": True, "art_6_3_condition": "b", "art_6_3_reasoning": " " * 30},
            "invalid_input",
            "art_6_3_reasoning",
        ),
        (
            "exempt without an Annex III point",
            {
                "annex_iii_point": None,
                "art_6_3_exempt": True,
                "art_6_3_condition": "a",
                "art_6_3_reasoning": REASONING,
            },
            "invalid_input",
            "annex_iii_point",
        ),
        (
            "condition without exemption",
            {"art_6_3_condition": "a"},
            "invalid_input",
            "art_6_3_condition",
        ),
        ("id with capitals", {"id": "CV-Screening"}, "validation_error", "id"),
        ("id starting with a dot", {"id": ".hidden"}, "validation_error", "id"),
        ("id too long", {"id": "a" * 101}, "validation_error", "id"),
        ("unknown Annex III point", {"annex_iii_point": "9(a)"}, "validation_error", None),
        ("unknown role", {"role": "importer"}, "validation_error", "role"),
        ("unknown risk class", {"risk_class": "unacceptable"}, "validation_error", "risk_class"),
        ("a string for a boolean", {"art_6_3_exempt": "yes"}, "validation_error", None),
        ("an unknown field", {"colour": "blue"}, "validation_error", "colour"),
        ("an empty name", {"name": "  "}, "validation_error", "name"),
        ("no purpose", {"intended_purpose": None}, "validation_error", "intended_purpose"),
        ("owner not a user ref", {"owner": "alice"}, "validation_error", "owner"),
        ("owner nobody", {"owner": "user:999999"}, "invalid_input", "owner"),
    ],
)
def test_bad_registrations_are_400_and_write_nothing(officer, _case, changes, code, field):
    body = {**CV_SCREENING, **changes}
    before = counts()
    error = assert_error(officer.post(URL, body, format="json"), 400, code)
    if field is not None:
        assert field in error["details"], error
    assert counts() == before


def test_a_classification_refusal_explains_itself(officer):
    response = officer.post(URL, {**CV_SCREENING, "risk_class": "minimal"}, format="json")
    message = assert_error(response, 400, "invalid_input")["details"]["risk_class"][0]
    assert "Annex III" in message
    assert "Art. 6(3)" in message


def test_a_body_that_is_not_an_object_is_400(officer):
    assert_error(officer.post(URL, [CV_SCREENING], format="json"), 400, "validation_error")
    assert counts()[0] == 0


# --- Who may do what ---------------------------------------------------------------------------------


def test_an_auditor_reads_but_cannot_write(staff_api, registered):
    auditor = staff_api("auditor")
    assert auditor.get(URL).status_code == 200
    assert auditor.get(f"{URL}/cv-screening").status_code == 200
    before = counts()
    assert_error(auditor.post(URL, SUPPORT_BOT, format="json"), 403, "permission_denied")
    response = auditor.patch(f"{URL}/cv-screening", {"status": "retired"}, format="json")
    assert_error(response, 403, "permission_denied")
    assert counts() == before
    assert AISystem.objects.get(pk="cv-screening").status == "active"


def test_a_reviewer_cannot_write(staff_api, registered):
    reviewer = staff_api("reviewer")
    before = counts()
    assert_error(reviewer.post(URL, SUPPORT_BOT, format="json"), 403, "permission_denied")
    response = reviewer.patch(f"{URL}/cv-screening", {"status": "retired"}, format="json")
    assert_error(response, 403, "permission_denied")
    assert counts() == before


def test_agents_need_the_scope(agent_client, registered):
    decider = agent_client("decide")
    before = counts()
    assert_error(decider.get(URL), 403, "permission_denied")
    assert_error(decider.get(f"{URL}/cv-screening"), 403, "permission_denied")
    assert_error(decider.post(URL, SUPPORT_BOT, format="json"), 403, "permission_denied")
    reader = agent_client("compliance:read")
    assert reader.get(URL).json()["total"] == 1
    assert reader.get(f"{URL}/cv-screening").json()["id"] == "cv-screening"
    assert_error(reader.post(URL, SUPPORT_BOT, format="json"), 403, "permission_denied")
    response = reader.patch(f"{URL}/cv-screening", {"status": "retired"}, format="json")
    assert_error(response, 403, "permission_denied")
    assert counts() == before


def test_anonymous_callers_are_refused(registered):
    anonymous = APIClient()
    assert anonymous.get(URL).status_code == 401
    before = counts()
    assert anonymous.post(URL, SUPPORT_BOT, format="json").status_code == 401
    assert counts() == before


def test_an_agent_with_policies_write_changes_a_system(agent_client, registered):
    writer = agent_client("policies:write")
    response = writer.patch(f"{URL}/cv-screening", {"status": "suspended"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "suspended"


# --- Reading -----------------------------------------------------------------------------------------


def test_list_filters_by_status_and_risk_class(officer, registered):
    assert officer.post(URL, SUPPORT_BOT, format="json").status_code == 201
    everything = officer.get(URL).json()
    assert [s["id"] for s in everything["ai_systems"]] == ["cv-screening", "support-bot"]
    assert everything["total"] == 2
    assert [s["id"] for s in officer.get(URL, {"risk_class": "high"}).json()["ai_systems"]] == [
        "cv-screening"
    ]
    assert [s["id"] for s in officer.get(URL, {"status": "development"}).json()["ai_systems"]] == [
        "support-bot"
    ]
    assert officer.get(URL, {"status": "active", "risk_class": "limited"}).json()["total"] == 0
    paged = officer.get(URL, {"offset": 1, "limit": 1}).json()
    assert ([s["id"] for s in paged["ai_systems"]], paged["total"]) == (["support-bot"], 2)
    assert_error(officer.get(URL, {"status": "dormant"}), 400, "validation_error")


def test_an_unknown_system_is_404(officer):
    assert_error(officer.get(f"{URL}/nothing-here"), 404, "not_found")
    before = counts()
    response = officer.patch(f"{URL}/nothing-here", {"status": "active"}, format="json")
    assert_error(response, 404, "not_found")
    assert counts() == before


def test_the_id_cannot_be_changed(officer, registered):
    response = officer.patch(f"{URL}/cv-screening", {"id": "renamed"}, format="json")
    error = assert_error(response, 400, "validation_error")
    assert error["details"] == {"id": ["The id is chosen at registration and never changes."]}
    assert AISystem.objects.filter(pk="renamed").exists() is False


# --- Changes -----------------------------------------------------------------------------------------


def test_a_change_is_one_updated_entry_with_what_changed(officer, registered):
    first = registered["ledger_entry_ids"][0]
    before = counts()
    response = officer.patch(
        f"{URL}/cv-screening", {"status": "suspended", "version": "2.2.0"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["version"]) == ("suspended", "2.2.0")
    assert counts() == (before[0], before[1] + 1, before[2] + 1)
    assert body["ledger_entry_ids"][0] == first
    second = body["ledger_entry_ids"][1]
    assert second > first
    entry_type, payload = entry_payload(second)
    assert entry_type == "ai_system.updated"
    assert set(payload) == ENVELOPE | CLASSIFICATION | {"changed"}
    assert payload["changed"] == ["version", "status"]
    assert (payload["version"], payload["status"], payload["risk_class"]) == (
        "2.2.0",
        "suspended",
        "high",
    )
    assert body["updated_at"] >= registered["updated_at"]
    assert ledger_verify()["valid"] is True


@pytest.mark.parametrize(
    ("_case", "patch"),
    [
        ("empty body", {}),
        ("same values", {"status": "active", "name": CV_SCREENING["name"]}),
        ("same point and no owner", {"annex_iii_point": "4(a)", "owner": None}),
        (
            "same text, spaces trimmed",
            {"intended_purpose": f"  {CV_SCREENING['intended_purpose']} "},
        ),
    ],
)
def test_a_patch_that_changes_nothing_writes_nothing(officer, registered, _case, patch):
    before = counts()
    updated_at = AISystem.objects.get(pk="cv-screening").updated_at
    response = officer.patch(f"{URL}/cv-screening", patch, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["ledger_entry_ids"] == registered["ledger_entry_ids"]
    assert counts() == before
    assert AISystem.objects.get(pk="cv-screening").updated_at == updated_at


@pytest.mark.parametrize(
    ("_case", "patch", "code"),
    [
        ("the id", {"id": "renamed"}, "validation_error"),
        ("an unknown field", {"colour": "blue"}, "validation_error"),
        ("who registered it", {"created_by": "user:1"}, "validation_error"),
        ("null for a required field", {"name": None}, "validation_error"),
        ("a lower class for an Annex III system", {"risk_class": "minimal"}, "invalid_input"),
        (
            "exempt without reasoning",
            {"art_6_3_exempt": True, "art_6_3_condition": "c"},
            "invalid_input",
        ),
        ("an owner who is nobody", {"owner": "user:999999"}, "invalid_input"),
    ],
)
def test_a_refused_patch_writes_nothing(officer, registered, _case, patch, code):
    before = counts()
    assert_error(officer.patch(f"{URL}/cv-screening", patch, format="json"), 400, code)
    assert counts() == before
    system = AISystem.objects.get(pk="cv-screening")
    assert (system.risk_class, system.art_6_3_exempt, system.name) == (
        "high",
        False,
        CV_SCREENING["name"],
    )


def test_a_classification_is_checked_as_a_whole(officer):
    assert officer.post(URL, SUPPORT_BOT, format="json").status_code == 201
    # Naming an Annex III point alone would leave a high-risk use classed as limited: refused.
    response = officer.patch(f"{URL}/support-bot", {"annex_iii_point": "5(b)"}, format="json")
    assert_error(response, 400, "invalid_input")
    # With the class in the same change it is accepted, as one entry naming both fields.
    response = officer.patch(
        f"{URL}/support-bot", {"annex_iii_point": "5(b)", "risk_class": "high"}, format="json"
    )
    assert response.status_code == 200, response.content
    _, payload = entry_payload(response.json()["ledger_entry_ids"][-1])
    assert payload["changed"] == ["annex_iii_point", "risk_class"]
    # Then an exemption, with its condition and reasoning, lowers it again.
    exempt = {
        "art_6_3_exempt": True,
        "art_6_3_condition": "d",
        "art_6_3_reasoning": REASONING,
        "risk_class": "limited",
    }
    response = officer.patch(f"{URL}/support-bot", exempt, format="json")
    assert response.status_code == 200, response.content
    _, payload = entry_payload(response.json()["ledger_entry_ids"][-1])
    assert payload["changed"] == [
        "art_6_3_exempt",
        "art_6_3_condition",
        "art_6_3_reasoning",
        "risk_class",
    ]
    # Clearing the point keeps the exemption: refused, the exemption needs its Annex III point.
    response = officer.patch(f"{URL}/support-bot", {"annex_iii_point": None}, format="json")
    assert_error(response, 400, "invalid_input")


def test_each_version_of_a_text_opens_its_own_commitment(officer, registered):
    new_purpose = "Ranks applications and drafts a short note for the recruiter on each."
    response = officer.patch(
        f"{URL}/cv-screening", {"intended_purpose": new_purpose}, format="json"
    )
    assert response.status_code == 200, response.content
    first, second = response.json()["ledger_entry_ids"]
    _, old = entry_payload(first)
    _, new = entry_payload(second)
    assert new["changed"] == ["intended_purpose"]
    assert new_purpose not in str(new)
    salt = AISystem.objects.get(pk="cv-screening").text_salt
    assert ledger.commitment_matches(new_purpose, salt, new["intended_purpose_commitment"])
    assert ledger.commitment_matches(
        CV_SCREENING["intended_purpose"], salt, old["intended_purpose_commitment"]
    )
    assert not ledger.commitment_matches(new_purpose, salt, old["intended_purpose_commitment"])


def test_owner_is_set_and_cleared(officer, staff_api, registered):
    other = staff_api("compliance_officer", "otto").user
    response = officer.patch(f"{URL}/cv-screening", {"owner": f"user:{other.pk}"}, format="json")
    assert response.json()["owner"] == f"user:{other.pk}"
    _, payload = entry_payload(response.json()["ledger_entry_ids"][-1])
    assert (payload["changed"], payload["owner"]) == (["owner"], f"user:{other.pk}")
    response = officer.patch(f"{URL}/cv-screening", {"owner": None}, format="json")
    assert response.json()["owner"] is None
    _, payload = entry_payload(response.json()["ledger_entry_ids"][-1])
    assert (payload["changed"], payload["owner"]) == (["owner"], None)
