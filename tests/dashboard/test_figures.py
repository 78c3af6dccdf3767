"""The dashboard's decision and risk figures equal what the database holds, whether they come from
the roll-up, the live tail, or both; the roll-up is idempotent; filters and windows narrow them."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.dashboard import selectors, services
from apps.dashboard.models import DecisionHour, RiskFactorHour, RollupCursor
from apps.decisions.models import Decision
from tests.dashboard.conftest import db_levels, db_outcomes

pytestmark = pytest.mark.django_db


def figures(**kwargs):
    f = selectors.filters_for(**kwargs)
    tail = selectors.live_tail(f.previous.start)
    return selectors.decisions_panel(f, tail), selectors.risk_panel(f, tail)


def expected_factors() -> tuple[Counter[str], Counter[str]]:
    rules: Counter[str] = Counter()
    classes: Counter[str] = Counter()
    for reasons, data_classes in Decision.objects.filter(
        risk_level__in=["high", "critical"]
    ).values_list("reasons", "data_classes"):
        rules.update({r["rule_id"] for r in reasons if r.get("rule_id")})
        classes.update(set(data_classes))
    return rules, classes


def assert_matches_database(decisions, risk):
    outcomes = db_outcomes()
    assert decisions["totals"] == {o: outcomes.get(o, 0) for o in selectors.OUTCOMES}
    assert decisions["total"] == Decision.objects.count()
    levels = db_levels()
    assert risk["levels"] == {lvl: levels.get(lvl, 0) for lvl in selectors.RISK_LEVELS}
    rules, classes = expected_factors()
    assert risk["top_rules"] == sorted(rules.items(), key=lambda i: (-i[1], i[0]))[:5]
    assert risk["top_data_classes"] == sorted(classes.items(), key=lambda i: (-i[1], i[0]))[:5]


def test_the_live_tail_alone_counts_every_decision(world):
    assert not DecisionHour.objects.exists()
    decisions, risk = figures()
    assert decisions["totals"] == {"allowed": 3, "denied": 2, "escalated": 2}
    assert risk["high_total"] >= 1  # the critical escalation
    assert_matches_database(decisions, risk)


def test_the_rollup_gives_the_same_figures_and_counts_once(world):
    before = figures()
    assert services.rollup_catch_up() == 7
    assert RollupCursor.objects.get().last_seq == Decision.objects.latest("ledger_seq").ledger_seq
    assert sum(DecisionHour.objects.values_list("count", flat=True)) == 7
    assert RiskFactorHour.objects.filter(kind="data_class", name="customer_pii").exists()
    assert services.rollup_catch_up() == 0  # idempotent: nothing new, nothing counted twice
    after = figures()
    assert after == before
    assert_matches_database(*after)


def test_part_rolled_up_part_tail_still_adds_up(world, agent):
    assert services.rollup_catch_up(limit=4) == 4
    decisions, risk = figures()
    assert_matches_database(decisions, risk)
    assert selectors.live_tail(timezone.now() - timedelta(days=1)).size == 3


def test_filters_narrow_the_counts(world):
    services.rollup_catch_up(limit=3)  # half from the roll-up, half from the tail
    decisions, _ = figures(ai_system="support-bot")
    assert decisions["totals"] == {"allowed": 3, "denied": 0, "escalated": 0}
    key = str(Decision.objects.first().agent_key_id)
    decisions, _ = figures(agent_key=key)
    assert decisions["total"] == 7
    decisions, _ = figures(agent_key="00000000-0000-0000-0000-000000000000")
    assert decisions["total"] == 0


def test_buckets_cover_the_window_and_sum_to_the_totals(world):
    services.rollup_catch_up()
    for window, bucket in (("24h", "hour"), ("7d", "day"), ("30d", "day"), ("90d", "week")):
        decisions, _ = figures(window=window)
        f = selectors.filters_for(window=window)
        assert f.bucket == bucket
        starts = [b["start"] for b in decisions["buckets"]]
        assert starts == sorted(starts)
        assert starts[0] <= f.start
        assert starts[-1] < f.end
        assert sum(sum(b["counts"].values()) for b in decisions["buckets"]) == 7


def test_rates_and_their_change_against_the_previous_window(world):
    services.rollup_catch_up()
    # Today's decisions sit in the previous 24-hour window of a window ending a day later.
    later = timezone.now() + timedelta(days=1)
    decisions, _ = figures(window="24h", now=later)
    assert decisions["total"] == 0
    assert decisions["previous_total"] == 7
    assert decisions["rates"]["denied"] is None
    assert decisions["change"]["denied"] is None
    decisions, _ = figures(window="24h")
    assert decisions["rates"]["denied"] == pytest.approx(100 * 2 / 7)
    assert decisions["rates"]["escalated"] == pytest.approx(100 * 2 / 7)
    assert decisions["previous_total"] == 0
    assert decisions["change"]["denied"] is None


def test_change_is_the_difference_in_points(world, agent):
    from tests.dashboard.conftest import DENIED, decide

    services.rollup_catch_up()
    shifted = timezone.now() + timedelta(hours=25)
    # Move the roll-up's rows a day back, as if they were yesterday's, then decide once more today.
    for row in DecisionHour.objects.all():
        row.hour -= timedelta(days=1)
        row.save()
    decide(agent, DENIED)
    decisions, _ = figures(window="24h", now=shifted - timedelta(hours=25))
    assert decisions["total"] == 1
    assert decisions["previous_total"] == 7
    assert decisions["rates"]["denied"] == pytest.approx(100.0)
    assert decisions["change"]["denied"] == pytest.approx(100.0 - 100 * 2 / 7)


def test_oversight_median_and_sla_states(world):
    from apps.escalations.models import Escalation

    first, second = Escalation.objects.order_by("created_at")
    for escalation, minutes in ((first, 10), (second, 30)):
        Escalation.objects.filter(pk=escalation.pk).update(
            status="resolved",
            resolution="approved",
            resolved_at=escalation.created_at + timedelta(minutes=minutes),
        )
    f = selectors.filters_for(window="24h", now=timezone.now() + timedelta(hours=1))
    panel = selectors.oversight_panel(f)
    assert panel["resolved_count"] == 2
    assert panel["median_resolve_seconds"] == pytest.approx(20 * 60)
    assert panel["pending"] == {"on_time": 0, "warning": 0, "breached": 0}
    Escalation.objects.filter(pk=second.pk).update(
        status="pending", resolution="", resolved_at=None
    )
    panel = selectors.oversight_panel(f)
    assert panel["median_resolve_seconds"] == pytest.approx(10 * 60)
    deadline = second.sla_deadline
    assert selectors.oversight_panel(f, now=deadline)["pending"]["breached"] == 1
    warned = second.created_at + (deadline - second.created_at) * 0.8
    assert selectors.oversight_panel(f, now=warned)["pending"]["warning"] == 1
    assert selectors.oversight_panel(f, now=second.created_at)["pending"]["on_time"] == 1
