"""A small world of decisions made through the real ``/decide`` pipeline, and what the database
says about it (the figures the dashboard must show)."""

from __future__ import annotations

from collections import Counter

import pytest

from apps.decisions.models import Decision
from tests.escalations.conftest import CRITICAL, REFUND, decide

ALLOWED = {
    "actor": "ai_agent:customer_service",
    "action": "access_customer_data",
    "context": {"purpose": "support_ticket", "data_sensitivity": "high"},
    "ai_system": "support-bot",
}
DENIED = {"actor": "ai_agent:customer_service", "action": "delete_customer_data"}
RISKY = {**CRITICAL, "data_classes": ["customer_pii"]}


@pytest.fixture
def world(agent):
    """3 allowed (named AI system), 2 denied, 1 escalated refund, 1 critical escalation."""
    answers = [decide(agent, ALLOWED) for _ in range(3)]
    answers += [decide(agent, DENIED) for _ in range(2)]
    answers.append(decide(agent, REFUND))
    answers.append(decide(agent, RISKY))
    return answers


def db_outcomes(**filters) -> Counter[str]:
    return Counter(Decision.objects.filter(**filters).values_list("outcome", flat=True))


def db_levels(**filters) -> Counter[str]:
    return Counter(Decision.objects.filter(**filters).values_list("risk_level", flat=True))


@pytest.fixture(autouse=True)
def _fresh_dashboard_cache():
    """The compliance posture is reused for a minute (``selectors.COMPLIANCE_TTL``): not across
    tests."""
    from django.core.cache import cache

    cache.delete("dashboard:compliance")
    yield
    cache.delete("dashboard:compliance")
