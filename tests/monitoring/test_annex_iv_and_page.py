"""Seam 1 (Annex IV items 3, 5 and 9 from live data), the staff page fragment, and the admin."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.utils import timezone

from apps.escalations import services as oversight
from apps.ledger.models import LedgerEntry
from apps.monitoring import annex_iv, selectors, services
from apps.monitoring.models import Intervention, PMMPlan
from apps.monitoring.periods import Window
from tests.conftest import verify_session
from tests.monitoring.conftest import REASON, SYSTEM, decide, snapshot

METRICS = [{"metric": "deny_rate", "threshold": 0.1, "direction": "up"}]


@dataclass(frozen=True)
class FakeWindow:
    start: Any
    end: Any


def window() -> FakeWindow:
    now = timezone.now()
    return FakeWindow(now - timedelta(days=1), now + timedelta(minutes=5))


def test_item_9_names_the_missing_plan_until_there_is_one(system, officer):
    part = annex_iv.pmm_part(system, window())
    assert part["missing"] == ("post-market monitoring plan (Art. 72(3))",)
    services.pmm_plan_create(
        principal=officer,
        ai_system_id=SYSTEM,
        owner=officer,
        metrics=METRICS,
        description="Reviewed every Monday by the HR compliance lead.",
    )
    part = annex_iv.pmm_part(system, window())
    assert part["missing"] == ()
    assert part["facts"]["Metric: Share of decisions denied"] == "alert past 0.1 (up)"
    assert part["facts"]["Open drift alerts"] == 0
    assert part["text"] == "Reviewed every Monday by the HR compliance lead."


def test_items_3_and_5_are_computed_from_live_data(system, key, officer):
    decide(key, "delete_customer_data", risk=(70.0, "high", {"privacy": 80.0}))
    allowed = decide(key, "read_ticket", risk=(20.0, "low", {"privacy": 20.0}))
    risk = annex_iv.risk_part(system, window())
    assert risk["facts"]["Decisions"] == 2
    assert risk["facts"]["Risk levels (low / medium / high / critical)"] == "1 / 0 / 1 / 0"
    assert risk["facts"]["Denial rate"] == "50.0 %"
    assert risk["facts"]["Top rules"] == "cs-no-deletion"
    oversight_before = annex_iv.oversight_part(system, window())
    assert oversight_before["facts"]["Interventions recorded"] == 0
    services.intervention_record(
        user=officer,
        decision_id=allowed.pk,
        intervention_type="manual_review",
        human_decision="denied",
        reason=REASON,
    )
    oversight_after = annex_iv.oversight_part(system, window())
    assert oversight_after["facts"]["Interventions recorded"] == 1
    assert oversight_after["facts"]["Override rate (human differs from AI)"] == "100.0 %"


def test_the_providers_register_with_the_annex_iv_builder_when_it_is_installed(system, monkeypatch):
    """Stands in for apps.techdoc (built in parallel) with exactly the seam's contract."""

    @dataclass(frozen=True)
    class SectionPart:
        title: str
        facts: dict[str, Any]
        text: str = ""
        missing: tuple[str, ...] = field(default=())

    registered: dict[str, tuple[int, Any]] = {}

    def register_provider(item, provider, *, key):
        registered[key] = (item, provider)

    fake = types.ModuleType("apps.techdoc.annex_iv")
    fake.SectionPart = SectionPart
    fake.register_provider = register_provider
    monkeypatch.setitem(sys.modules, "apps.techdoc", types.ModuleType("apps.techdoc"))
    monkeypatch.setitem(sys.modules, "apps.techdoc.annex_iv", fake)
    from django.apps import apps as django_apps

    monkeypatch.setattr(django_apps, "is_installed", lambda name: name == "apps.techdoc")
    annex_iv.register()
    assert {key: item for key, (item, _) in registered.items()} == {
        "monitoring.oversight": 3,
        "monitoring.risk": 5,
        "monitoring.pmm": 9,
    }
    part = registered["monitoring.pmm"][1](system, window())
    assert isinstance(part, SectionPart)
    assert part.missing == ("post-market monitoring plan (Art. 72(3))",)


