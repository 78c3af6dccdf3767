"""Art. 9 summary: risk by level and dimension, top sources, rates and open mitigations, checked
against figures worked out by hand from the decisions each test makes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.escalations import services as oversight
from tests.monitoring.conftest import OTHER, REFUND, SYSTEM, agent_api, api_client, decide

URL = "/compliance/eu-ai-act/article-9/summary"
JUSTIFICATION = "Accepted for the pilot: the DPO signed off the residual privacy risk."

LOW = (20.0, "low", {"privacy": 20.0})
HIGH = (70.0, "high", {"privacy": 80.0, "compliance": 90.0})
CRITICAL = (85.0, "critical", {"financial": 85.0})


@pytest.fixture
def decided(system, key, officer):
    """Six decisions of the system in the period — three allowed (low), two denied (high), one
    escalated (critical) — plus one of another system and one made 60 days ago."""
    made = {
        "allowed": [decide(key, "read_ticket", data_classes=("pii",), risk=LOW) for _ in range(3)],
        "denied": [
            decide(key, "delete_customer_data", data_classes=("pii",), risk=HIGH) for _ in range(2)
        ],
        "escalated": [
            decide(key, "issue_refund", context=REFUND, data_classes=("payment",), risk=CRITICAL)
        ],
    }
    decide(key, "delete_customer_data", ai_system=OTHER, risk=HIGH)
    decide(key, "delete_customer_data", at=timezone.now() - timedelta(days=60), risk=HIGH)
    return made


def summary(client, **params):
    now = timezone.now()
    query = {"ai_system": SYSTEM, "from": (now - timedelta(days=1)).isoformat(), **params}
    query["to"] = (now + timedelta(minutes=5)).isoformat()
    response = client.get(URL, query)
    assert response.status_code == 200, response.content
    return response.json()


def test_risk_distribution_rates_and_sources_are_the_hand_computed_ones(decided, officer):
    body = summary(api_client(officer))
    assert body["ai_system"] == SYSTEM
    assert body["registered"] is True
    assert body["decisions"] == {"total": 6, "allowed": 3, "denied": 2, "escalated": 1}
    assert body["rates"] == {"denial_rate": 0.3333, "escalation_rate": 0.1667}
    risk = body["risk"]
    assert risk["by_level"] == {"low": 3, "medium": 0, "high": 2, "critical": 1}
    assert risk["mean_score"] == 47.5  # (3x20 + 2x70 + 85) / 6
    assert risk["high_or_critical_share"] == 0.5
    dims = risk["by_dimension"]
    assert dims["privacy"] == {
        "decisions": 5,
        "mean": 44.0,  # (3x20 + 2x80) / 5
        "max": 80.0,
        "by_level": {"low": 3, "medium": 0, "high": 0, "critical": 2},
    }
    assert dims["compliance"]["decisions"] == 2
    assert dims["compliance"]["mean"] == 90.0
    assert dims["financial"]["by_level"] == {"low": 0, "medium": 0, "high": 0, "critical": 1}
    assert dims["security"] == {
        "decisions": 0,
        "mean": None,
        "max": None,
        "by_level": {"low": 0, "medium": 0, "high": 0, "critical": 0},
    }

    sources = body["top_risk_sources"]
    # Flagged decisions: the two denials and the escalation (the allowed ones are low risk).
    assert sources["actors"] == [
        {
            "id": "ai_agent:customer_service",
            "decisions": 3,
            "denied": 2,
            "escalated": 1,
            "high_or_critical": 3,
            "mean_risk_score": 75.0,  # (70 + 70 + 85) / 3
        }
    ]
    assert sources["data_classes"] == [
        {
            "id": "pii",
            "decisions": 2,
            "denied": 2,
            "escalated": 0,
            "high_or_critical": 2,
            "mean_risk_score": 70.0,
        },
        {
            "id": "payment",
            "decisions": 1,
            "denied": 0,
            "escalated": 1,
            "high_or_critical": 1,
            "mean_risk_score": 85.0,
        },
    ]
    assert sources["rules"][0] == {
        "id": "cs-no-deletion",
        "decisions": 2,
        "denied": 2,
        "escalated": 0,
        "high_or_critical": 2,
        "mean_risk_score": 70.0,
    }
    escalated_rules = {r["rule_id"] for r in decided["escalated"][0].reasons}
    assert {row["id"] for row in sources["rules"][1:]} == escalated_rules
    assert body["open_mitigations"] == {"count": 0, "items": [], "not_shown": 0}
    assert "standalone_assessments" not in body


def test_figures_follow_the_data(decided, key, officer):
    client = api_client(officer)
    assert summary(client)["decisions"]["total"] == 6
    decide(key, "delete_customer_data", data_classes=("pii",), risk=HIGH)
    body = summary(client)
    assert body["decisions"] == {"total": 7, "allowed": 3, "denied": 3, "escalated": 1}
    assert body["rates"]["denial_rate"] == 0.4286
    assert body["top_risk_sources"]["data_classes"][0]["decisions"] == 3


def test_without_a_system_every_decision_of_the_period_counts(decided, officer):
    body = summary(api_client(officer), ai_system="")
    # The six, the other system's one; not the one 60 days ago.
    assert body["decisions"]["total"] == 7
    assert body["ai_system"] is None
    assert body["standalone_assessments"] == {
        "total": 0,
        "by_level": {"low": 0, "medium": 0, "high": 0, "critical": 0},
    }


def test_open_mitigations_are_accepted_risks_with_who_and_why(decided, officer, staff_user):
    denied = decided["denied"][0]
    override = oversight.override_execute(
        decision=denied, user=officer, override_type="risk_accepted", justification=JUSTIFICATION
    )
    body = summary(api_client(officer))
    mitigations = body["open_mitigations"]
    assert mitigations["count"] == 1
    assert mitigations["not_shown"] == 0
    (item,) = mitigations["items"]
    assert item["override_id"] == str(override.pk)
    assert item["decision_id"] == str(denied.pk)
    assert item["accepted_by"] == f"user:{officer.pk}"
    assert item["role"] == "compliance_officer"
    assert item["justification"] == JUSTIFICATION
    assert item["previous_outcome"] == "denied"
    assert item["risk_level"] == "high"
    assert item["ledger_entry_id"] == override.ledger_seq

    # An agent reads the count, not the justification of a decision it cannot see.
    agent_view = summary(agent_api("compliance:read"))["open_mitigations"]
    assert agent_view == {"count": 1, "items": [], "not_shown": 1}

    # A later override of the same decision replaces the acceptance: nothing is open any more.
    oversight.override_execute(
        decision=denied,
        user=staff_user("admin", "ada"),
        override_type="executive_override",
        outcome="denied",
        justification=JUSTIFICATION,
    )
    assert summary(api_client(officer))["open_mitigations"]["count"] == 0


@pytest.mark.parametrize(
    ("_case", "params", "field"),
    [
        ("bad from", {"from": "yesterday"}, "from"),
        ("reversed", {"from": "2026-02-01", "to": "2026-01-01"}, "from"),
        ("too long", {"from": "2000-01-01", "to": "2026-01-01"}, "from"),
    ],
)
def test_a_bad_period_is_400(system, officer, _case, params, field):
    response = api_client(officer).get(URL, {"ai_system": SYSTEM, **params})
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]


def test_dates_cover_whole_days(system, key, officer):
    decide(key, "read_ticket", risk=LOW)
    today = timezone.now().date().isoformat()
    response = api_client(officer).get(URL, {"ai_system": SYSTEM, "from": today, "to": today})
    body = response.json()
    assert body["decisions"]["total"] == 1
    assert body["window"]["from"].endswith("T00:00:00Z")
    assert (
        body["window"]["to"]
        == (timezone.now().date() + timedelta(days=1)).isoformat() + "T00:00:00Z"
    )


@pytest.mark.parametrize(
    ("_case", "who", "status"),
    [
        ("agent without scope", "agent_decide", 403),
        ("agent with compliance:read", "agent_read", 200),
        ("auditor", "auditor", 200),
        # Issue 19: reviewers no longer hold view_dashboard; compliance reads are not theirs.
        ("reviewer", "reviewer", 403),
        ("anonymous", "anonymous", 403),
    ],
)
def test_who_may_read(system, staff_user, _case, who, status):
    from rest_framework.test import APIClient

    clients = {
        "agent_decide": lambda: agent_api("decide"),
        "agent_read": lambda: agent_api("compliance:read"),
        "auditor": lambda: api_client(staff_user("auditor")),
        "reviewer": lambda: api_client(staff_user("reviewer")),
        "anonymous": APIClient,
    }
    response = clients[who]().get(URL, {"ai_system": SYSTEM})
    assert response.status_code in ((401, 403) if status == 403 else (status,)), response.content
