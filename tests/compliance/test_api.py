"""The compliance API: who may read and attest, shapes, aliases, errors, and that a refused
attestation writes nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.compliance.models import Attestation, Control
from apps.ledger.models import LedgerEntry
from tests.compliance.conftest import written

JUSTIFICATION = "Access policy v3 reviewed and signed off by the CISO on 2026-12-01."
RULELESS = ("iso27001", "A.5.1")


@pytest.fixture
def reader(agent_client, catalogs):
    return agent_client("compliance:read")


def test_frameworks_lists_all_seven(reader):
    response = reader.get("/compliance/frameworks")
    assert response.status_code == 200
    frameworks = {f["id"]: f for f in response.json()["frameworks"]}
    assert set(frameworks) == {
        "soc2",
        "iso27001",
        "gdpr",
        "hipaa",
        "pci_dss",
        "nist_csf",
        "eu_ai_act",
    }
    assert frameworks["iso27001"]["controls"] == 93
    assert frameworks["soc2"]["licence_class"] == "copyrighted_ids_only"


@pytest.mark.parametrize("name", ["soc2", "SOC2", "Soc2"])
def test_framework_ids_are_case_insensitive(reader, name):
    response = reader.get(f"/compliance/{name}/controls")
    assert response.status_code == 200
    assert response.json()["framework"] == "soc2"


@pytest.mark.parametrize(
    ("name", "expected"),
    [("ISO27001", "iso27001"), ("PCI-DSS", "pci_dss"), ("GDPR", "gdpr"), ("nist-csf", "nist_csf")],
)
def test_the_original_spellings_work(reader, name, expected):
    assert reader.get(f"/compliance/{name}/controls").json()["framework"] == expected


def test_controls_carry_computed_status_and_evidence(reader):
    body = reader.get("/compliance/soc2/controls").json()
    controls = {c["control_id"]: c for c in body["controls"]}
    cc61 = controls["CC6.1"]
    assert set(cc61) >= {
        "control_id",
        "title",
        "category",
        "status",
        "rule",
        "evidence_count",
        "last_evidence_at",
        "mapped_capabilities",
    }
    assert cc61["rule"] == "staff_mfa"
    assert cc61["status"] == "not_implemented"  # no staff user exists yet
    assert "access_control" in cc61["mapped_capabilities"]
    assert body["licence_class"] == "copyrighted_ids_only"


def test_status_filter(reader):
    body = reader.get("/compliance/iso27001/controls?status=not_implemented").json()
    assert body["controls"]
    assert {c["status"] for c in body["controls"]} == {"not_implemented"}
    bad = reader.get("/compliance/iso27001/controls?status=great")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"]


def test_unknown_framework_and_control_are_404_in_the_error_shape(reader):
    response = reader.get("/compliance/cobit/controls")
    assert response.status_code == 404
    assert "soc2" in response.json()["error"]["details"]["frameworks"]
    response = reader.get("/compliance/soc2/controls/CC99.9")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_control_detail(reader):
    response = reader.get("/compliance/hipaa/controls/164.312(d)")
    assert response.status_code == 200
    body = response.json()
    assert body["control_id"] == "164.312(d)"
    assert body["rule"] == "staff_mfa"
    assert body["rule_description"]
    assert body["evidence"]["items"] == []
    assert body["attestations"] == []
    assert isinstance(body["capability_evidence"], list)


def test_control_ids_are_matched_case_insensitively(reader):
    assert reader.get("/compliance/soc2/controls/cc6.1").json()["control_id"] == "CC6.1"


def test_gaps_name_what_would_close_each(reader):
    body = reader.get("/compliance/iso27001/gaps").json()
    assert body["gaps"]
    assert {g["status"] for g in body["gaps"]} <= {"not_implemented", "non_compliant"}
    assert all(g["to_close"] for g in body["gaps"])


def test_statistics(reader):
    body = reader.get("/compliance/statistics").json()
    assert set(body["frameworks"]) == {
        "soc2",
        "iso27001",
        "gdpr",
        "hipaa",
        "pci_dss",
        "nist_csf",
        "eu_ai_act",
    }
    iso = body["frameworks"]["iso27001"]
    assert iso["total"] == 93
    assert (
        iso["implemented"]
        + iso["partially_implemented"]
        + iso["not_implemented"]
        + iso["non_compliant"]
    ) == 93
    assert 0 <= iso["coverage_percent"] <= 100
    assert set(body["evidence"]) >= {"artifacts", "control_links", "attestations"}


def test_mappings_across_frameworks(reader):
    body = reader.get("/compliance/mappings?from=SOC2&to=ISO27001").json()
    assert body["from"] == "soc2"
    assert body["to"] == "iso27001"
    pairs = {(m["from"]["control_id"], m["to"]["control_id"]) for m in body["mappings"]}
    assert ("CC6.1", "A.8.5") in pairs
    assert all(
        m["from"]["framework"] == "soc2" and m["to"]["framework"] == "iso27001"
        for m in body["mappings"]
    )
    assert all(
        m["relationship"] in {"equal", "subset", "superset", "intersect"} for m in body["mappings"]
    )
    assert reader.get("/compliance/mappings?from=cobit").status_code == 404


# --- Who may read ---------------------------------------------------------------------------------


def test_an_agent_without_the_scope_is_refused(agent_client, catalogs):
    response = agent_client("decide").get("/compliance/frameworks")
    assert response.status_code == 403
    assert "compliance:read" in response.json()["error"]["message"]


def test_anonymous_is_refused(client, catalogs):
    assert client.get("/compliance/frameworks").status_code in (401, 403)
    assert client.get("/compliance/frameworks").json()["error"]["code"]


@pytest.mark.parametrize("role", ["auditor", "compliance_officer", "admin"])
def test_staff_with_view_dashboard_read(staff_api, catalogs, role):
    assert staff_api(role).get("/compliance/statistics").status_code == 200


def test_reviewers_do_not_read_compliance(staff_api, catalogs):
    # Issue 19: reviewers no longer hold view_dashboard (compliance reads are not theirs).
    assert staff_api("reviewer").get("/compliance/statistics").status_code == 403


# --- Attestations ---------------------------------------------------------------------------------


def attest(client, framework=RULELESS[0], control=RULELESS[1], **body):
    return client.post(
        f"/compliance/{framework}/controls/{control}/attest",
        json.dumps({"justification": JUSTIFICATION, **body}),
        content_type="application/json",
    )


def test_an_officer_attests_and_the_status_flips(staff_api, catalogs):
    officer = staff_api("compliance_officer")
    before = officer.get(f"/compliance/{RULELESS[0]}/controls/{RULELESS[1]}").json()
    assert before["status"] == "not_implemented"
    expires = (timezone.now() + timedelta(days=90)).isoformat()
    response = attest(officer, expires_at=expires)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["control_status"] == "implemented"
    entry = LedgerEntry.objects.get(seq=body["ledger_entry_id"])
    assert entry.entry_type == "compliance.attested"
    payload = json.loads(entry.payload)
    assert payload["control"] == "iso27001:A.5.1"
    assert payload["actor"]["id"] == f"user:{officer.user.pk}"
    assert JUSTIFICATION not in entry.payload  # only its commitment is on the ledger
    detail = officer.get(f"/compliance/{RULELESS[0]}/controls/{RULELESS[1]}").json()
    assert detail["status"] == "implemented"
    assert detail["attestations"][0]["justification"] == JUSTIFICATION
    assert detail["evidence"]["total"] == 1
    assert detail["evidence"]["items"][0]["via"] == "attestation"


def test_attestation_citing_evidence(staff_api, catalogs, agent_client, tmp_path, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "evidence": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    officer = staff_api("compliance_officer")
    registered = officer.post(
        "/evidence/register",
        {"artifact_type": "attestation", "title": "Access review Q4", "content": "all fine"},
        format="json",
    )
    assert registered.status_code == 201, registered.content
    artifact_id = registered.json()["artifact_id"]
    response = attest(officer, evidence_ids=[artifact_id])
    assert response.status_code == 201
    assert Attestation.objects.get().evidence_ids == [artifact_id]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"justification": "too short"}, 400),
        ({"expires_at": "2001-01-01T00:00:00Z"}, 400),
        ({"expires_at": "2099-01-01T00:00:00Z"}, 400),
        ({"expires_at": "yesterday"}, 400),
        ({"status": "non_compliant"}, 400),
        ({"evidence_ids": ["0190a000-0000-7000-8000-000000000000"]}, 404),
        ({"evidence_ids": "nope"}, 400),
    ],
)
def test_bad_attestations_are_refused_and_write_nothing(staff_api, catalogs, body, status):
    officer = staff_api("compliance_officer")
    before = written()
    response = attest(officer, **body)
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"]
    assert written() == before


def test_a_group_node_cannot_be_attested(staff_api, catalogs):
    officer = staff_api("compliance_officer")
    group = Control.objects.filter(framework_id="iso27001", assessable=False).first()
    before = written()
    response = attest(officer, control=group.control_id)
    assert response.status_code == 400
    assert written() == before


@pytest.mark.parametrize("role", ["auditor", "reviewer"])
def test_auditors_and_reviewers_cannot_attest(staff_api, catalogs, role):
    before = written()
    response = attest(staff_api(role))
    assert response.status_code == 403
    assert "attest_controls" in response.json()["error"]["message"]
    assert written() == before


def test_an_agent_cannot_attest(agent_client, catalogs):
    before = written()
    response = attest(agent_client("compliance:read", "policies:write", "evidence:write"))
    assert response.status_code == 403
    assert written() == before
