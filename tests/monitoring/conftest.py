"""Monitoring fixtures: a registered AI system, decisions made through the real pipeline and
placed in time, staff per role, and counts of everything a write may leave behind."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.aisystems import services as registry
from apps.decisions.models import Decision, ResponsibilityRecord
from apps.decisions.services import DecideRequest, decision_make
from apps.escalations.models import Escalation
from apps.ledger.models import LedgerEntry
from apps.monitoring.models import DriftAlert, Intervention, PMMPlan, PMMPlanChange
from tests.conftest import verify_session
from tests.factories import AgentKeyFactory

SYSTEM = "cv-screening"
OTHER = "support-bot"
REFUND = {"amount": 5000}  # escalated by the demo policy (engine recommendation: denied)
REASON = "Checked the applicant's file by hand; the model missed the expired permit."


def register(system_id: str, *, owner: Any, principal: Any) -> Any:
    return registry.ai_system_register(
        principal=principal,
        system_id=system_id,
        name=system_id.replace("-", " ").title(),
        version="1.0",
        role="deployer",
        intended_purpose="Ranks job applications against the published requirements.",
        annex_iii_point="4(a)",
        risk_class="high",
        owner=owner,
        status="active",
    )


@pytest.fixture
def staff_user(make_user):
    """``staff_user(role, username)`` → a user with a verified TOTP device and an e-mail."""

    def _make(role: str, username: str | None = None):
        user = make_user(username or f"u_{role}", role)
        user.email = f"{user.username}@example.org"
        user.save(update_fields=["email"])
        return user

    return _make


@pytest.fixture
def officer(staff_user):
    return staff_user("compliance_officer", "olga")


@pytest.fixture
def system(demo_policy, officer):
    """The CV screening system, owned by the officer; the demo policy active."""
    return register(SYSTEM, owner=officer, principal=officer)


@pytest.fixture
def key(db):
    return AgentKeyFactory(scopes=("decide",))


def decide(
    key: Any,
    action: str,
    *,
    ai_system: str = SYSTEM,
    context: dict | None = None,
    data_classes: tuple[str, ...] = (),
    at: datetime | None = None,
    risk: tuple[float, str, dict] | None = None,
    actor: str = "ai_agent:customer_service",
) -> Decision:
    """One decision through ``decision_make`` (ledgered, with its record and escalation), then
    — test data only — moved to ``at`` and given the risk ``(score, level, dimensions)``."""
    made = decision_make(
        request=DecideRequest(
            actor=actor,
            action=action,
            context=context or {},
            data_classes=data_classes,
            ai_system=ai_system,
        ),
        agent_key=key,
    )
    decision = made.decision
    changes: dict[str, Any] = {}
    if at is not None:
        changes["created_at"] = at
        Escalation.objects.filter(decision=decision).update(created_at=at)
    if risk is not None:
        changes.update(risk_score=risk[0], risk_level=risk[1], risk_dimensions=risk[2])
    if changes:
        Decision.objects.filter(pk=decision.pk).update(**changes)
        decision.refresh_from_db()
    return decision


def api_client(user) -> APIClient:
    client = APIClient()
    verify_session(client, user)
    client.user = user
    return client


def agent_api(*scopes: str) -> APIClient:
    agent_key = AgentKeyFactory(scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {agent_key.raw_key}")
    return client


def snapshot() -> dict[str, int]:
    """Counts of every row a monitoring write may add (genesis entry left out)."""
    return {
        "ledger": LedgerEntry.objects.exclude(entry_type="ledger.genesis").count(),
        "interventions": Intervention.objects.count(),
        "records": ResponsibilityRecord.objects.count(),
        "plans": PMMPlan.objects.count(),
        "live_plans": PMMPlan.objects.filter(deleted_at__isnull=True).count(),
        "plan_changes": PMMPlanChange.objects.count(),
        "alerts": DriftAlert.objects.count(),
    }


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]