def test_without_the_builder_nothing_is_registered(monkeypatch):
    from django.apps import apps as django_apps

    monkeypatch.setattr(django_apps, "is_installed", lambda name: False)
    annex_iv.register()  # no import of a missing app, no error


def test_the_system_section_renders_live_figures(system, key, officer):
    decide(key, "delete_customer_data", risk=(70.0, "high", {"privacy": 80.0}))
    denied = decide(key, "delete_customer_data", risk=(70.0, "high", {"privacy": 80.0}))
    oversight.override_execute(
        decision=denied,
        user=officer,
        override_type="risk_accepted",
        justification="Accepted for the pilot: the DPO signed off the residual risk.",
    )
    context = selectors.system_section_context(system, principal=officer)
    html = render_to_string("monitoring/_system_section.html", context)
    assert "Risk management (Art. 9)" in html
    assert "Open mitigations (risks accepted by override): 1" in html
    assert "the DPO signed off" in html
    assert "No post-market monitoring plan" in html
    # Without a reader, the justification is not shown; the count is.
    anonymous = render_to_string(
        "monitoring/_system_section.html", selectors.system_section_context(SYSTEM)
    )
    assert "the DPO signed off" not in anonymous
    assert "1 more concern decisions you cannot see" in anonymous
    services.pmm_plan_create(principal=officer, ai_system_id=SYSTEM, owner=officer, metrics=METRICS)
    html = render_to_string(
        "monitoring/_system_section.html", selectors.system_section_context(system)
    )
    assert "deny_rate" in html
    assert "No post-market monitoring plan" not in html


# --- Admin ----------------------------------------------------------------------------------


@pytest.fixture
def officer_page(officer):
    client = verify_session(Client(), officer)
    client.user = officer
    return client


def test_adding_a_plan_in_the_admin_goes_through_the_service(system, officer_page, officer):
    before = snapshot()
    response = officer_page.post(
        "/admin/monitoring/pmmplan/add/",
        {
            "ai_system": SYSTEM,
            "owner": officer.pk,
            "window_days": 7,
            "min_decisions": 10,
            "metrics": '[{"metric": "deny_rate", "threshold": 0.1}]',
            "description": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    plan = PMMPlan.objects.get(ai_system_id=SYSTEM)
    assert plan.metrics == [{"metric": "deny_rate", "threshold": 0.1, "direction": "either"}]
    assert snapshot()["ledger"] == before["ledger"] + 1
    assert LedgerEntry.objects.filter(entry_type="pmm_plan.created").count() == 1
    # Bad metrics are shown on the form; nothing is written.
    again = officer_page.post(
        f"/admin/monitoring/pmmplan/{plan.pk}/change/",
        {
            "owner": officer.pk,
            "window_days": 7,
            "min_decisions": 10,
            "metrics": '[{"metric": "x"}]',
        },
    )
    assert again.status_code == 200
    assert snapshot()["ledger"] == before["ledger"] + 1


def test_interventions_in_the_admin_follow_the_visibility_rule(system, key, officer, staff_user):
    decision = decide(key, "read_ticket")
    services.intervention_record(
        user=officer,
        decision_id=decision.pk,
        intervention_type="manual_review",
        human_decision="denied",
        reason=REASON,
    )
    assert Intervention.objects.count() == 1
    officer_list = verify_session(Client(), officer).get("/admin/monitoring/intervention/")
    assert officer_list.status_code == 200
    assert (
        "manual_review" in officer_list.content.decode()
        or "Manual review" in officer_list.content.decode()
    )
    reviewer_list = verify_session(Client(), staff_user("reviewer", "rita")).get(
        "/admin/monitoring/intervention/"
    )
    assert reviewer_list.status_code == 200
    assert "0 interventions" in reviewer_list.content.decode()


def test_the_window_seam_type_matches_ours():
    # The Annex IV seam's Window is (start, end); ours has the same two fields.
    assert set(Window.__dataclass_fields__) == {"start", "end"}
