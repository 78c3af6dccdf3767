"""Art. 14: recording interventions (permissions, CSRF, bad input, what is written) and the
effectiveness figures against a hand-computed fixture."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from apps.decisions.models import Decision, ResponsibilityRecord
from apps.decisions.services import DecideRequest, decision_make
from apps.escalations import services as oversight
from apps.escalations.models import Escalation
from apps.ledger import services as ledger
from apps.ledger.models import LedgerEntry
from apps.monitoring import services
from apps.monitoring.models import Intervention
from tests.conftest import verify_session
from tests.monitoring.conftest import (
    OTHER,
    REASON,
    REFUND,
    SYSTEM,
    agent_api,
    api_client,
    assert_error,
    decide,
    snapshot,
)

URL = "/compliance/eu-ai-act/article-14/intervention"
EFFECTIVENESS = "/compliance/eu-ai-act/article-14/effectiveness"
NOTE = "Checked the invoice and the customer history; fine."
CRITICAL_DIMENSIONS = {"security": 95, "privacy": 95, "operational": 95, "reputational": 95}


def body(decision, **changes):
    data = {
        "decision_id": str(decision.pk),
        "intervention_type": "manual_review",
        "ai_recommendation": "allowed",
        "human_decision": "denied",
        "reason": REASON,
        "response_time_ms": 95000,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def allowed(system, key):
    return decide(key, "read_ticket")


def test_an_officer_records_an_intervention_with_its_entry_and_record(allowed, officer):
    before = snapshot()
    response = api_client(officer).post(URL, body(allowed), format="json")
    assert response.status_code == 201, response.content
    answer = response.json()
    intervention = Intervention.objects.get(pk=answer["intervention_id"])
    assert answer["ai_system"] == SYSTEM
    assert answer["role"] == "compliance_officer"
    assert answer["responsibility_level"] == "supervised"
    assert (intervention.human_decision, intervention.ai_recommendation) == ("denied", "allowed")
    assert snapshot() == {
        **before,
        "ledger": before["ledger"] + 1,
        "interventions": before["interventions"] + 1,
        "records": before["records"] + 1,
    }
    entry = LedgerEntry.objects.get(seq=answer["ledger_entry_id"])
    payload = json.loads(entry.payload)
    assert entry.entry_type == "intervention.recorded"
    assert payload["actor"] == {
        "kind": "user",
        "id": f"user:{officer.pk}",
        "label": f"user:{officer.pk}",
        "role": "compliance_officer",
    }
    assert payload["decision_id"] == str(allowed.pk)
    assert payload["ai_system"] == SYSTEM
    assert payload["response_time_ms"] == 95000
    # The reason stays off the ledger; its salted commitment opens with the stored text.
    assert REASON not in entry.payload
    assert ledger.commitment_matches(REASON, intervention.reason_salt, payload["reason_commitment"])
    record = ResponsibilityRecord.objects.get(ledger_seq=entry.seq)
    assert (record.kind, record.level, record.decision_id) == (
        "intervention",
        "supervised",
        allowed.pk,
    )
    assert (record.ai_recommendation, record.human_decision) == (
        "allowed",
        "denied (manual_review)",
    )
    assert record.reason == REASON
    assert record.user_id == officer.pk
    # The decision is unchanged, and its page lists the entry.
    assert Decision.objects.get(pk=allowed.pk).outcome == "allowed"
    from apps.decisions.selectors import decision_ledger_seqs

    assert entry.seq in decision_ledger_seqs(decision=allowed)


def test_defaults_the_recommendation_and_the_implied_decisions(system, key, officer):
    denied = decide(key, "delete_customer_data")
    client = api_client(officer)
    stop = client.post(
        URL,
        body(
            denied, intervention_type="emergency_stop", ai_recommendation=None, human_decision=None
        ),
        format="json",
    )
    assert stop.status_code == 201, stop.content
    assert (stop.json()["ai_recommendation"], stop.json()["human_decision"]) == (
        "denied",
        "stopped",
    )
    assert stop.json()["responsibility_level"] == "full"
    up = client.post(
        URL, body(denied, intervention_type="escalation", human_decision=None), format="json"
    )
    assert up.json()["human_decision"] == "escalated"
    assert up.json()["responsibility_level"] == "shared"


@pytest.mark.parametrize(
    ("_case", "changes", "status", "field"),
    [
        ("unknown type", {"intervention_type": "veto"}, 400, "intervention_type"),
        ("short reason", {"reason": "no"}, 400, "reason"),
        ("reason with NUL", {"reason": "long enough but \x00 inside"}, 400, "reason"),
        ("approval that disagrees", {"intervention_type": "approval"}, 400, "human_decision"),
        (
            "override that agrees",
            {"intervention_type": "override", "human_decision": "allowed"},
            400,
            "human_decision",
        ),
        (
            "stop that decides",
            {"intervention_type": "emergency_stop", "human_decision": "denied"},
            400,
            "human_decision",
        ),
        ("review without verdict", {"human_decision": "stopped"}, 400, "human_decision"),
        ("negative time", {"response_time_ms": -1}, 400, "response_time_ms"),
        ("time as text", {"response_time_ms": "95"}, 400, "response_time_ms"),
        ("role not held", {"role": "admin"}, 400, "role"),
        ("unknown field", {"severity": "high"}, 400, "severity"),
        ("not a uuid", {"decision_id": "42"}, 400, "decision_id"),
        ("unknown decision", {"decision_id": "00000000-0000-4000-8000-000000000000"}, 404, None),
    ],
)
def test_bad_input_is_4xx_and_writes_nothing(allowed, officer, _case, changes, status, field):
    before = snapshot()
    response = api_client(officer).post(URL, body(allowed, **changes), format="json")
    error = assert_error(response, status)
    if field:
        assert field in error["details"], error
    assert snapshot() == before


def test_a_body_that_is_not_an_object_is_400(allowed, officer):
    before = snapshot()
    assert_error(api_client(officer).post(URL, [1, 2], format="json"), 400, "validation_error")
    assert snapshot() == before


@pytest.mark.parametrize(
    ("_case", "role", "status"),
    [
        ("admin", "admin", 201),
        ("compliance officer", "compliance_officer", 201),
        ("auditor (reads only)", "auditor", 403),
    ],
)
def test_permissions_per_role(allowed, staff_user, _case, role, status):
    before = snapshot()
    response = api_client(staff_user(role)).post(URL, body(allowed), format="json")
    assert response.status_code == status, response.content
    if status != 201:
        assert_error(response, status, "permission_denied")
        assert snapshot() == before


def test_a_reviewer_intervenes_only_on_decisions_they_may_see(system, key, officer, staff_user):
    reviewer = staff_user("reviewer", "rita")
    escalated = decide(key, "issue_refund", context=REFUND)
    elsewhere = decide(key, "read_ticket")
    escalation = Escalation.objects.get(decision=escalated)
    oversight.escalation_assign(escalation_id=escalation.pk, user=officer, reviewer_username="rita")
    client = api_client(reviewer)
    before = snapshot()
    assert_error(client.post(URL, body(elsewhere), format="json"), 404, "not_found")
    assert snapshot() == before
    ok = client.post(
        URL, body(escalated, ai_recommendation=None, human_decision="denied"), format="json"
    )
    assert ok.status_code == 201, ok.content
    assert ok.json()["role"] == "reviewer"


def test_agents_and_anonymous_callers_cannot_record(allowed):
    from rest_framework.test import APIClient

    before = snapshot()
    for client in (agent_api("compliance:read", "decide"), APIClient()):
        response = client.post(URL, body(allowed), format="json")
        assert response.status_code in (401, 403), response.content
    assert snapshot() == before


def test_a_session_without_the_csrf_token_is_refused(allowed, officer):
    client = verify_session(Client(enforce_csrf_checks=True), officer)
    before = snapshot()
    response = client.post(URL, json.dumps(body(allowed)), content_type="application/json")
    error = assert_error(response, 403, "permission_denied")
    assert "CSRF" in error["message"]
    assert snapshot() == before


# --- Effectiveness ---------------------------------------------------------------------------


def resolve(escalation, user, resolution, seconds):
    """Acknowledge and resolve ``seconds`` after the escalation opened (the service's clock)."""
    at = escalation.created_at + timedelta(seconds=seconds)
    oversight.escalation_acknowledge(escalation_id=escalation.pk, user=user, now=at)
    return oversight.escalation_resolve(
        escalation_id=escalation.pk, user=user, resolution=resolution, note=NOTE, now=at
    )


@pytest.fixture
def oversight_history(system, key, officer, staff_user):
    """In the period, for the system:

    - five escalations: approved after 30 s, 120 s and (four eyes, critical) 90 s; denied after
      300 s; one expired;
    - a risk-accepted override of a denial; an agent stop;
    - interventions: a manual review that denies what the AI allowed (5 s), an approval (1 s), an
      emergency stop (2 s, no verdict);
    plus an escalation of another system, approved at once (outside the figures).
    """
    second = staff_user("admin", "ada")
    refunds = [decide(key, "issue_refund", context=REFUND) for _ in range(4)]
    escalations = [Escalation.objects.get(decision=d) for d in refunds]
    resolve(escalations[0], officer, "approved", 30)
    resolve(escalations[1], officer, "approved", 120)
    resolve(escalations[2], officer, "denied", 300)
    oversight.escalation_expire(
        escalation_id=escalations[3].pk, now=escalations[3].sla_deadline + timedelta(seconds=1)
    )
    # The demo policy allows this read; a caller-declared critical risk escalates it (four eyes).
    critical = decision_make(
        request=DecideRequest(
            actor="ai_agent:customer_service",
            action="access_customer_data",
            context={"purpose": "support_ticket"},
            ai_system=SYSTEM,
            risk_dimensions=CRITICAL_DIMENSIONS,
        ),
        agent_key=key,
    ).decision
    four_eyes = Escalation.objects.get(decision=critical)
    assert four_eyes.priority == "critical"
    at = four_eyes.created_at + timedelta(seconds=90)
    oversight.escalation_acknowledge(escalation_id=four_eyes.pk, user=officer, now=at)
    for user in (officer, second):
        oversight.escalation_resolve(
            escalation_id=four_eyes.pk, user=user, resolution="approved", note=NOTE, now=at
        )

    denied = decide(key, "delete_customer_data")
    oversight.override_execute(
        decision=denied,
        user=officer,
        override_type="risk_accepted",
        justification="Accepted for the pilot: the DPO signed off the residual risk.",
    )
    stopped = decide(key, "read_ticket")
    oversight.agent_stop(decision=stopped, user=officer, reason="misbehaving in production")

    allowed = decide(key, "read_ticket")
    services.intervention_record(
        user=officer,
        decision_id=allowed.pk,
        intervention_type="manual_review",
        human_decision="denied",
        reason=REASON,
        response_time_ms=5000,
    )
    services.intervention_record(
        user=officer,
        decision_id=allowed.pk,
        intervention_type="approval",
        human_decision="allowed",
        reason=REASON,
        response_time_ms=1000,
    )
    services.intervention_record(
        user=officer,
        decision_id=allowed.pk,
        intervention_type="emergency_stop",
        reason=REASON,
        response_time_ms=2000,
    )

    other = decide(key, "issue_refund", context=REFUND, ai_system=OTHER)
    resolve(Escalation.objects.get(decision=other), officer, "approved", 1)


def effectiveness(client):
    now = timezone.now()
    response = client.get(
        EFFECTIVENESS,
        {
            "ai_system": SYSTEM,
            "from": (now - timedelta(hours=1)).isoformat(),
            "to": (now + timedelta(hours=1)).isoformat(),
        },
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_effectiveness_figures_are_the_hand_computed_ones(oversight_history, officer):
    body = effectiveness(api_client(officer))
    assert body["interventions"] == {
        "total": 3,
        "by_type": {
            "approval": 1,
            "override": 0,
            "escalation": 0,
            "emergency_stop": 1,
            "policy_exception": 0,
            "manual_review": 1,
        },
    }
    assert body["oversight_actions"] == {
        "escalations_opened": 5,
        "escalations_requested_by_people": 0,
        "approved": 3,
        "denied": 1,
        "expired": 1,
        "open": 0,
        "overrides": {
            "emergency_bypass": 0,
            "executive_override": 0,
            "time_limited_exception": 0,
            "risk_accepted": 1,
        },
        "agent_stops": 1,
    }
    # Human verdicts: 4 resolutions (the engine recommended "denied" for the refunds and
    # "allowed" for the critical read), 1 override, 2 deciding interventions.
    #   refund approved x2 → differ; refund denied → agrees; critical approved → agrees;
    #   override allowed vs denied → differs; manual review denied vs allowed → differs;
    #   approval allowed vs allowed → agrees.                         4 of 7 differ.
    assert body["override_rate"] == {"human_verdicts": 7, "differing_from_ai": 4, "rate": 0.5714}
    # Approvals after 30, 120 and 90 s: nearest-rank median 90 s, above the 60 s floor.
    assert body["rubber_stamp"] == {
        "escalations_decided": 4,
        "approval_rate": 0.75,
        "median_seconds_to_approve": 90.0,
        "floor_seconds": 60.0,
        "approvals_under_floor": 1,
        "suspected": False,
    }
    assert body["sla"] == {"met": 4, "breached": 1, "open_within_sla": 0, "compliance_rate": 0.8}
    # Verdicts after 30, 90, 120, 300 s: p50 = 2nd = 90, p95 = 4th = 300.
    assert body["response_times"] == {
        "escalations": {"count": 4, "p50_seconds": 90.0, "p95_seconds": 300.0},
        "interventions": {"count": 3, "p50_seconds": 2.0, "p95_seconds": 5.0},
    }
    assert body["four_eyes"] == {
        "approved": 3,
        "approved_by_two": 1,
        "share": 0.3333,
        "awaiting_second_approval": 0,
    }
    assert body["stops"] == {"agent_stops": 1, "emergency_stop_interventions": 1, "total": 2}


def test_the_rubber_stamp_floor_is_configurable(oversight_history, officer):
    with override_settings(LEXECON_RUBBER_STAMP_SECONDS=100):
        stamp = effectiveness(api_client(officer))["rubber_stamp"]
    assert (stamp["floor_seconds"], stamp["approvals_under_floor"], stamp["suspected"]) == (
        100.0,
        2,
        True,
    )


def test_effectiveness_follows_the_data(system, key, officer):
    client = api_client(officer)
    empty = effectiveness(client)
    assert empty["override_rate"] == {"human_verdicts": 0, "differing_from_ai": 0, "rate": None}
    assert empty["rubber_stamp"]["suspected"] is None
    assert empty["sla"]["compliance_rate"] is None
    escalation = Escalation.objects.get(decision=decide(key, "issue_refund", context=REFUND))
    opened = effectiveness(client)
    assert opened["sla"] == {"met": 0, "breached": 0, "open_within_sla": 1, "compliance_rate": None}
    resolve(escalation, officer, "approved", 10)
    body = effectiveness(client)
    assert body["rubber_stamp"]["median_seconds_to_approve"] == 10.0
    assert body["rubber_stamp"]["suspected"] is True
    assert body["override_rate"]["rate"] == 1.0


def test_an_escalation_past_its_deadline_counts_as_breached_while_open(system, key, officer):
    escalation = Escalation.objects.get(decision=decide(key, "issue_refund", context=REFUND))
    Escalation.objects.filter(pk=escalation.pk).update(
        sla_deadline=timezone.now() - timedelta(minutes=1)
    )
    assert effectiveness(api_client(officer))["sla"]["breached"] == 1


def test_entries_written_are_counted_once(oversight_history):
    assert LedgerEntry.objects.filter(entry_type="intervention.recorded").count() == 3
