"""The oversight API: auth matrix per endpoint, visibility (404 for unassigned reviewers), exact status
codes, the error shape, and that every refused request wrote nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.escalations import services
from apps.escalations.models import Escalation, Override
from apps.ledger.models import LedgerEntry
from tests.conftest import DEMO
from tests.escalations.conftest import JUSTIFICATION, NOTE, decide, snapshot

pytestmark = pytest.mark.django_db


def post(client, url: str, body: dict | None = None):
    return client.post(url, json.dumps(body or {}), content_type="application/json")


@pytest.fixture
def officer(staff):
    return staff("olivia", "compliance_officer")


@pytest.fixture
def reviewer(staff):
    return staff("rita", "reviewer")


@pytest.fixture
def officer_client(officer, as_user):
    return as_user(officer)


@pytest.fixture
def reviewer_client(reviewer, as_user):
    return as_user(reviewer)


@pytest.fixture
def assigned(escalated, officer_client, reviewer):
    response = post(
        officer_client,
        f"/escalations/{escalated.escalation.pk}/assign",
        {"reviewer": "rita"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["assignees"] == ["rita"]
    return escalated


def endpoints(escalation_id, decision_id):
    """(method, url, body) of every oversight operation."""
    return [
        ("get", "/escalations", None),
        ("get", f"/escalations/{escalation_id}", None),
        ("get", "/escalations/sla/violations", None),
        ("post", "/escalations/create", {"decision_id": str(decision_id), "reason": "x" * 12}),
        ("post", f"/escalations/{escalation_id}/acknowledge", {}),
        ("post", f"/escalations/{escalation_id}/resolve", {"resolution": "approved", "note": NOTE}),
        ("post", f"/escalations/{escalation_id}/assign", {"reviewer": "rita"}),
        (
            "post",
            "/overrides/execute",
            {
                "decision_id": str(decision_id),
                "override_type": "risk_accepted",
                "justification": JUSTIFICATION,
            },
        ),
        ("get", f"/responsibility/{decision_id}", None),
        ("post", f"/decisions/{decision_id}/stop", {"reason": "stop the agent now"}),
    ]


def call(client, method: str, url: str, body):
    if method == "get":
        return client.get(url)
    return post(client, url, body)


def test_anonymous_gets_401_everywhere_and_nothing_is_written(escalated, client):
    before = snapshot()
    for method, url, body in endpoints(escalated.escalation.pk, escalated.decision.pk):
        response = call(client, method, url, body)
        assert response.status_code == 401, url
        assert response.json()["error"]["code"] == "not_authenticated"
    assert snapshot() == before


def test_password_without_otp_gets_403_everywhere(escalated, officer):
    client = Client()
    client.force_login(officer)  # password step only: no verified OTP device in the session
    before = snapshot()
    for method, url, body in endpoints(escalated.escalation.pk, escalated.decision.pk):
        response = call(client, method, url, body)
        assert response.status_code == 403, url
        assert response.json()["error"]["code"] == "permission_denied"
        assert "escalations" not in response.json()
    assert snapshot() == before


def test_agent_may_only_create_escalations(escalated, agent_client):
    other_agent = agent_client("decide", "ledger:read")
    before = snapshot()
    for method, url, body in endpoints(escalated.escalation.pk, escalated.decision.pk):
        if url == "/escalations/create":
            continue
        response = call(other_agent, method, url, body)
        assert response.status_code == 403, url
    # Another agent's decision does not exist for this agent.
    response = call(
        other_agent, "post", "/escalations/create", endpoints(1, escalated.decision.pk)[3][2]
    )
    assert response.status_code == 404
    assert snapshot() == before


def test_agent_on_a_staff_only_route_is_told_what_is_needed(escalated, agent_client):
    # Issue 15 §4: the message read "The agent key lacks the scope None."
    agent = agent_client("decide", "ledger:read")
    before = snapshot()
    listing = agent.get("/escalations")
    resolve = post(
        agent,
        f"/escalations/{escalated.escalation.pk}/resolve",
        {"outcome": "approved", "note": NOTE},
    )
    # Issue 19: reviewers read escalations without view_dashboard, so listing names both.
    listing_needs = "view_dashboard or resolve_escalation"
    for response, permission in ((listing, listing_needs), (resolve, "resolve_escalation")):
        assert response.status_code == 403
        error = response.json()["error"]
        assert error["code"] == "permission_denied"
        assert error["message"] == (
            f"This route is for staff with the {permission} permission; agent keys cannot use it."
        )
    assert snapshot() == before


def test_agent_without_decide_scope_cannot_create(escalated, agent_client):
    reader = agent_client("ledger:read")
    response = post(
        reader,
        "/escalations/create",
        {"decision_id": str(escalated.decision.pk), "reason": "please take a look"},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_agent_escalates_its_own_allowed_decision(agent):
    answer = decide(agent, DEMO)
    response = post(
        agent,
        "/escalations/create",
        {"decision_id": answer["decision_id"], "reason": "Unsure: customer flagged as VIP."},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending"
    assert body["escalated_by"] == f"agent:{agent.agent_key.name}"
    payload = json.loads(LedgerEntry.objects.get(entry_type="escalation.created").payload)
    assert payload["actor"]["kind"] == "agent"
    assert "VIP" not in LedgerEntry.objects.get(entry_type="escalation.created").payload
    detail = agent.get(f"/decisions/{answer['decision_id']}").json()
    assert (detail["outcome"], detail["status"], detail["capability_token"]) == (
        "escalated",
        "awaiting_human",
        None,
    )
    assert detail["escalation"]["id"] == body["id"]
    again = post(
        agent,
        "/escalations/create",
        {"decision_id": answer["decision_id"], "reason": "Unsure: customer flagged as VIP."},
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_escalated"


def test_create_validates_input(agent):
    answer = decide(agent, DEMO)
    before = snapshot()
    short = post(
        agent, "/escalations/create", {"decision_id": answer["decision_id"], "reason": "?"}
    )
    assert short.status_code == 400
    assert short.json()["error"]["code"] == "validation_error"
    assert "reason" in short.json()["error"]["details"]
    assert snapshot() == before


def test_reviewer_list_is_filtered_and_unassigned_detail_is_404(
    agent, assigned, reviewer_client, officer_client, staff, as_user
):
    other = decide(agent, {**DEMO, "action": "close_account"})
    listed = reviewer_client.get("/escalations").json()
    assert [e["id"] for e in listed["escalations"]] == [str(assigned.escalation.pk)]
    assert listed["total"] == 1
    assert officer_client.get("/escalations").json()["total"] == 2
    hidden = reviewer_client.get(f"/escalations/{other['escalation_id']}")
    assert hidden.status_code == 404
    assert hidden.json()["error"]["code"] == "not_found"
    auditor = as_user(staff("audrey", "auditor"))
    assert auditor.get("/escalations").json()["total"] == 2
    assert auditor.get(f"/escalations/{other['escalation_id']}").status_code == 200


def test_list_filters(agent, officer_client):
    decide(agent, {**DEMO, "action": "close_account"})
    decide(agent, {**DEMO, "risk_dimensions": {"security": 95, "privacy": 95, "operational": 95}})
    everything = officer_client.get("/escalations").json()
    assert everything["total"] == 2
    critical = officer_client.get("/escalations?priority=critical").json()
    assert [e["priority"] for e in critical["escalations"]] == ["critical"]
    assert officer_client.get("/escalations?status=resolved").json()["total"] == 0
    bad = officer_client.get("/escalations?status=nonsense")
    assert bad.status_code == 400


def test_unassigned_reviewer_cannot_act_and_nothing_is_written(escalated, reviewer_client):
    before = snapshot()
    url = f"/escalations/{escalated.escalation.pk}"
    assert post(reviewer_client, f"{url}/acknowledge").status_code == 404
    response = post(reviewer_client, f"{url}/resolve", {"resolution": "approved", "note": NOTE})
    assert response.status_code == 404
    assert snapshot() == before


def test_auditor_can_view_but_never_act(escalated, staff, as_user):
    auditor = as_user(staff("audrey", "auditor"))
    url = f"/escalations/{escalated.escalation.pk}"
    assert auditor.get(url).status_code == 200
    before = snapshot()
    for action, body in (
        ("acknowledge", {}),
        ("resolve", {"resolution": "denied", "note": NOTE}),
        ("assign", {"reviewer": "audrey"}),
    ):
        response = post(auditor, f"{url}/{action}", body)
        assert response.status_code == 403, action
    response = post(
        auditor,
        "/overrides/execute",
        {
            "decision_id": str(escalated.decision.pk),
            "override_type": "risk_accepted",
            "justification": JUSTIFICATION,
        },
    )
    assert response.status_code == 403
    assert snapshot() == before


def test_assigned_reviewer_full_flow_and_decision_shows_token(assigned, reviewer_client, agent):
    url = f"/escalations/{assigned.escalation.pk}"
    early = post(reviewer_client, f"{url}/resolve", {"resolution": "approved", "note": NOTE})
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "invalid_transition"
    acknowledged = post(reviewer_client, f"{url}/acknowledge")
    assert acknowledged.status_code == 200
    assert acknowledged.json()["acknowledged_by"] == "rita"
    again = post(reviewer_client, f"{url}/acknowledge")
    assert again.status_code == 409
    short = post(reviewer_client, f"{url}/resolve", {"resolution": "approved", "note": "ok"})
    assert short.status_code == 400
    resolved = post(reviewer_client, f"{url}/resolve", {"resolution": "approved", "note": NOTE})
    assert resolved.status_code == 200
    body = resolved.json()
    assert (body["status"], body["resolution"], body["resolved"]) == ("resolved", "approved", True)
    token = body["capability_token"]
    assert token.startswith("cap_")
    detail = agent.get(f"/decisions/{assigned.decision.pk}").json()
    assert (detail["outcome"], detail["original_outcome"], detail["status"]) == (
        "allowed",
        "escalated",
        "final",
    )
    assert detail["capability_token"] == token
    assert detail["escalation"]["resolution"] == "approved"
    verify = agent.post(
        "/decide/verify",
        {
            "capability_token": token,
            "actor": assigned.decision.actor,
            "action": "delete_customer_data",
        },
        format="json",
    ).json()
    assert (verify["valid"], verify["reason"]) == (False, "action_mismatch")
    ok = agent.post(
        "/decide/verify",
        {
            "capability_token": token,
            "actor": assigned.decision.actor,
            "action": assigned.decision.action,
        },
        format="json",
    ).json()
    assert ok["valid"] is True
    loser = post(reviewer_client, f"{url}/resolve", {"resolution": "denied", "note": NOTE})
    assert loser.status_code == 409
    assert LedgerEntry.objects.filter(entry_type="escalation.resolved").count() == 1


def test_four_eyes_over_the_api(critical, officer_client, staff, as_user):
    admin = as_user(staff("adam", "admin"))
    url = f"/escalations/{critical.escalation.pk}"
    assert post(officer_client, f"{url}/acknowledge").status_code == 200
    first = post(officer_client, f"{url}/resolve", {"resolution": "approved", "note": NOTE})
    assert first.status_code == 200
    assert (first.json()["resolved"], first.json()["status"]) == (False, "acknowledged")
    assert first.json()["capability_token"] is None
    twice = post(officer_client, f"{url}/resolve", {"resolution": "approved", "note": NOTE})
    assert twice.status_code == 409
    assert twice.json()["error"]["code"] == "duplicate_approval"
    second = post(admin, f"{url}/resolve", {"resolution": "approved", "note": NOTE})
    assert second.json()["resolved"] is True
    assert [a["approver"] for a in second.json()["approvals"]] == ["olivia", "adam"]


def test_sla_violations(critical, officer_client, time_machine):
    # Critical: 2 h SLA, well inside the 8 h session lifetime.
    assert officer_client.get("/escalations/sla/violations").json()["total"] == 0
    time_machine.move_to(critical.escalation.sla_deadline + timedelta(minutes=5))
    overdue = officer_client.get("/escalations/sla/violations").json()
    assert overdue["total"] == 1
    assert overdue["escalations"][0]["overdue"] is True
    assert overdue["escalations"][0]["seconds_left"] < 0


def test_override_api(escalated, officer_client, agent):
    url = "/overrides/execute"
    base = {"decision_id": str(escalated.decision.pk), "justification": JUSTIFICATION}
    before = snapshot()
    short = post(
        officer_client, url, {**base, "override_type": "risk_accepted", "justification": "short"}
    )
    assert short.status_code == 400
    unknown = post(officer_client, url, {**base, "override_type": "because_i_can"})
    assert unknown.status_code == 400
    deny_bypass = post(
        officer_client, url, {**base, "override_type": "emergency_bypass", "outcome": "denied"}
    )
    assert deny_bypass.status_code == 400
    assert snapshot() == before
    response = post(officer_client, url, {**base, "override_type": "emergency_bypass"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["outcome"], body["previous_outcome"], body["executed_by"]) == (
        "allowed",
        "escalated",
        "olivia",
    )
    detail = agent.get(f"/decisions/{escalated.decision.pk}").json()
    assert (detail["outcome"], detail["status"]) == ("allowed", "overridden")
    assert detail["override"]["override_type"] == "emergency_bypass"
    assert detail["capability_token"] == body["capability_token"]
    assert detail["original_outcome"] == "escalated"
    second = post(
        officer_client,
        url,
        {
            **base,
            "override_type": "emergency_bypass",
            "expires_at": (timezone.now() + timedelta(hours=1)).isoformat(),
        },
    )
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "emergency_bypass_used"
    assert Override.objects.count() == 1


def test_override_of_unknown_decision_is_404(officer_client):
    response = post(
        officer_client,
        "/overrides/execute",
        {
            "decision_id": "00000000-0000-4000-8000-000000000000",
            "override_type": "risk_accepted",
            "justification": JUSTIFICATION,
        },
    )
    assert response.status_code == 404


def test_reviewer_cannot_override(escalated, reviewer_client):
    before = snapshot()
    response = post(
        reviewer_client,
        "/overrides/execute",
        {
            "decision_id": str(escalated.decision.pk),
            "override_type": "risk_accepted",
            "justification": JUSTIFICATION,
        },
    )
    assert response.status_code == 403
    assert snapshot() == before


def test_responsibility_chain_api(assigned, reviewer_client, staff, as_user):
    url = f"/escalations/{assigned.escalation.pk}"
    post(reviewer_client, f"{url}/acknowledge")
    post(reviewer_client, f"{url}/resolve", {"resolution": "denied", "note": NOTE})
    chain = reviewer_client.get(f"/responsibility/{assigned.decision.pk}")
    assert chain.status_code == 200
    levels = [(c["level"], c["who"], c["human_decision"]) for c in chain.json()["chain"]]
    assert levels[0][0] == "automated"
    assert levels[1] == ("supervised", "rita", "denied")
    stranger = as_user(staff("sam", "reviewer"))
    assert stranger.get(f"/responsibility/{assigned.decision.pk}").status_code == 404


def test_stop_api(agent, escalated, officer_client, reviewer_client):
    allowed = decide(agent, DEMO)
    hidden = post(
        reviewer_client, f"/decisions/{escalated.decision.pk}/stop", {"reason": "stop it now"}
    )
    assert hidden.status_code == 404
    response = post(
        officer_client, f"/decisions/{escalated.decision.pk}/stop", {"reason": "stop it now please"}
    )
    assert response.status_code == 201
    token = allowed["capability_token"]
    verify = agent.post("/decide/verify", {"capability_token": token}, format="json").json()
    assert (verify["valid"], verify["reason"]) == (False, "revoked")
    assert (
        response.json()["ledger_entry_id"]
        == LedgerEntry.objects.get(entry_type="agent.stopped").seq
    )


def test_escalation_state_is_unchanged_by_refusals(assigned, reviewer_client):
    escalation_before = Escalation.objects.values().get(pk=assigned.escalation.pk)
    post(
        reviewer_client,
        f"/escalations/{assigned.escalation.pk}/resolve",
        {"resolution": "approved", "note": NOTE},
    )
    assert Escalation.objects.values().get(pk=assigned.escalation.pk) == escalation_before


def test_staff_escalates_a_decision_for_a_second_look(agent, officer_client, officer):
    answer = decide(agent, DEMO)
    response = post(
        officer_client,
        "/escalations/create",
        {
            "decision_id": answer["decision_id"],
            "reason": "Complaint received; re-check.",
            "priority": "high",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["priority"], body["escalated_by"]) == ("high", f"user:{officer.pk}")
    assert body["seconds_left"] == pytest.approx(8 * 3600, abs=5)
    denied = decide(agent, {**DEMO, "action": "delete_customer_data"})
    refused = post(
        officer_client,
        "/escalations/create",
        {"decision_id": denied["decision_id"], "reason": "Please reconsider this one."},
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "not_escalatable"


def test_expired_escalation_reads_as_denied(critical, agent, time_machine):
    time_machine.move_to(critical.escalation.sla_deadline + timedelta(seconds=1))
    services.escalation_check_sla()
    detail = agent.get(f"/decisions/{critical.decision.pk}").json()
    assert (detail["outcome"], detail["status"], detail["capability_token"]) == (
        "denied",
        "final",
        None,
    )
    assert detail["escalation"]["status"] == "expired"


# --- Revoking tokens minted by humans ----------------------------------------------------------


def _verify(agent, token: str) -> dict:
    return agent.post("/decide/verify", {"capability_token": token}, format="json").json()


def test_approval_and_override_tokens_are_revocable_by_jti(assigned, reviewer, officer, agent):
    """POST /tokens/revoke finds tokens minted by an approved escalation and by an override, not
    only those /decide minted; another agent's key still cannot revoke them."""
    services.escalation_acknowledge(escalation_id=assigned.escalation.pk, user=reviewer)
    services.escalation_resolve(
        escalation_id=assigned.escalation.pk, user=reviewer, resolution="approved", note=NOTE
    )
    approval = Escalation.objects.get(pk=assigned.escalation.pk)
    override = services.override_execute(
        decision=assigned.decision,
        user=officer,
        override_type="risk_accepted",
        justification=JUSTIFICATION,
    )
    for token, jti in (
        (approval.capability_token, approval.token_jti),
        (override.capability_token, override.token_jti),
    ):
        assert _verify(agent, token)["valid"] is True
        before = LedgerEntry.objects.filter(entry_type="token.revoked").count()
        response = agent.post(
            "/tokens/revoke", {"jti": jti, "reason": "human-minted, now withdrawn"}, format="json"
        )
        assert response.status_code == 200, response.content
        assert response.json()["jti"] == jti
        assert LedgerEntry.objects.filter(entry_type="token.revoked").count() == before + 1
        assert _verify(agent, token)["reason"] == "revoked"


def test_other_agents_cannot_revoke_human_minted_tokens(assigned, reviewer, agent_client):
    services.escalation_acknowledge(escalation_id=assigned.escalation.pk, user=reviewer)
    services.escalation_resolve(
        escalation_id=assigned.escalation.pk, user=reviewer, resolution="approved", note=NOTE
    )
    approval = Escalation.objects.get(pk=assigned.escalation.pk)
    stranger = agent_client("decide")
    response = stranger.post(
        "/tokens/revoke", {"jti": approval.token_jti, "reason": "not mine"}, format="json"
    )
    assert response.status_code == 403
    assert not LedgerEntry.objects.filter(entry_type="token.revoked").exists()
