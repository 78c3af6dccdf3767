"""The original's ``/compliance/eu-ai-act/article-14/*``: its intervention body and
effectiveness query answered by our native views; verify, evidence-package, escalation and
storage/stats as compat routes."""

from __future__ import annotations

import pytest
from django.urls import resolve
from rest_framework.test import APIClient

from apps.compat.euaiact import article14
from apps.decisions.models import ResponsibilityRecord
from apps.ledger.models import LedgerEntry
from apps.monitoring.models import Intervention
from tests.compat.conftest import DEMO, written

A14 = "/compliance/eu-ai-act/article-14"
REASON = "The applicant's documents do not match the declared employer."


def original_body(decision_id: str, **changes) -> dict:
    body = {
        "intervention_type": "override",
        "ai_recommendation": {"decision": "allow", "confidence": 0.92},
        "human_decision": {"decision": "deny"},
        "human_role": "security_lead",
        "reason": REASON,
        "request_context": {"decision_id": decision_id},
        "response_time_ms": 42000,
    }
    body.update(changes)
    return body


@pytest.fixture
def recorded(agent, decided, staff_api):
    """An officer's override intervention on an allowed decision, in the original's form."""
    decision_id = decided(DEMO)["decision_id"]
    officer = staff_api("compliance_officer", "olivia")
    seq = LedgerEntry.objects.order_by("-seq").first().seq
    response = officer.post(f"{A14}/intervention", original_body(decision_id), format="json")
    assert response.status_code == 200, response.content
    return {"officer": officer, "body": response.json(), "seq": seq, "decision_id": decision_id}


def test_the_originals_intervention_is_recorded_and_signed(recorded):
    body = recorded["body"]
    assert body["status"] == "success"
    assert body["signature"] == body["signature_info"]["signature"]
    assert body["timestamp"] == body["recorded_at"]
    assert body["ai_recommendation"] == "allowed"
    assert body["human_decision"] == "denied"
    assert body["role"] == "compliance_officer"  # who is signed in, not the role claimed
    assert body["decision_id"] == recorded["decision_id"]
    new = list(
        LedgerEntry.objects.filter(seq__gt=recorded["seq"]).values_list("entry_type", flat=True)
    )
    assert new == ["intervention.recorded"]  # as the native route writes
    assert Intervention.objects.filter(pk=body["intervention_id"]).exists()
    assert ResponsibilityRecord.objects.filter(kind="intervention").count() == 1


def test_verify_checks_the_ledger_and_the_signature(recorded, staff_api, agent_client):
    reader = staff_api("auditor")
    # an agent key sees only interventions on its own decisions: this one is not
    other = agent_client("compliance:read").post(f"{A14}/verify", recorded["body"], format="json")
    assert other.status_code == 404
    body = recorded["body"]
    ok = reader.post(f"{A14}/verify", body, format="json").json()
    assert ok["verified"] is True
    assert ok["on_ledger"] is True
    assert ok["signature_valid"] is True
    assert ok["ledger_entry_id"] == body["ledger_entry_id"]

    info = dict(body["signature_info"])
    info["signature"] = info["signature"][:-8] + (
        "A" * 8 if info["signature"][-8:] != "A" * 8 else "B" * 8
    )
    forged = reader.post(
        f"{A14}/verify",
        {"intervention_id": body["intervention_id"], "signature_info": info},
        format="json",
    ).json()
    assert forged["verified"] is False
    assert forged["signature_valid"] is False

    bare = reader.post(
        f"{A14}/verify", {"intervention_id": body["intervention_id"]}, format="json"
    ).json()
    assert bare["verified"] is True
    assert bare["signature_valid"] is None

    unknown = reader.post(f"{A14}/verify", {"intervention_id": "oversight_1"}, format="json")
    assert unknown.status_code == 404
    assert reader.post(f"{A14}/verify", {}, format="json").status_code == 422


def test_original_intervention_errors_write_nothing(agent, decided, staff_api):
    decision_id = decided(DEMO)["decision_id"]
    officer = staff_api("compliance_officer")
    before = written()
    no_confidence = officer.post(
        f"{A14}/intervention",
        original_body(decision_id, ai_recommendation={"decision": "allow"}),
        format="json",
    )
    assert no_confidence.status_code == 422
    assert ["body", "ai_recommendation", "confidence"] in [
        d["loc"] for d in no_confidence.json()["detail"]
    ]
    bad_type = officer.post(
        f"{A14}/intervention", original_body(decision_id, intervention_type="bogus"), format="json"
    )
    assert bad_type.status_code == 400
    assert isinstance(bad_type.json()["detail"], str)
    no_decision = officer.post(
        f"{A14}/intervention", original_body(decision_id, request_context={}), format="json"
    )
    assert no_decision.status_code == 400
    assert "request_context.decision_id" in no_decision.json()["detail"]
    disagreeing_approval = officer.post(
        f"{A14}/intervention",
        original_body(decision_id, intervention_type="approval"),
        format="json",
    )
    assert disagreeing_approval.status_code == 400
    auditor = staff_api("auditor").post(
        f"{A14}/intervention", original_body(decision_id), format="json"
    )
    assert auditor.status_code == 403
    assert set(auditor.json()) == {"detail"}
    assert written() == before


