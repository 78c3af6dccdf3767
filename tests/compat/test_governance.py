"""``/api/governance/*``: the original's request shapes → its response fields, status codes and
``{"detail": ...}`` errors; writes go through our services (the same ledger entries as the native
routes); who is refused is refused before anything is written."""

from __future__ import annotations

import pytest
from django.urls import resolve
from rest_framework.test import APIClient

from apps.compat.governance import views
from apps.escalations.models import Escalation
from apps.ledger.models import LedgerEntry
from tests.compat.conftest import DEMO, REFUND, written

G = "/api/governance"
NOTE = "Checked the invoice and the customer history; fine."
JUSTIFICATION = "Production incident INC-4711; the CFO approved by phone."


def new_types(before: int) -> list[str]:
    return list(
        LedgerEntry.objects.filter(seq__gt=before)
        .order_by("seq")
        .values_list("entry_type", flat=True)
    )


def last_seq() -> int:
    return LedgerEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


# --- Risk ---------------------------------------------------------------------------------------


def test_risk_assess_returns_the_original_shape_and_refuses_a_second(agent, decided):
    decision_id = decided(DEMO)["decision_id"]
    body = {"decision_id": decision_id, "dimensions": {"security": 90, "privacy": 40}}
    response = agent.post(f"{G}/risk/assess", body, format="json")
    assert response.status_code == 200, response.content
    risk = response.json()
    assert risk["decision_id"] == decision_id
    assert set(risk["dimensions"]) == {
        "security",
        "privacy",
        "compliance",
        "operational",
        "reputational",
        "financial",
    }
    assert risk["dimensions"]["security"] == 90
    # weighted mean of the two dimensions given: (0.25*90 + 0.2*40) / 0.45
    assert risk["overall_score"] == pytest.approx(67.78)
    assert risk["risk_level"] == "high"
    assert {f["name"] for f in risk["factors"]} == {"security_risk", "privacy_risk"}

    assert agent.get(f"{G}/risk/{risk['risk_id']}").json() == risk
    assert agent.get(f"{G}/risk/decision/{decision_id}").json() == risk

    before = written()
    again = agent.post(f"{G}/risk/assess", body, format="json")
    assert again.status_code == 400
    assert again.json() == {"detail": f"Decision {decision_id} already has risk assessment"}
    assert written() == before


def test_risk_of_a_decision_without_assessment_is_the_engines(agent, decided):
    answer = decided(DEMO)
    risk = agent.get(f"{G}/risk/decision/{answer['decision_id']}").json()
    assert risk["risk_id"] == answer["decision_id"]
    assert risk["overall_score"] == answer["risk"]["score"]


def test_risk_validation_is_a_422_detail_list_and_unknown_ids_404(agent, decided):
    decision_id = decided(DEMO)["decision_id"]
    before = written()
    bad = agent.post(
        f"{G}/risk/assess",
        {"decision_id": decision_id, "dimensions": {"security": 101}},
        format="json",
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "dimensions", "security"]
    missing = agent.post(f"{G}/risk/assess", {"dimensions": {}}, format="json")
    assert missing.status_code == 422
    assert ["body", "decision_id"] in [d["loc"] for d in missing.json()["detail"]]
    assert written() == before
    for url in (f"{G}/risk/rsk_dec_abc", f"{G}/risk/decision/dec_01ABC"):
        response = agent.get(url)
        assert response.status_code == 404
        assert isinstance(response.json()["detail"], str)


def test_an_agent_sees_only_its_own_decisions_risk(agent, decided, agent_client):
    decision_id = decided(DEMO)["decision_id"]
    other = agent_client("decide")
    before = written()
    response = other.post(
        f"{G}/risk/assess",
        {"decision_id": decision_id, "dimensions": {"security": 10}},
        format="json",
    )
    assert response.status_code == 404
    assert written() == before


# --- Escalation ---------------------------------------------------------------------------------


