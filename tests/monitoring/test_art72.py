"""Art. 72: plans (CRUD, permissions, CSRF, bad input), the report against a hand-computed
fixture, and drift alerts that fire once per breach, ledgered and e-mailed to the owners."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from apps.escalations import services as oversight
from apps.escalations.models import Escalation
from apps.ledger.models import LedgerEntry
from apps.monitoring import services
from apps.monitoring.models import DriftAlert, PMMPlan, PMMPlanChange
from tests.conftest import verify_session
from tests.monitoring.conftest import (
    REFUND,
    SYSTEM,
    agent_api,
    api_client,
    assert_error,
    decide,
    register,
    snapshot,
)

PLANS = "/compliance/eu-ai-act/article-72/plans"
REPORT = "/compliance/eu-ai-act/article-72/report"
LOW = (20.0, "low", {"privacy": 20.0})
HIGH = (70.0, "high", {"privacy": 80.0})
CRITICAL = (85.0, "critical", {"financial": 85.0})


def plan_url(plan_id) -> str:
    return f"{PLANS}/{plan_id}"


@pytest.fixture
def plan_owner(staff_user):
    return staff_user("compliance_officer", "pete")


def plan_body(plan_owner, **changes):
    body = {
        "ai_system": SYSTEM,
        "owner": f"user:{plan_owner.pk}",
        "window_days": 7,
        "min_decisions": 1,
        "metrics": [
            {"metric": "deny_rate", "threshold": 0.2, "direction": "up"},
            {"metric": "escalation_rate", "threshold": 0.5},
            {"metric": "override_rate", "threshold": 0.3, "direction": "up"},
            {"metric": "high_risk_share", "threshold": 0.5, "direction": "either"},
            {"metric": "sla_breaches", "threshold": 0, "direction": "up"},
        ],
        "description": "Weekly review of denials and SLA breaches by the HR compliance lead.",
    }
    body.update(changes)
    return body


@pytest.fixture
def plan(system, officer, plan_owner):
    response = api_client(officer).post(PLANS, plan_body(plan_owner), format="json")
    assert response.status_code == 201, response.content
    return response.json()


# --- Plans ----------------------------------------------------------------------------------


def test_an_officer_creates_a_plan_and_the_ledger_records_it(system, officer, plan_owner):
    before = snapshot()
    response = api_client(officer).post(PLANS, plan_body(plan_owner), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["ai_system"] == SYSTEM
    assert body["owner"] == f"user:{plan_owner.pk}"
    assert body["metrics"][1] == {
        "metric": "escalation_rate",
        "threshold": 0.5,
        "direction": "either",
    }
    assert snapshot() == {
        **before,
        "ledger": before["ledger"] + 1,
        "plans": 1,
        "live_plans": 1,
        "plan_changes": 1,
    }
    (seq,) = body["ledger_entry_ids"]
    entry = LedgerEntry.objects.get(seq=seq)
    payload = json.loads(entry.payload)
    assert entry.entry_type == "pmm_plan.created"
    assert payload["plan_id"] == body["id"]
    assert payload["window_days"] == 7
    assert payload["metrics"] == body["metrics"]
    assert "HR compliance lead" not in entry.payload  # the description only as a commitment
    assert payload["description_commitment"]


def test_a_second_live_plan_is_409_and_writes_nothing(plan, officer, plan_owner):
    before = snapshot()
    response = api_client(officer).post(PLANS, plan_body(plan_owner), format="json")
    assert_error(response, 409, "conflict")
    assert snapshot() == before


@pytest.mark.parametrize(
    ("_case", "changes", "field"),
    [
        ("unknown metric", {"metrics": [{"metric": "accuracy", "threshold": 1}]}, "metrics"),
        ("negative threshold", {"metrics": [{"metric": "deny_rate", "threshold": -1}]}, "metrics"),
        ("threshold as text", {"metrics": [{"metric": "deny_rate", "threshold": "1"}]}, "metrics"),
        (
            "twice the same metric",
            {"metrics": [{"metric": "deny_rate", "threshold": 1}] * 2},
            "metrics",
        ),
        ("no metric", {"metrics": []}, "metrics"),
        (
            "negative incident threshold",
            {"metrics": [{"metric": "incidents", "threshold": -1}]},
            "metrics",
        ),
        ("zero-day window", {"window_days": 0}, "window_days"),
        ("window over a year", {"window_days": 366}, "window_days"),
        ("unregistered system", {"ai_system": "nope"}, "ai_system"),
        ("bad system id", {"ai_system": "Not An Id"}, "ai_system"),
        ("unknown owner", {"owner": "user:999999"}, "owner"),
        ("owner by name", {"owner": "pete"}, "owner"),
        ("unknown field", {"severity": 1}, "severity"),
        ("description with NUL", {"description": "a\x00b"}, "description"),
    ],
)
def test_bad_plans_are_400_and_write_nothing(system, officer, plan_owner, _case, changes, field):
    before = snapshot()
    response = api_client(officer).post(PLANS, plan_body(plan_owner, **changes), format="json")
    error = assert_error(response, 400)
    assert field in error["details"], error
    assert snapshot() == before


@pytest.mark.parametrize(
    ("_case", "role", "status"),
    [("admin", "admin", 201), ("reviewer", "reviewer", 403), ("auditor", "auditor", 403)],
)
def test_plan_permissions_per_role(system, staff_user, plan_owner, _case, role, status):
    before = snapshot()
    response = api_client(staff_user(role)).post(PLANS, plan_body(plan_owner), format="json")
    assert response.status_code == status, response.content
    if status == 403:
        assert_error(response, 403, "permission_denied")
        assert snapshot() == before


@pytest.mark.parametrize("role", ["reviewer", "auditor"])
def test_only_plan_managers_change_or_delete_a_plan(plan, staff_user, role):
    client = api_client(staff_user(role))
    before = snapshot()
    assert_error(
        client.patch(plan_url(plan["id"]), {"window_days": 3}, format="json"),
        403,
        "permission_denied",
    )
    assert_error(client.delete(plan_url(plan["id"])), 403, "permission_denied")
    assert snapshot() == before
    if role == "auditor":
        assert client.get(plan_url(plan["id"])).json()["window_days"] == 7  # reading is allowed
    else:  # issue 19: reviewers no longer read compliance data (no view_dashboard)
        assert_error(client.get(plan_url(plan["id"])), 403, "permission_denied")


def test_an_unknown_plan_is_404_for_every_method(system, officer):
    client = api_client(officer)
    url = plan_url("00000000-0000-4000-8000-000000000000")
    before = snapshot()
    assert_error(client.get(url), 404, "not_found")
    assert_error(client.patch(url, {"window_days": 3}, format="json"), 404, "not_found")
    assert_error(client.delete(url), 404, "not_found")
    assert snapshot() == before


def test_agents_read_plans_but_never_write_them(plan, plan_owner):
    before = snapshot()
    writer = agent_api("policies:write", "compliance:read")
    assert writer.post(PLANS, plan_body(plan_owner), format="json").status_code == 403
    assert writer.patch(plan_url(plan["id"]), {"window_days": 3}, format="json").status_code == 403
    assert writer.delete(plan_url(plan["id"])).status_code == 403
    assert snapshot() == before
    reader = agent_api("compliance:read")
    assert reader.get(plan_url(plan["id"])).json()["id"] == plan["id"]
    assert [p["id"] for p in reader.get(PLANS, {"ai_system": SYSTEM}).json()["plans"]] == [
        plan["id"]
    ]
    assert agent_api("decide").get(PLANS).status_code == 403


def test_every_plan_write_needs_the_csrf_token(plan, officer, plan_owner):
    client = verify_session(Client(enforce_csrf_checks=True), officer)
    before = snapshot()
    for method, url, data in (
        ("post", PLANS, plan_body(plan_owner)),
        ("patch", plan_url(plan["id"]), {"window_days": 3}),
        ("delete", plan_url(plan["id"]), None),
    ):
        kwargs = {"content_type": "application/json"}
        if data is not None:
            kwargs["data"] = json.dumps(data)
        response = getattr(client, method)(url, **kwargs)
        error = assert_error(response, 403, "permission_denied")
        assert "CSRF" in error["message"], method
    assert snapshot() == before


def test_a_change_is_one_entry_naming_what_changed(plan, officer):
    client = api_client(officer)
    before = snapshot()
    response = client.patch(
        plan_url(plan["id"]),
        {"window_days": 14, "metrics": [{"metric": "deny_rate", "threshold": 0.1}]},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["window_days"] == 14
    assert body["metrics"] == [{"metric": "deny_rate", "threshold": 0.1, "direction": "either"}]
    assert snapshot()["ledger"] == before["ledger"] + 1
    entry = LedgerEntry.objects.get(seq=body["ledger_entry_ids"][-1])
    assert entry.entry_type == "pmm_plan.updated"
    assert json.loads(entry.payload)["changed"] == ["window_days", "metrics"]
    # The same values again change nothing and write nothing.
    unchanged = snapshot()
    again = client.patch(plan_url(plan["id"]), {"window_days": 14}, format="json")
    assert again.status_code == 200
    assert snapshot() == unchanged


@pytest.mark.parametrize(
    ("_case", "patch", "status"),
    [
        ("system cannot change", {"ai_system": "other"}, 400),
        ("owner null", {"owner": None}, 400),
        ("bad window", {"window_days": -3}, 400),
        ("bad metrics", {"metrics": [{"metric": "deny_rate"}]}, 400),
    ],
)
def test_a_refused_patch_writes_nothing(plan, officer, _case, patch, status):
    before = snapshot()
    assert_error(api_client(officer).patch(plan_url(plan["id"]), patch, format="json"), status)
    assert snapshot() == before


def test_deleting_withdraws_the_plan_and_a_new_one_may_follow(plan, officer, plan_owner):
    client = api_client(officer)
    before = snapshot()
    assert client.delete(plan_url(plan["id"])).status_code == 204
    assert snapshot() == {
        **before,
        "ledger": before["ledger"] + 1,
        "live_plans": 0,
        "plan_changes": before["plan_changes"] + 1,
    }
    assert PMMPlanChange.objects.filter(plan_id=plan["id"]).last().entry_type == "pmm_plan.deleted"
    assert_error(client.get(plan_url(plan["id"])), 404, "not_found")
    assert_error(client.delete(plan_url(plan["id"])), 404, "not_found")
    again = client.post(PLANS, plan_body(plan_owner), format="json")
    assert again.status_code == 201, again.content
    assert PMMPlan.objects.filter(ai_system_id=SYSTEM).count() == 2


# --- The report -----------------------------------------------------------------------------


def noon(day) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


@pytest.fixture
def history(system, key, officer):
    """Decisions of the system in three 7-day windows ending with today (UTC):

    - W0 [today-20, today-13): 4 allowed, low;
    - W1 [today-13, today-6): 4 allowed (low), 1 denied (high);
    - W2 [today-6, today+1): 1 allowed (low), 2 denied (high), 1 escalated (critical) whose
      escalation expired; today, an officer accepts the risk of one denial (an override: the
      human allows what the engine denied).
    """
    today = timezone.now().astimezone(UTC).date()
    for _ in range(4):
        decide(key, "read_ticket", at=noon(today - timedelta(days=18)), risk=LOW)
    for _ in range(4):
        decide(key, "read_ticket", at=noon(today - timedelta(days=10)), risk=LOW)
    decide(key, "delete_customer_data", at=noon(today - timedelta(days=10)), risk=HIGH)
    decide(key, "read_ticket", at=noon(today - timedelta(days=3)), risk=LOW)
    denied = [
        decide(key, "delete_customer_data", at=noon(today - timedelta(days=3)), risk=HIGH)
        for _ in range(2)
    ]
    escalated = decide(
        key, "issue_refund", context=REFUND, at=noon(today - timedelta(days=3)), risk=CRITICAL
    )
    escalation = Escalation.objects.get(decision=escalated)
    oversight.escalation_expire(
        escalation_id=escalation.pk, now=escalation.sla_deadline + timedelta(seconds=1)
    )
    oversight.override_execute(
        decision=denied[0],
        user=officer,
        override_type="risk_accepted",
        justification="Accepted for the pilot: the DPO signed off the residual risk.",
    )
    return today


def report(client, today, **params):
    query = {
        "ai_system": SYSTEM,
        "from": (today - timedelta(days=13)).isoformat(),
        "to": today.isoformat(),
        **params,
    }
    response = client.get(REPORT, query)
    assert response.status_code == 200, response.content
    return response.json()


def test_the_report_is_the_hand_computed_one(plan, history, officer):
    today = history
    body = report(api_client(officer), today)
    assert body["window_days"] == 7
    assert body["incidents_tracked"] is True  # apps.incidents is installed
    assert body["metrics"] == [
        "deny_rate",
        "escalation_rate",
        "override_rate",
        "high_risk_share",
        "sla_breaches",
    ]
    first, last = body["windows"]
    assert (first["first_day"], first["end"]) == (
        (today - timedelta(days=13)).isoformat(),
        (today - timedelta(days=6)).isoformat(),
    )
    assert (last["first_day"], last["end"]) == (
        (today - timedelta(days=6)).isoformat(),
        (today + timedelta(days=1)).isoformat(),
    )
    assert (first["complete"], last["complete"]) == (True, False)
    figures = ("decisions", "deny_rate", "escalation_rate", "override_rate")
    figures += ("high_risk_share", "mean_risk_score", "sla_breaches", "risk_mix")
    assert {k: first[k] for k in figures} == {
        "decisions": 5,
        "deny_rate": 0.2,
        "escalation_rate": 0.0,
        "override_rate": None,
        "high_risk_share": 0.2,
        "mean_risk_score": 30.0,  # (4x20 + 70) / 5
        "sla_breaches": 0,
        "risk_mix": {"low": 4, "medium": 0, "high": 1, "critical": 0},
    }
    assert {k: last[k] for k in figures} == {
        "decisions": 4,
        "deny_rate": 0.5,
        "escalation_rate": 0.25,
        "override_rate": 1.0,
        "high_risk_share": 0.75,
        "mean_risk_score": 61.25,  # (20 + 2x70 + 85) / 4
        "sla_breaches": 1,
        "risk_mix": {"low": 1, "medium": 0, "high": 2, "critical": 1},
    }
    drift = {item["metric"]: item for item in first["drift"]}
    # W1 against W0 (4 allowed): the deny rate rose by exactly its threshold, not past it.
    assert drift["deny_rate"] == {
        "metric": "deny_rate",
        "value": 0.2,
        "previous": 0.0,
        "change": 0.2,
        "threshold": 0.2,
        "direction": "up",
        "breached": False,
    }
    drift = {item["metric"]: item for item in last["drift"]}
    assert (drift["deny_rate"]["change"], drift["deny_rate"]["breached"]) == (0.3, True)
    assert (drift["escalation_rate"]["change"], drift["escalation_rate"]["breached"]) == (
        0.25,
        False,
    )
    # No human verdict in W1: the override rate cannot be compared.
    assert drift["override_rate"]["breached"] is None
    assert (drift["high_risk_share"]["change"], drift["high_risk_share"]["breached"]) == (
        0.55,
        True,
    )
    assert (drift["sla_breaches"]["change"], drift["sla_breaches"]["breached"]) == (1, True)
    assert body["alerts"] == []  # alerts are the periodic check's, not the report's


def test_min_decisions_holds_back_rates_on_thin_windows(plan, history, officer):
    api_client(officer).patch(plan_url(plan["id"]), {"min_decisions": 5}, format="json")
    last = report(api_client(officer), history)["windows"][-1]
    drift = {item["metric"]: item for item in last["drift"]}
    assert drift["deny_rate"]["breached"] is None  # 4 decisions in W2, fewer than 5
    assert drift["sla_breaches"]["breached"] is True  # a count, not a rate


def test_report_refusals(system, officer, plan, key):
    client = api_client(officer)
    assert_error(client.get(REPORT, {"ai_system": "nope"}), 404, "not_found")
    assert_error(client.get(REPORT), 400, "validation_error")
    too_many = client.get(REPORT, {"ai_system": SYSTEM, "from": "2018-01-01", "to": "2026-01-01"})
    assert_error(too_many, 400, "invalid_input")
    register("no-plan", owner=officer, principal=officer)
    error = assert_error(client.get(REPORT, {"ai_system": "no-plan"}), 404, "not_found")
    assert "no post-market monitoring plan" in error["message"]
    assert agent_api("compliance:read").get(REPORT, {"ai_system": SYSTEM}).status_code == 200
    assert agent_api("decide").get(REPORT, {"ai_system": SYSTEM}).status_code == 403


# --- Drift alerts ---------------------------------------------------------------------------


def check(now, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return services.pmm_check(now=now)


def test_a_drift_alert_fires_once_per_breach(
    plan, history, officer, plan_owner, key, django_capture_on_commit_callbacks
):
    today = history
    # After today ends, the last complete window is W2 = [today-6, today+1), compared with W1.
    now = datetime.combine(today + timedelta(days=1), time(1), tzinfo=UTC)
    result = check(now, django_capture_on_commit_callbacks)
    assert (result.plans, result.fired, result.cleared) == (1, 3, 0)
    fired = {alert.metric: alert for alert in DriftAlert.objects.all()}
    assert set(fired) == {"deny_rate", "high_risk_share", "sla_breaches"}
    deny = fired["deny_rate"]
    assert (deny.value, deny.previous_value, deny.change, deny.threshold) == (0.5, 0.2, 0.3, 0.2)
    assert (deny.window_start, deny.window_end) == (
        today - timedelta(days=6),
        today + timedelta(days=1),
    )
    entry = LedgerEntry.objects.get(seq=deny.ledger_seq)
    payload = json.loads(entry.payload)
    assert entry.entry_type == "drift_alert.fired"
    assert payload["actor"]["id"] == "system:pmm"
    assert (payload["metric"], payload["value"], payload["previous_value"]) == (
        "deny_rate",
        0.5,
        0.2,
    )
    assert payload["window_end"] == (today + timedelta(days=1)).isoformat()
    # One e-mail per alert to each owner: the system's (the officer) and the plan's.
    assert len(mail.outbox) == 6
    deny_mails = [m for m in mail.outbox if "deny_rate" in m.subject]
    assert sorted(m.to[0] for m in deny_mails) == sorted([officer.email, plan_owner.email])
    assert str(deny.pk) in deny_mails[0].body
    assert DriftAlert.objects.get(pk=deny.pk).mailed_to == 2

    # The same window again, and the next day (the breach goes on): nothing new.
    entries = LedgerEntry.objects.count()
    assert check(now, django_capture_on_commit_callbacks).fired == 0
    assert check(now + timedelta(days=1), django_capture_on_commit_callbacks).fired == 0
    assert (DriftAlert.objects.count(), LedgerEntry.objects.count(), len(mail.outbox)) == (
        3,
        entries,
        6,
    )

    # The deny rate comes back within its threshold (W2: 2 of 10): the alert clears.
    for _ in range(6):
        decide(key, "read_ticket", at=noon(today - timedelta(days=3)), risk=LOW)
    result = check(now, django_capture_on_commit_callbacks)
    assert result.fired == 0
    deny.refresh_from_db()
    assert deny.cleared_at == now
    cleared = LedgerEntry.objects.get(seq=deny.cleared_ledger_seq)
    assert cleared.entry_type == "drift_alert.cleared"
    assert json.loads(cleared.payload)["value"] == 0.2

    # A new breach is a new alert.
    for _ in range(5):
        decide(key, "delete_customer_data", at=noon(today - timedelta(days=3)), risk=HIGH)
    assert check(now, django_capture_on_commit_callbacks).fired == 1
    deny_alerts = DriftAlert.objects.filter(metric="deny_rate").order_by("fired_at")
    assert [a.is_open for a in deny_alerts] == [False, True]
    assert len(mail.outbox) == 8


def test_the_report_lists_the_alerts(plan, history, officer, django_capture_on_commit_callbacks):
    today = history
    check(
        datetime.combine(today + timedelta(days=1), time(1), tzinfo=UTC),
        django_capture_on_commit_callbacks,
    )
    alerts = report(api_client(officer), today)["alerts"]
    assert sorted(a["metric"] for a in alerts) == ["deny_rate", "high_risk_share", "sla_breaches"]
    assert all(a["open"] for a in alerts)


def test_removing_a_metric_or_the_plan_clears_its_alerts(
    plan, history, officer, django_capture_on_commit_callbacks
):
    today = history
    now = datetime.combine(today + timedelta(days=1), time(1), tzinfo=UTC)
    check(now, django_capture_on_commit_callbacks)
    client = api_client(officer)
    client.patch(
        plan_url(plan["id"]),
        {"metrics": [{"metric": "deny_rate", "threshold": 0.2, "direction": "up"}]},
        format="json",
    )
    result = check(now, django_capture_on_commit_callbacks)
    assert (result.fired, result.cleared) == (0, 2)
    assert list(
        DriftAlert.objects.filter(cleared_at__isnull=True).values_list("metric", flat=True)
    ) == ["deny_rate"]
    assert client.delete(plan_url(plan["id"])).status_code == 204
    assert not DriftAlert.objects.filter(cleared_at__isnull=True).exists()
    deleted = LedgerEntry.objects.filter(entry_type="pmm_plan.deleted").get()
    assert json.loads(deleted.payload)["alerts_cleared"] == 1
    # A withdrawn plan is no longer evaluated.
    assert services.pmm_check(now=now).plans == 0


def test_the_periodic_task_is_registered_and_scheduled(settings):
    from celery import current_app

    assert "monitoring.pmm_check" in current_app.tasks
    assert "monitoring.drift_alert_mail" in current_app.tasks
    entries = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "monitoring.pmm_check" in entries
