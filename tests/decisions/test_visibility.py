"""One visibility rule per object (issue 15 §2): API, pages, selectors and the admin agree."""

from __future__ import annotations

import pytest

from apps.decisions.models import Decision, ResponsibilityRecord
from apps.escalations import services as oversight
from apps.escalations.models import Escalation
from apps.risk.models import RiskAssessment
from tests.escalations.conftest import REFUND, decide


@pytest.fixture
def two_escalations(agent):
    return [decide(agent, REFUND) for _ in range(2)]


def test_a_reviewer_opens_only_assigned_decisions_in_the_admin(two_escalations, staff, as_user):
    officer, reviewer = staff("olga", "compliance_officer"), staff("rita", "reviewer")
    mine, other = two_escalations
    oversight.escalation_assign(
        escalation_id=mine["escalation_id"], user=officer, reviewer_username="rita"
    )
    client = as_user(reviewer)
    assert client.get(f"/admin/decisions/decision/{mine['decision_id']}/change/").status_code == 200
    # Before the rule reached the admin this answered 200 with actor, action, reasons and key.
    page = client.get(f"/admin/decisions/decision/{other['decision_id']}/change/")
    assert page.status_code == 302
    listing = client.get("/admin/decisions/decision/").content.decode()
    assert f"/admin/decisions/decision/{other['decision_id']}/change/" not in listing
    assert f"/admin/decisions/decision/{mine['decision_id']}/change/" in listing
    listed = client.get("/admin/decisions/responsibilityrecord/").content.decode()
    assert other["decision_id"] not in listed
    # The pages and the API give the same answer.
    assert client.get(f"/oversight/decisions/{other['decision_id']}/").status_code == 404
    assert client.get(f"/decisions/{other['decision_id']}").status_code == 404
    assert client.get(f"/decisions/{mine['decision_id']}").status_code == 200
    ids = {item["decision_id"] for item in client.get("/decisions").json()["decisions"]}
    assert ids == {mine["decision_id"]}


def test_the_rule_in_one_place(two_escalations, staff):
    officer, reviewer, auditor = (
        staff("olga", "compliance_officer"),
        staff("rita", "reviewer"),
        staff("aud", "auditor"),
    )
    mine, _ = two_escalations
    oversight.escalation_assign(
        escalation_id=mine["escalation_id"], user=officer, reviewer_username="rita"
    )
    assert Decision.objects.visible_to(officer).count() == 2
    assert Decision.objects.visible_to(auditor).count() == 2
    assert list(Decision.objects.visible_to(reviewer).values_list("pk", flat=True)) == [
        Decision.objects.get(pk=mine["decision_id"]).pk
    ]
    assert Escalation.objects.visible_to(reviewer).count() == 1
    assert Escalation.objects.visible_to(auditor).count() == 2
    assert ResponsibilityRecord.objects.visible_to(reviewer).count() == 1


def test_an_agent_reads_only_its_own_risk_assessments(agent_client):
    owner, stranger = agent_client("decide"), agent_client("decide")
    body = {"actor": "ai_agent:x", "action": "read", "dimensions": {"security": 90}}
    created = owner.post("/risks/assess", body, format="json")
    assert created.status_code == 201, created.content
    assessment_id = created.json()["id"]
    assert owner.get(f"/risks/{assessment_id}").status_code == 200
    # Before: another agent key read it (200).
    refused = stranger.get(f"/risks/{assessment_id}")
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "not_found"
    assert RiskAssessment.objects.get(pk=assessment_id).agent_key is not None