def test_agent_escalates_its_decision_like_the_native_route(agent, decided):
    decision_id = decided(DEMO)["decision_id"]
    seq = last_seq()
    response = agent.post(
        f"{G}/escalation",
        {
            "decision_id": decision_id,
            "trigger": "manual_request",
            "escalated_to": ["rita"],
            "priority": "high",
            "context_summary": "Customer asked for a human to check the data access.",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["decision_id"] == decision_id
    assert body["status"] == "pending"
    assert body["priority"] == "high"
    assert body["trigger"] == "manual_request"
    assert body["context_summary"].startswith("Customer asked")
    assert body["sla_deadline"]
    assert body["created_at"]
    # An agent cannot assign reviewers (our rule); the names are not claimed as assigned.
    assert body["escalated_to"] == []
    assert "escalation.created" in new_types(seq)
    assert Escalation.objects.filter(pk=body["escalation_id"]).exists()


def test_escalation_body_errors_are_422_and_write_nothing(agent, decided):
    decision_id = decided(DEMO)["decision_id"]
    before = written()
    response = agent.post(
        f"{G}/escalation",
        {"decision_id": decision_id, "trigger": "manual_request", "escalated_to": []},
        format="json",
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "escalated_to"]
    bad_priority = agent.post(
        f"{G}/escalation",
        {"decision_id": decision_id, "trigger": "x", "escalated_to": ["a"], "priority": "bogus"},
        format="json",
    )
    assert bad_priority.status_code == 422
    assert written() == before


def test_officer_resolves_a_pending_escalation_in_one_call(agent, staff_api, decided):
    answer = decided(REFUND)
    assert answer["outcome"] == "escalated"
    escalation_id = answer["escalation_id"]
    officer = staff_api("compliance_officer", "olivia")

    detail = officer.get(f"{G}/escalation/{escalation_id}")
    assert detail.status_code == 200
    assert detail.json()["status"] == "pending"
    assert detail.json()["resolution"] is None

    seq = last_seq()
    response = officer.post(
        f"{G}/escalation/{escalation_id}/resolve",
        {"resolved_by": "olivia", "outcome": "approved", "notes": NOTE},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "resolved"
    assert body["outcome"] == "approved"
    assert body["resolved_at"]
    assert new_types(seq)[:2] == ["escalation.acknowledged", "escalation.resolved"]

    after = officer.get(f"{G}/escalation/{escalation_id}").json()
    assert after["resolution"] == {"outcome": "approved", "resolved_by": "olivia", "notes": NOTE}

    before = written()
    again = officer.post(
        f"{G}/escalation/{escalation_id}/resolve",
        {"resolved_by": "olivia", "outcome": "denied", "notes": NOTE},
        format="json",
    )
    assert again.status_code == 400
    assert isinstance(again.json()["detail"], str)
    assert written() == before


def test_deferred_is_refused_and_writes_nothing(agent, staff_api, decided):
    escalation_id = decided(REFUND)["escalation_id"]
    officer = staff_api("compliance_officer")
    before = written()
    response = officer.post(
        f"{G}/escalation/{escalation_id}/resolve",
        {"resolved_by": "x", "outcome": "deferred", "notes": NOTE},
        format="json",
    )
    assert response.status_code == 400
    assert "deferred" in response.json()["detail"]
    assert written() == before


def test_escalations_by_decision_and_sla_violations(agent, staff_api, decided):
    answer = decided(REFUND)
    officer = staff_api("compliance_officer")
    by_decision = officer.get(f"{G}/escalation/decision/{answer['decision_id']}").json()
    assert by_decision["count"] == 1
    assert by_decision["escalations"][0]["escalation_id"] == answer["escalation_id"]
    assert by_decision["escalations"][0]["status"] == "pending"
    violations = officer.get(f"{G}/escalation/sla/violations").json()
    assert violations == {"count": 0, "violations": []}
    Escalation.objects.filter(pk=answer["escalation_id"]).update(sla_deadline="2000-01-01T00:00Z")
    violations = officer.get(f"{G}/escalation/sla/violations").json()
    assert violations["count"] == 1
    assert violations["violations"][0]["escalation_id"] == answer["escalation_id"]


# --- Override -----------------------------------------------------------------------------------


def test_officer_overrides_by_role_even_with_a_colon_in_the_name(agent, staff_api, decided):
    answer = decided(REFUND)
    officer = staff_api("compliance_officer", "olivia")
    seq = last_seq()
    response = officer.post(
        f"{G}/override",
        {
            "decision_id": answer["decision_id"],
            "override_type": "executive_override",
            "authorized_by": "act_human_user:someone_else",
            "justification": JUSTIFICATION,
            "new_outcome": "approved",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    override = response.json()
    assert override["authorized_by"] == "olivia"  # who is signed in, not the name sent
    assert override["new_outcome"] == "allowed"
    assert override["is_active"] is True
    assert "override.executed" in new_types(seq)

    assert officer.get(f"{G}/override/{override['override_id']}").json() == override
    listed = officer.get(f"{G}/override/decision/{answer['decision_id']}").json()
    assert listed["count"] == 1
    active = officer.get(f"{G}/override/decision/{answer['decision_id']}/active").json()
    assert active["is_overridden"] is True
    assert active["override"]["override_id"] == override["override_id"]
    status = officer.get(f"{G}/override/decision/{answer['decision_id']}/status").json()
    assert status["override_status"]["is_overridden"] is True
    assert status["override_status"]["effective_outcome"] == "allowed"


def test_a_role_without_execute_override_cannot_override(agent, staff_api, decided):
    answer = decided(REFUND)
    reviewer = staff_api("reviewer")
    before = written()
    response = reviewer.post(
        f"{G}/override",
        {
            "decision_id": answer["decision_id"],
            "override_type": "executive_override",
            "authorized_by": "act_human_user:executive",
            "justification": JUSTIFICATION,
        },
        format="json",
    )
    assert response.status_code == 403
    assert isinstance(response.json()["detail"], str)
    assert written() == before


def test_override_of_an_undecided_id_is_404_and_short_justification_422(staff_api):
    officer = staff_api("compliance_officer")
    body = {
        "decision_id": "dec_01M8JNHP2RY1EEX09FWYRBC9A8",
        "override_type": "executive_override",
        "authorized_by": "exec",
        "justification": JUSTIFICATION,
    }
    assert officer.post(f"{G}/override", body, format="json").status_code == 404
    short = officer.post(f"{G}/override", {**body, "justification": "too short"}, format="json")
    assert short.status_code == 422
    active = officer.get(f"{G}/override/decision/00000000-0000-0000-0000-000000000000/active")
    assert active.status_code == 404


# --- Evidence -----------------------------------------------------------------------------------


@pytest.fixture
def writer(agent_client):
    return agent_client("evidence:write", "decide")


def test_evidence_content_is_really_stored(writer):
    seq = last_seq()
    response = writer.post(
        f"{G}/evidence",
        {
            "artifact_type": "decision_log",
            "content": "refund approved by rita at 14:02",
            "source": "support-bot",
            "storage_uri": "https://files.example.org/a/1",
            "metadata": {"ticket": "T-1"},
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    artifact = response.json()
    assert artifact["is_immutable"] is True
    assert artifact["size_bytes"] == len(b"refund approved by rita at 14:02")
    assert artifact["sha256_hash"]
    assert artifact["retention_until"]
    assert new_types(seq) == ["evidence.registered"]
    # The bytes are there: the native content route returns them.
    content = writer.get(f"/evidence/{artifact['artifact_id']}/content")
    assert b"".join(content.streaming_content) == b"refund approved by rita at 14:02"

    detail = writer.get(f"{G}/evidence/{artifact['artifact_id']}").json()
    assert detail["storage_uri"] == "https://files.example.org/a/1"
    assert detail["has_signature"] is False
    assert detail["related_decision_ids"] == []

    verify = writer.post(
        f"{G}/evidence/{artifact['artifact_id']}/verify",
        {"content": "refund approved by rita at 14:02"},
        format="json",
    ).json()
    assert verify == {
        "artifact_id": artifact["artifact_id"],
        "is_valid": True,
        "stored_hash": artifact["sha256_hash"],
    }
    tampered = writer.post(
        f"{G}/evidence/{artifact['artifact_id']}/verify",
        {"content": "refund approved by rita at 14:03"},
        format="json",
    ).json()
    assert tampered["is_valid"] is False


def test_evidence_about_a_decision_lineage_and_statistics(writer, decided):
    decision_id = decided(DEMO)["decision_id"]
    # the writer key is not the deciding agent: use a decision the writer made itself
    response = writer.post("/decide", DEMO, format="json")
    own = response.json()["decision_id"]
    stored = writer.post(
        f"{G}/evidence",
        {
            "artifact_type": "context_capture",
            "content": "ctx",
            "source": "bot",
            "related_decision_ids": [own],
        },
        format="json",
    ).json()
    listed = writer.get(f"{G}/evidence/decision/{own}").json()
    assert listed["count"] == 1
    assert listed["artifacts"][0]["artifact_id"] == stored["artifact_id"]
    lineage = writer.get(f"{G}/evidence/{stored['artifact_id']}/lineage").json()
    assert lineage["related_decision_ids"] == [own]
    stats = writer.get(f"{G}/evidence/statistics").json()
    assert stats["total_artifacts"] == 1
    assert stats["artifact_types"] == {"context_capture": 1}
    assert stats["decisions_with_evidence"] == 1
    assert stats["signed_artifacts"] == 0
    # someone else's decision is not there for this key
    assert writer.get(f"{G}/evidence/decision/{decision_id}").status_code == 404


def test_evidence_errors_write_nothing(writer):
    before = written()
    not_url = writer.post(
        f"{G}/evidence",
        {"artifact_type": "decision_log", "content": "x", "source": "s", "storage_uri": "nope"},
        format="json",
    )
    assert not_url.status_code == 400
    assert not_url.json() == {"detail": "Invalid storage_uri: must be a URL"}
    bad_type = writer.post(
        f"{G}/evidence", {"artifact_type": "bogus", "content": "x", "source": "s"}, format="json"
    )
    assert bad_type.status_code == 400
    no_content = writer.post(
        f"{G}/evidence", {"artifact_type": "decision_log", "source": "s"}, format="json"
    )
    assert no_content.status_code == 422
    assert written() == before
    unknown = writer.post(
        f"{G}/evidence/evd_decisionlog_1234abcd/verify", {"content": "x"}, format="json"
    )
    assert unknown.status_code == 404


def test_an_unverifiable_signature_is_refused(writer):
    stored = writer.post(
        f"{G}/evidence",
        {"artifact_type": "decision_log", "content": "x", "source": "s"},
        format="json",
    ).json()
    before = written()
    response = writer.post(
        f"{G}/evidence/{stored['artifact_id']}/sign",
        {"signer_id": "alice", "signature": "anything-at-all"},
        format="json",
    )
    assert response.status_code == 400
    assert "no registered public key" in response.json()["detail"]
    assert written() == before
    assert writer.get(f"{G}/evidence/{stored['artifact_id']}").json()["has_signature"] is False


# --- Compliance ---------------------------------------------------------------------------------


@pytest.fixture
def catalogs(db):
    from apps.compliance import services

    return services.catalogs_load()


@pytest.fixture
def reader(agent_client):
    return agent_client("compliance:read")


def test_compliance_reads_are_reachable_and_computed(catalogs, reader):
    stats = reader.get(f"{G}/compliance/statistics").json()
    assert "soc2" in stats["frameworks"]
    assert stats["total_controls"] > 0
    assert 0 <= stats["overall_verification_rate"] <= 1

    controls = reader.get(f"{G}/compliance/SOC2/controls").json()
    assert controls["framework"] == "soc2"
    assert controls["count"] == len(controls["controls"]) > 0
    first = controls["controls"][0]
    assert {"control_id", "title", "category", "status", "mapped_primitives"} <= set(first)
    category = first["category"]
    filtered = reader.get(f"{G}/compliance/soc2/controls", {"category": category}).json()
    assert filtered["count"] >= 1
    assert all(c["category"] == category for c in filtered["controls"])

    control = reader.get(f"{G}/compliance/soc2/{first['control_id']}")
    assert control.status_code == 200
    assert control.json()["control_id"] == first["control_id"]

    for name in ("gaps", "report", "coverage"):
        response = reader.get(f"{G}/compliance/soc2/{name}")
        assert response.status_code == 200, name
        assert response.json()["framework"] == "soc2"
    coverage = reader.get(f"{G}/compliance/soc2/coverage").json()
    assert coverage["total_controls"] == controls["count"]

    missing = reader.get(f"{G}/compliance/soc2/NOPE-1")
    assert missing.status_code == 404
    assert isinstance(missing.json()["detail"], str)


def test_verify_records_an_attestation_and_link_evidence_a_link(catalogs, staff_api):
    officer = staff_api("compliance_officer")
    seq = last_seq()
    response = officer.post(
        f"{G}/compliance/soc2/CC6.1/verify",
        {"notes": "Quarterly access review done; tickets AR-1 to AR-9 attached."},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["control_id"] == "CC6.1"
    assert new_types(seq) == ["compliance.attested"]

    too_short = officer.post(f"{G}/compliance/soc2/CC6.1/verify", {}, format="json")
    assert too_short.status_code == 400

    writer = APIClient()
    from tests.factories import AgentKeyFactory

    key = AgentKeyFactory(scopes=("evidence:write",))
    writer.credentials(HTTP_AUTHORIZATION=f"Bearer {key.raw_key}")
    artifact = writer.post(
        f"{G}/evidence",
        {"artifact_type": "audit_trail", "content": "review", "source": "s"},
        format="json",
    ).json()
    seq = last_seq()
    link = writer.post(
        f"{G}/compliance/soc2/cc6.1/link-evidence",
        {"evidence_artifact_id": artifact["artifact_id"]},
        format="json",
    )
    assert link.status_code == 200, link.content
    assert link.json()["control_id"] == "CC6.1"
    assert new_types(seq) == ["evidence.linked"]
    before = written()
    unknown = writer.post(
        f"{G}/compliance/soc2/CC6.1/link-evidence",
        {"evidence_artifact_id": "00000000-0000-0000-0000-000000000000"},
        format="json",
    )
    assert unknown.status_code == 404  # the original linked anything; we check it exists
    assert written() == before


# --- Routing and permissions --------------------------------------------------------------------

ROUTES = [
    ("post", f"{G}/risk/assess", views.RiskAssessView),
    ("get", f"{G}/risk/x", views.RiskDetailView),
    ("get", f"{G}/risk/decision/x", views.RiskByDecisionView),
    ("post", f"{G}/escalation", views.EscalationCreateView),
    ("get", f"{G}/escalation/x", views.EscalationDetailView),
    ("post", f"{G}/escalation/x/resolve", views.EscalationResolveView),
    ("get", f"{G}/escalation/decision/x", views.EscalationByDecisionView),
    ("get", f"{G}/escalation/sla/violations", views.EscalationSlaViolationsView),
    ("post", f"{G}/override", views.OverrideCreateView),
    ("get", f"{G}/override/x", views.OverrideDetailView),
    ("get", f"{G}/override/decision/x", views.OverrideByDecisionView),
    ("get", f"{G}/override/decision/x/active", views.OverrideActiveView),
    ("get", f"{G}/override/decision/x/status", views.OverrideStatusView),
    ("post", f"{G}/evidence", views.EvidenceStoreView),
    ("get", f"{G}/evidence/statistics", views.EvidenceStatisticsView),
    ("get", f"{G}/evidence/x", views.EvidenceDetailView),
    ("post", f"{G}/evidence/x/verify", views.EvidenceVerifyView),
    ("post", f"{G}/evidence/x/sign", views.EvidenceSignView),
    ("get", f"{G}/evidence/decision/x", views.EvidenceByDecisionView),
    ("get", f"{G}/evidence/x/lineage", views.EvidenceLineageView),
    ("get", f"{G}/compliance/statistics", views.ComplianceStatisticsView),
    ("post", f"{G}/compliance/map", views.ComplianceMapView),
    ("get", f"{G}/compliance/primitive/x/mappings", views.PrimitiveMappingsView),
    ("get", f"{G}/compliance/soc2/controls", views.ControlsView),
    ("get", f"{G}/compliance/soc2/CC6.1", views.ControlDetailView),
    ("post", f"{G}/compliance/soc2/CC6.1/verify", views.ControlVerifyView),
    ("post", f"{G}/compliance/soc2/CC6.1/link-evidence", views.ControlLinkEvidenceView),
    ("get", f"{G}/compliance/soc2/gaps", views.GapsView),
    ("get", f"{G}/compliance/soc2/report", views.ReportView),
    ("get", f"{G}/compliance/soc2/coverage", views.CoverageView),
]


@pytest.mark.parametrize(("method", "url", "view"), ROUTES)
def test_every_route_resolves_to_its_view(method, url, view):
    assert resolve(url).func.view_class is view


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url", "view"), ROUTES)
def test_no_credentials_is_401_and_writes_nothing(method, url, view):
    before = written()
    response = getattr(APIClient(), method)(url, {}, format="json")
    assert response.status_code == 401
    assert isinstance(response.json()["detail"], str)
    assert written() == before


@pytest.mark.parametrize(("method", "url", "view"), ROUTES)
def test_password_only_session_is_403_and_writes_nothing(password_only, method, url, view):
    before = written()
    response = getattr(password_only, method)(url, {}, format="json")
    assert response.status_code == 403
    assert written() == before


@pytest.mark.parametrize(("method", "url", "view"), ROUTES)
def test_a_key_without_the_scope_is_403(agent_client, method, url, view):
    key = agent_client("policies:read")
    before = written()
    response = getattr(key, method)(url, {}, format="json")
    assert response.status_code == 403
    assert isinstance(response.json()["detail"], str)
    assert written() == before


def test_map_is_computed_from_the_crosswalk_and_writes_nothing(catalogs, agent, decided):
    decision_id = decided(DEMO)["decision_id"]
    reader = agent  # the deciding agent sees its decision; give it compliance:read too
    reader.agent_key.scopes = [*reader.agent_key.scopes, "compliance:read"]
    reader.agent_key.save(update_fields=["scopes"])
    from apps.accounts.services import forget_verified_keys

    forget_verified_keys()
    before = written()
    body = {"primitive_type": "decision", "primitive_id": decision_id, "framework": "SOC2"}
    response = reader.post(f"{G}/compliance/map", body, format="json")
    assert response.status_code == 200, response.content
    mapping = response.json()
    assert mapping["framework"] == "soc2"
    assert mapping["mapping_id"].startswith("map_soc2_")
    assert "CC7.2" in mapping["control_ids"]  # decision.made evidences CC7.2 (crosswalk)
    assert set(mapping["control_statuses"]) == set(mapping["control_ids"])
    assert mapping["verification_status"] in ("pending", "partial", "verified")
    again = reader.post(f"{G}/compliance/map", body, format="json").json()
    assert again["mapping_id"] == mapping["mapping_id"]
    assert written() == before

    listed = reader.get(f"{G}/compliance/primitive/{decision_id}/mappings").json()
    assert listed["primitive_type"] == "decision"
    assert "soc2" in {m["framework"] for m in listed["mappings"]}

    bad_type = reader.post(
        f"{G}/compliance/map", {**body, "primitive_type": "widget"}, format="json"
    )
    assert bad_type.status_code == 400
    unknown = reader.post(
        f"{G}/compliance/map",
        {**body, "primitive_id": "00000000-0000-0000-0000-000000000000"},
        format="json",
    )
    assert unknown.status_code == 404
    assert reader.get(f"{G}/compliance/primitive/nope/mappings").status_code == 404


def test_a_refused_resolution_does_not_leave_the_escalation_acknowledged(agent, staff_api, decided):
    escalation_id = decided(REFUND)["escalation_id"]
    officer = staff_api("compliance_officer")
    before = written()
    response = officer.post(
        f"{G}/escalation/{escalation_id}/resolve",
        {"resolved_by": "x", "outcome": "approved", "notes": "ok"},
        format="json",
    )
    assert response.status_code == 400
    assert written() == before
    assert Escalation.objects.get(pk=escalation_id).status == "pending"


def test_an_unknown_reviewer_undoes_the_whole_escalation(agent, staff_api, decided):
    decision_id = decided(DEMO)["decision_id"]
    officer = staff_api("compliance_officer")
    before = written()
    response = officer.post(
        f"{G}/escalation",
        {
            "decision_id": decision_id,
            "trigger": "manual_request",
            "escalated_to": ["nobody_by_that_name"],
            "context_summary": "Please have a second look at this access.",
        },
        format="json",
    )
    assert response.status_code == 400
    assert isinstance(response.json()["detail"], str)
    assert written() == before


def test_officer_assigns_the_named_reviewers(agent, staff_api, decided, staff):
    staff("rita", "reviewer")
    decision_id = decided(DEMO)["decision_id"]
    officer = staff_api("compliance_officer")
    seq = last_seq()
    body = officer.post(
        f"{G}/escalation",
        {
            "decision_id": decision_id,
            "trigger": "manual_request",
            "escalated_to": ["rita"],
            "context_summary": "Please have a second look at this access.",
        },
        format="json",
    ).json()
    assert body["escalated_to"] == ["rita"]
    assert new_types(seq)[-1] == "escalation.assigned"
