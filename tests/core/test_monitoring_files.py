"""The Grafana dashboard and the Prometheus alert rules in docker/ (ADR 0033), checked without a
Prometheus or Grafana server: the files parse, each rule and panel has its fields, the PromQL is
well bracketed, and every metric they name exists in Lexecon's /metrics. With Debian's
``prometheus`` package installed, ``promtool check rules`` runs as well."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

from apps.core.metrics import ScrapeTimeSources
from apps.ledger import services as ledger_services
from tests.conftest import DEMO

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "docker" / "prometheus-alerts.yml"
DASHBOARD = ROOT / "docker" / "grafana" / "dashboards" / "lexecon.json"
DURATION = re.compile(r"^[0-9]+(ms|s|m|h|d|w|y)$")
RANGE = re.compile(r"\[([^\]]+)\]")
METRIC = re.compile(r"(?<![A-Za-z0-9_$.])(lexecon_[a-z0-9_]+|up)(?![A-Za-z0-9_(])")
PAIRS = {"(": ")", "[": "]", "{": "}"}


def _known_sample_names() -> set[str]:
    """Every sample name /metrics can show: the counted metrics and the scrape-time ones."""
    names = {"up"}  # Prometheus's own, per target
    families = [*REGISTRY.collect(), *ScrapeTimeSources().collect()]
    for family in families:
        if family.type == "counter":
            names.add(f"{family.name}_total")
        elif family.type == "histogram":
            names.update(f"{family.name}{suffix}" for suffix in ("_bucket", "_count", "_sum"))
        else:
            names.add(family.name)
    return {name for name in names if name.startswith("lexecon_") or name == "up"}


def _check_promql(expr: str) -> list[str]:
    """Brackets balanced outside strings, ranges well formed; the metric names it uses."""
    stack: list[str] = []
    quoted = False
    for char in expr:
        if char == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif char in PAIRS:
            stack.append(PAIRS[char])
        elif char in PAIRS.values() and (not stack or stack.pop() != char):
            raise AssertionError(f"unbalanced {char!r} in {expr!r}")
    assert not stack, f"unclosed bracket in {expr!r}"
    assert not quoted, f"unclosed string in {expr!r}"
    for window in RANGE.findall(expr):
        assert DURATION.match(window) or window == "$__rate_interval", (window, expr)
    unquoted = re.sub(r'"[^"]*"', '""', expr)
    return METRIC.findall(unquoted)


@pytest.fixture
def known(db, agent):
    agent.post("/decide", DEMO, format="json")
    ledger_services.ledger_checkpoint_create()  # so that the checkpoint age is present
    return _known_sample_names()


def test_every_metric_of_the_issue_is_exposed(known):
    for name in (
        "lexecon_decisions_total",
        "lexecon_decide_seconds_bucket",
        "lexecon_ledger_append_seconds_bucket",
        "lexecon_ledger_size",
        "lexecon_checkpoint_age_seconds",
        "lexecon_escalations_pending",
        "lexecon_sla_breaches_total",
        "lexecon_rate_limited_total",
        "lexecon_celery_task_failures_total",
    ):
        assert name in known, name


def test_alert_rules_are_well_formed_and_name_only_real_metrics(known):
    document = yaml.safe_load(RULES.read_text())
    assert set(document) == {"groups"}
    alerts = []
    for group in document["groups"]:
        assert set(group) == {"name", "rules"}, group.get("name")
        assert group["rules"], group["name"]
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
            assert re.fullmatch(r"Lexecon[A-Z][A-Za-z]+", rule["alert"]), rule["alert"]
            assert isinstance(rule["expr"], str), rule["alert"]
            assert rule["expr"].strip(), rule["alert"]
            if "for" in rule:
                assert DURATION.match(rule["for"]), rule["alert"]
            assert rule["labels"]["severity"] in {"page", "ticket"}, rule["alert"]
            assert rule["annotations"]["summary"], rule["alert"]
            assert rule["annotations"]["description"], rule["alert"]
            used = _check_promql(rule["expr"])
            assert used, rule["alert"]
            assert set(used) <= known, (rule["alert"], set(used) - known)
            alerts.append(rule["alert"])
    assert len(alerts) == len(set(alerts)), "alert names must be unique"


def test_the_bracket_check_catches_a_broken_expression():
    with pytest.raises(AssertionError):
        _check_promql("sum(rate(lexecon_decisions_total[5m])")
    with pytest.raises(AssertionError):
        _check_promql("rate(lexecon_decisions_total[5 minutes])")
    assert _check_promql('lexecon_escalations_pending{priority="up"} > 0') == [
        "lexecon_escalations_pending"
    ]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_promtool_accepts_the_rules():
    result = subprocess.run(
        ["promtool", "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_is_grafana_json_over_real_metrics(known):
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "lexecon-overview"
    assert isinstance(dashboard["schemaVersion"], int)
    assert dashboard["templating"]["list"][0]["type"] == "datasource"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    shown = set()
    for panel in dashboard["panels"]:
        assert panel["title"]
        assert panel["type"] in {"timeseries", "stat", "gauge", "table"}
        assert panel["datasource"]["uid"] == "${datasource}"
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            used = _check_promql(target["expr"])
            assert used, panel["title"]
            assert set(used) <= known, (panel["title"], set(used) - known)
            shown.update(used)
    # Every Lexecon figure has a panel.
    lexecon = {name for name in known if name.startswith("lexecon_")}
    base = {re.sub(r"_(bucket|count|sum)$", "", name) for name in lexecon}
    assert base <= {re.sub(r"_(bucket|count|sum)$", "", name) for name in shown}, base - shown
