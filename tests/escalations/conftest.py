"""Oversight fixtures: escalated decisions made through the real ``/decide`` pipeline, staff per role,
and helpers to count what a request wrote (rows and ledger entries)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group, Permission

from apps.accounts.constants import ROLE_PERMISSIONS
from apps.decisions.models import Decision, ResponsibilityRecord
from apps.escalations import services
from apps.escalations.models import (
    AgentStop,
    Escalation,
    EscalationApproval,
    EscalationAssignment,
    Override,
)
from apps.ledger.models import LedgerEntry
from apps.tokens.models import RevokedToken
from tests.conftest import DEMO
from tests.ledger.conftest import ledger_transactional_db  # noqa: F401  (re-exported fixture)

REFUND = {
    "actor": "ai_agent:customer_service",
    "action": "issue_refund",
    "context": {"amount": 5000},
}
CRITICAL = {
    **DEMO,
    "risk_dimensions": {"security": 95, "privacy": 95, "operational": 95, "reputational": 95},
}
NOTE = "Checked the invoice and the customer history; fine."
JUSTIFICATION = "Production incident INC-4711; the CFO approved by phone."


@dataclass(frozen=True)
class Escalated:
    decision: Decision
    escalation: Escalation
    body: dict


def decide(agent, body: dict) -> dict:
    response = agent.post("/decide", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def escalate_via_decide(agent, body: dict = REFUND) -> Escalated:
    answer = decide(agent, body)
    assert answer["outcome"] == "escalated", answer
    escalation = Escalation.objects.get(pk=answer["escalation_id"])
    return Escalated(escalation.decision, escalation, answer)


def snapshot() -> dict[str, int]:
    """Row counts of everything an oversight request may write."""
    return {
        "ledger": LedgerEntry.objects.count(),
        "assignments": EscalationAssignment.objects.count(),
        "approvals": EscalationApproval.objects.count(),
        "overrides": Override.objects.count(),
        "responsibility": ResponsibilityRecord.objects.count(),
        "stops": AgentStop.objects.count(),
        "revoked": RevokedToken.objects.count(),
        "escalations": Escalation.objects.count(),
        "acknowledged": Escalation.objects.exclude(acknowledged_at=None).count(),
        "final": Escalation.objects.filter(status__in=["resolved", "expired"]).count(),
    }


def ensure_roles() -> None:
    """Recreate the role groups and their permissions (a ``transactional_db`` flush removes the
    groups the accounts data migration made)."""
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(
            Permission.objects.filter(content_type__app_label="accounts", codename__in=codenames)
        )


@pytest.fixture
def escalated(agent) -> Escalated:
    """A pending, medium-priority escalation (refund of 5000 under the demo policy)."""
    return escalate_via_decide(agent, REFUND)


@pytest.fixture
def critical(agent) -> Escalated:
    """A pending, critical-priority escalation (risk ≥ 80 auto-escalation): four-eyes applies."""
    return escalate_via_decide(agent, CRITICAL)


# Shared by the service, selector and view tests: an officer, a reviewer "rita", and an
# escalation assigned to her.
@pytest.fixture
def officer(staff):
    return staff("olivia", "compliance_officer")


@pytest.fixture
def reviewer(staff):
    return staff("rita", "reviewer")


@pytest.fixture
def assigned(escalated, officer, reviewer):
    services.escalation_assign(
        escalation_id=escalated.escalation.pk, user=officer, reviewer_username="rita"
    )
    return escalated