def test_effectiveness_in_the_originals_query(recorded, staff_api):
    reader = staff_api("auditor")
    report = reader.get(f"{A14}/effectiveness", {"time_period_days": 7}).json()
    assert report["period_days"] == 7
    assert report["total_interventions"] == 1
    assert report["intervention_breakdown"]["by_type"]["override"] == 1
    assert report["intervention_breakdown"]["by_role"] == {"compliance_officer": 1}
    assert report["effectiveness_metrics"]["total_overrides"] == 1
    assert report["effectiveness_metrics"]["override_rate_percent"] == 100.0
    assert "override_rate" in report  # ours stay
    bad = reader.get(f"{A14}/effectiveness", {"time_period_days": "a month"})
    assert bad.status_code == 422
    native = reader.get(f"{A14}/effectiveness").json()
    assert "period_days" not in native


def test_evidence_package_is_signed_and_lists_interventions(recorded, staff_api):
    reader = staff_api("auditor")
    package = reader.get(f"{A14}/evidence-package").json()
    assert package["package_type"] == "EU_AI_ACT_ARTICLE_14_OVERSIGHT_EVIDENCE"
    assert package["summary"]["total_interventions"] == 1
    assert package["interventions"][0]["intervention_id"] == recorded["body"]["intervention_id"]
    assert "reason" not in package["interventions"][0]
    check = reader.post("/compliance/verify-signature", package, format="json").json()
    assert check["valid"] is True
    markdown = reader.get(f"{A14}/evidence-package", {"format": "markdown"}).json()
    assert markdown["format"] == "markdown"
    assert recorded["body"]["intervention_id"] not in markdown["content"]
    assert recorded["decision_id"] in markdown["content"]
    assert reader.get(f"{A14}/evidence-package", {"format": "pdf"}).status_code == 400
    empty = reader.get(
        f"{A14}/evidence-package",
        {"start_date": "2001-01-01T00:00:00", "end_date": "2001-02-01T00:00:00"},
    ).json()
    assert empty["summary"]["total_interventions"] == 0


def test_escalation_answers_our_rules(agent_client, settings):
    reader = agent_client("compliance:read")
    critical = reader.post(f"{A14}/escalation?decision_class=critical&current_role=reviewer").json()
    assert critical["approvals_required"] == 2
    assert critical["max_response_time_minutes"] == 120
    assert critical["full_escalation_chain"] == ["admin", "compliance_officer", "reviewer"]
    assert critical["next_escalation"] is None
    low = reader.post(f"{A14}/escalation?decision_class=low&current_role=admin").json()
    assert low["approvals_required"] == 1
    assert low["max_response_time_minutes"] == 72 * 60
    unknown = reader.post(f"{A14}/escalation?decision_class=financial&current_role=admin")
    assert unknown.status_code == 200
    assert "No escalation path for financial" in unknown.json()["error"]
    auditor = reader.post(f"{A14}/escalation?decision_class=high&current_role=auditor").json()
    assert "not in escalation chain" in auditor["error"]
    missing = reader.post(f"{A14}/escalation?decision_class=high")
    assert missing.status_code == 422


def test_storage_stats_count_visible_interventions(recorded, staff_api, agent_client):
    stats = staff_api("auditor").get(f"{A14}/storage/stats").json()
    assert stats["total_interventions"] == 1
    assert stats["by_type"] == {"override": 1}
    # an agent key sees only interventions on its own decisions
    assert (
        agent_client("compliance:read").get(f"{A14}/storage/stats").json()["total_interventions"]
        == 0
    )


ROUTES = [
    ("post", f"{A14}/verify", article14.VerifyView),
    ("get", f"{A14}/evidence-package", article14.EvidencePackageView),
    ("post", f"{A14}/escalation", article14.EscalationView),
    ("get", f"{A14}/storage/stats", article14.StorageStatsView),
]


@pytest.mark.parametrize(("method", "url", "view"), ROUTES)
def test_every_route_resolves_to_its_view(method, url, view):
    assert resolve(url).func.view_class is view


def test_native_article_14_routes_are_not_shadowed():
    from apps.monitoring.api.views import Art14EffectivenessApi, InterventionApi

    assert resolve(f"{A14}/intervention").func.view_class is InterventionApi
    assert resolve(f"{A14}/effectiveness").func.view_class is Art14EffectivenessApi


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url", "view"), ROUTES)
def test_refused_without_the_right_credentials(method, url, view, password_only, agent_client):
    before = written()
    assert getattr(APIClient(), method)(url, {}, format="json").status_code == 401
    assert getattr(password_only, method)(url, {}, format="json").status_code == 403
    response = getattr(agent_client("decide"), method)(url, {}, format="json")
    assert response.status_code == 403
    assert isinstance(response.json()["detail"], str)
    assert written() == before
