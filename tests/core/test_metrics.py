"""Metrics an operator alerts on (issue 20, ADR 0033): who may read /metrics, and that each
figure moves when what it counts happens. Counters are process-wide, so the tests compare
values before and after. Several gunicorn workers summed: tests/live/test_metrics_live.py."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from celery import shared_task
from django.db import OperationalError, connection
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from apps.core import metrics
from apps.escalations import services as escalation_services
from apps.escalations.models import Escalation
from apps.ledger import services as ledger_services
from apps.ledger.selectors import ledger_size
from tests.conftest import DEMO
from tests.escalations.conftest import REFUND, escalate_via_decide

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-tests-0123456789abcdef"
OUTSIDE = "203.0.113.7"  # TEST-NET-3: never in the allowed networks


def scrape(client: Client | None = None, **headers) -> dict[tuple[str, tuple], float]:
    """``/metrics`` parsed: {(sample name, sorted labels): value}."""
    response = (client or Client()).get("/metrics", **headers)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain; version=")
    values = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def value(values, name: str, **labels) -> float:
    return values.get((name, tuple(sorted(labels.items()))), 0.0)


# --- who may read ------------------------------------------------------------------------------


def test_metrics_from_an_address_outside_the_list_and_without_a_token_are_refused():
    response = Client().get("/metrics", REMOTE_ADDR=OUTSIDE)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert response.json()["error"]["code"] == "not_authenticated"
    assert b"lexecon_" not in response.content


def test_metrics_answer_the_right_bearer_token_from_anywhere(settings):
    settings.LEXECON_METRICS_TOKEN = TOKEN
    values = scrape(REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert ("lexecon_ledger_size", ()) in values
    wrong = Client().get("/metrics", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION=f"Bearer {TOKEN}x")
    assert wrong.status_code == 401
    # A wrong token is refused even from an allowed address: it is someone's mistake or a probe.
    local = Client().get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_AUTHORIZATION="Bearer nope")
    assert local.status_code == 401


def test_metrics_answer_an_allowed_network_and_ignore_a_forged_forwarded_header(settings):
    settings.LEXECON_METRICS_ALLOWED_NETWORKS = ("10.1.0.0/16",)
    assert Client().get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert Client().get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 401
    forged = Client().get("/metrics", REMOTE_ADDR=OUTSIDE, HTTP_X_FORWARDED_FOR="10.1.2.3")
    assert forged.status_code == 401
    # Behind a trusted proxy the client it names is the one checked.
    settings.LEXECON_TRUSTED_PROXIES = ("192.0.2.1/32",)
    via_proxy = Client().get("/metrics", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="10.1.9.9")
    assert via_proxy.status_code == 200


def test_production_lists_no_network_and_refuses_a_short_token():
    env = {
        "DJANGO_SETTINGS_MODULE": "lexecon_site.settings.prod",
        "LEXECON_SECRET_KEY": "Zq8v-" + "k3Jp9wXr2LmN7bT4yHs6dFg1aQe5uVc0" * 2,
        "LEXECON_MASTER_KEY": "v9K2mQ7xR4pL1sT8wN3bY6hJ0dF5gZcA",
        "PATH": "/usr/bin:/bin",
    }
    code = "from django.conf import settings; print(settings.LEXECON_METRICS_ALLOWED_NETWORKS)"
    shown = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.strip() == "()"
    refused = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**env, "LEXECON_METRICS_TOKEN": "short"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode != 0
    assert "LEXECON_METRICS_TOKEN is too short" in refused.stderr


# --- the figures --------------------------------------------------------------------------------


def test_decisions_are_counted_by_outcome_and_timed_on_the_agent_fast_path(
    agent, django_capture_on_commit_callbacks
):
    before = scrape()
    with django_capture_on_commit_callbacks(execute=True):
        _decide_five(agent)
    after = scrape()

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("lexecon_decisions_total", outcome="allowed") == 2  # the replay is not a decision
    assert delta("lexecon_decisions_total", outcome="denied") == 1
    assert delta("lexecon_decisions_total", outcome="escalated") == 0
    # Every /decide answer is timed, the refused and the replayed included.
    assert delta("lexecon_decide_seconds_count") == 5
    assert delta("lexecon_decide_seconds_sum") > 0
    assert delta("lexecon_ledger_append_seconds_count") >= 3


def test_a_decision_rolled_back_is_not_counted(agent):
    """Counted on commit: inside a transaction that never commits (this test's), nothing."""
    before = scrape()
    assert agent.post("/decide", DEMO, format="json").status_code == 200
    after = scrape()
    assert value(after, "lexecon_decisions_total", outcome="allowed") == value(
        before, "lexecon_decisions_total", outcome="allowed"
    )


def _decide_five(agent) -> None:
    assert agent.post("/decide", DEMO, format="json").json()["outcome"] == "allowed"
    denied = {**DEMO, "action": "delete_everything"}
    assert agent.post("/decide", denied, format="json").json()["outcome"] == "denied"
    replay = agent.post("/decide", DEMO, format="json", HTTP_IDEMPOTENCY_KEY="same-key-1")
    again = agent.post("/decide", DEMO, format="json", HTTP_IDEMPOTENCY_KEY="same-key-1")
    assert replay.json()["decision_id"] == again.json()["decision_id"]
    bad = agent.post("/decide", {"actor": ""}, format="json")
    assert bad.status_code == 400


def test_ledger_size_and_checkpoint_age_are_read_at_scrape_time(agent):
    agent.post("/decide", DEMO, format="json")
    values = scrape()
    assert value(values, "lexecon_ledger_size") == ledger_size()
    assert value(values, "lexecon_metrics_source_up", source="ledger") == 1
    ledger_services.ledger_checkpoint_create()
    agent.post("/decide", DEMO, format="json")
    values = scrape()
    assert value(values, "lexecon_ledger_unsigned_entries") == 1
    assert 0 <= value(values, "lexecon_checkpoint_age_seconds") < 60


def test_pending_escalations_by_priority_and_sla_breaches(agent):
    before = scrape()
    escalated = escalate_via_decide(agent, REFUND)
    priority = escalated.escalation.priority
    values = scrape()
    assert value(values, "lexecon_escalations_pending", priority=priority) == 1 + value(
        before, "lexecon_escalations_pending", priority=priority
    )
    for other in ("critical", "high", "medium", "low"):
        assert ("lexecon_escalations_pending", (("priority", other),)) in values
    escalation_services.escalation_expire(
        escalation_id=escalated.escalation.pk,
        now=escalated.escalation.sla_deadline + timedelta(seconds=1),
    )
    assert Escalation.objects.get(pk=escalated.escalation.pk).status == "expired"
    after = scrape()
    assert (
        value(after, "lexecon_sla_breaches_total")
        == value(before, "lexecon_sla_breaches_total") + 1
    )
    assert value(after, "lexecon_escalations_pending", priority=priority) == value(
        before, "lexecon_escalations_pending", priority=priority
    )


def test_a_source_whose_database_is_down_is_reported_not_fatal(monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    values = scrape()
    assert value(values, "lexecon_metrics_source_up", source="ledger") == 0
    assert value(values, "lexecon_metrics_source_up", source="escalations") == 0
    assert ("lexecon_ledger_size", ()) not in values


def test_rate_limited_requests_are_counted_by_route(settings, agent_client, demo_policy):
    settings.LEXECON_RATE_LIMIT_DECIDE_PER_KEY = "1/60"
    agent = agent_client("decide")
    before = scrape()
    assert agent.post("/decide", DEMO, format="json").status_code == 200
    assert agent.post("/decide", DEMO, format="json").status_code == 429
    after = scrape()
    assert (
        value(after, "lexecon_rate_limited_total", route="decide")
        == value(before, "lexecon_rate_limited_total", route="decide") + 1
    )


@shared_task(name="tests.metrics.always_fails")
def _always_fails() -> None:
    raise RuntimeError("boom")


def test_celery_task_failures_are_counted_by_task():
    """As a worker runs it (exceptions not propagated to the caller). In eager mode with
    propagation (no Redis) the exception reaches the caller instead, and is not counted here."""
    before = scrape()
    result = _always_fails.apply(throw=False)
    assert result.failed()
    after = scrape()
    name = "lexecon_celery_task_failures_total"
    assert value(after, name, task="tests.metrics.always_fails") == 1 + value(
        before, name, task="tests.metrics.always_fails"
    )


_CHILD = """
import os, sys
from prometheus_client import Counter
c = Counter("lexecon_decisions_total", "d", ["outcome"])
c.labels("allowed").inc(int(sys.argv[1]))
"""


def test_counts_of_several_processes_are_summed_from_the_metrics_directory(tmp_path, monkeypatch):
    web = tmp_path / "web"
    celery = tmp_path / "celery"
    for directory, amount in ((web, "3"), (web, "4"), (celery, "5")):
        directory.mkdir(exist_ok=True)
        subprocess.run(
            [sys.executable, "-c", _CHILD, amount],
            env={"PROMETHEUS_MULTIPROC_DIR": str(directory), "PATH": "/usr/bin:/bin"},
            check=True,
        )
    assert len(list(web.glob("counter_*.db"))) == 2
    monkeypatch.setenv("LEXECON_METRICS_DIR", str(tmp_path))
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    assert sorted(metrics.multiprocess_directories()) == [str(celery), str(web)]
    values = scrape()
    assert value(values, "lexecon_decisions_total", outcome="allowed") == 12
    # The scrape-time figures are there as well, once.
    assert value(values, "lexecon_metrics_source_up", source="ledger") == 1


def test_checkpoint_age_is_absent_before_any_checkpoint():
    values = scrape()
    assert ("lexecon_checkpoint_age_seconds", ()) not in values
    assert timezone.now()  # the figure is computed from the database clock's timestamps
