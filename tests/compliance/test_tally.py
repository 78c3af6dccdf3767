"""The evidence tally: ledger entries counted once, by capability and by the controls they name."""

from __future__ import annotations

import pytest

from apps.compliance import selectors, services
from apps.compliance.models import ControlEvidence, EvidenceTally, TallyCursor
from apps.ledger.models import LedgerEntry
from tests.conftest import DEMO


def total(key: str) -> int:
    return sum(EvidenceTally.objects.filter(key=key).values_list("count", flat=True))


def control_key(framework: str, control_id: str) -> str:
    from apps.compliance.models import Control

    return f"ctl:{Control.objects.get(framework_id=framework, control_id=control_id).pk}"


def test_decisions_count_for_their_rules_tags_and_capabilities(catalogs, agent):
    for _ in range(3):
        assert agent.post("/decide", DEMO, format="json").json()["outcome"] == "allowed"
    counted = services.tally_catch_up()
    assert counted == LedgerEntry.objects.count()
    assert TallyCursor.objects.get().last_seq == LedgerEntry.objects.order_by("-seq").first().seq
    # The demo policy's rule for this request carries SOC2:CC6.1 among its tags.
    from apps.decisions.models import Decision

    tags = set(Decision.objects.first().controls)
    assert "SOC2:CC6.1" in tags
    assert total(control_key("soc2", "CC6.1")) == 3
    assert total("cap:policy_enforcement") == 3
    assert ControlEvidence.objects.filter(via="tag").count() == 3 * len(tags)


def test_catching_up_twice_counts_nothing_twice(catalogs, agent):
    agent.post("/decide", DEMO, format="json")
    services.tally_catch_up()
    snapshot = sorted(EvidenceTally.objects.values_list("key", "day", "count"))
    assert services.tally_catch_up() == 0
    assert sorted(EvidenceTally.objects.values_list("key", "day", "count")) == snapshot


def test_a_limit_bounds_one_call_and_the_rest_follows(catalogs, agent):
    for _ in range(4):
        agent.post("/decide", DEMO, format="json")
    entries = LedgerEntry.objects.count()
    assert services.tally_catch_up(limit=2) == 2
    assert services.tally_catch_up() == entries - 2
    assert total("cap:policy_enforcement") == 4


def test_the_controls_list_shows_counts_without_a_separate_run(catalogs, agent, agent_client):
    agent.post("/decide", DEMO, format="json")
    reader = agent_client("compliance:read")
    controls = {
        c["control_id"]: c for c in reader.get("/compliance/soc2/controls").json()["controls"]
    }
    assert controls["CC6.1"]["evidence_count"] >= 1
    assert controls["CC6.1"]["last_evidence_at"]


def test_an_unknown_tag_is_kept_apart(catalogs, db):
    from apps.compliance.services import _TagIndex

    index = _TagIndex.build()
    assert index.resolve("SOC2:CC6.1") is not None
    assert index.resolve("soc-2:cc6.1") is not None
    assert index.resolve("COBIT:APO01") is None
    assert index.resolve("not a tag") is None


@pytest.mark.parametrize("task_name", ["compliance.tally"])
def test_the_task_is_registered_and_scheduled(settings, task_name):
    from celery import current_app

    assert task_name in current_app.tasks
    assert task_name in {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert selectors.CATCH_UP > 0


def test_running_totals_equal_the_per_day_rows(catalogs, agent):
    from django.db.models import Max, Sum

    from apps.compliance.models import EvidenceTotal

    for rounds in (2, 3):
        for _ in range(rounds):
            agent.post("/decide", DEMO, format="json")
        services.tally_catch_up(limit=3)
    services.tally_catch_up()
    per_day = {
        row["key"]: (row["n"], row["seq"])
        for row in EvidenceTally.objects.values("key").annotate(n=Sum("count"), seq=Max("last_seq"))
    }
    totals = {t.key: (t.count, t.last_seq) for t in EvidenceTotal.objects.all()}
    assert totals == per_day
    assert totals["cap:policy_enforcement"][0] == 5
