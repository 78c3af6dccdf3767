"""Selectors: who sees which escalation, and the minimised context of the reviewer screen."""

from __future__ import annotations

import json

import pytest

from apps.core.exceptions import NotFound
from apps.decisions import records
from apps.escalations import selectors
from tests.conftest import DEMO
from tests.escalations.conftest import decide

pytestmark = pytest.mark.django_db


# --- Visibility -------------------------------------------------------------------------------


def test_reviewer_sees_only_assigned(agent, assigned, reviewer, officer, staff):
    other = decide(agent, {**DEMO, "action": "close_account"})
    assert other["outcome"] == "escalated"
    auditor = staff("audrey", "auditor")
    assert list(selectors.escalation_list(user=reviewer)) == [assigned.escalation]
    assert selectors.escalation_list(user=officer).count() == 2
    assert selectors.escalation_list(user=auditor).count() == 2
    with pytest.raises(NotFound):
        selectors.escalation_get(user=reviewer, escalation_id=other["escalation_id"])
    assert selectors.escalation_can_act(user=reviewer, escalation=assigned.escalation)
    assert not selectors.escalation_can_act(user=auditor, escalation=assigned.escalation)


# --- Minimised context ------------------------------------------------------------------------


def test_minimised_context_hides_personal_data():
    rows = selectors.minimised_context(
        {
            "amount": 5000,
            "currency": "EUR",
            "customer_email": "jane@example.org",
            "customerName": "Jane Doe",
            "phone": "+44 20 7946 0000",
            "comment": "Jane called twice about this",
            "billing": {"address": "1 Main St", "country": "GB"},
            "vip": True,
            "order_ref": "1234567890",
        }
    )
    by_key = {row["key"]: row for row in rows}
    assert by_key["amount"] == {"key": "amount", "value": "5000", "hidden": False}
    assert by_key["currency"]["value"] == "EUR"
    assert by_key["vip"]["value"] == "true"
    assert by_key["billing.country"]["value"] == "GB"
    for key in (
        "customer_email",
        "customerName",
        "phone",
        "comment",
        "billing.address",
        "order_ref",
    ):
        assert by_key[key]["hidden"] is True, key
    text = json.dumps(rows)
    for secret in ("jane@example.org", "Jane Doe", "7946", "Main St", "1234567890", "called"):
        assert secret not in text


def test_engine_recommendation_for_escalations(agent):
    refund = decide(
        agent, {"actor": DEMO["actor"], "action": "issue_refund", "context": {"amount": 900}}
    )
    risky = decide(
        agent, {**DEMO, "risk_dimensions": {"security": 95, "privacy": 95, "operational": 95}}
    )
    model = selectors.Escalation._meta.get_field("decision").related_model
    # Strict policy, no permit for refunds above 500: without a human the engine would deny.
    assert records.engine_recommendation(model.objects.get(pk=refund["decision_id"])) == "denied"
    # Permitted but risky (auto-escalation): the engine would have allowed.
    assert records.engine_recommendation(model.objects.get(pk=risky["decision_id"])) == "allowed"
