"""The incidents part of Annex IV item 9 (a provider against the techdoc contract) and the
section of an AI system's staff page, both computed from live rows: build data, read, change
the data, read again."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from apps.decisions.models import Decision
from apps.escalations import services as oversight
from apps.incidents import annex_iv, selectors, services
from tests.escalations.conftest import decide
from tests.incidents.conftest import DESCRIPTION

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class SectionPart:
    """The contract of ``apps.techdoc.annex_iv.SectionPart`` (issue 17, seam 1)."""

    title: str
    facts: dict[str, Any]
    text: str = ""
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime = field(default_factory=timezone.now)


def open_incident(officer, system, *, days_ago: float, category: str = "general", **extra):
    return services.incident_open(
        principal=officer.user,
        ai_system_id=system.pk,
        category=category,
        aware_at=timezone.now() - timedelta(days=days_ago),
        description=DESCRIPTION,
        **extra,
    )


def test_the_provider_builds_the_contracts_section_part(officer, system):
    provider = annex_iv.make_provider(SectionPart)
    window = Window(start=timezone.now() - timedelta(days=90))
    part = provider(system, window)
    assert isinstance(part, SectionPart)
    assert part.title == "Serious incidents (EU AI Act Art. 73)"
    assert part.facts["incidents"] == 0
    assert part.missing == ()
    assert "0 incident(s)" in part.text

    # Data changes, the figures follow.
    late = open_incident(
        officer, system, days_ago=3, category="widespread_or_critical_infrastructure"
    )
    open_incident(officer, system, days_ago=1, category="death", personal_data_involved=True)
    open_incident(officer, system, days_ago=200)  # before the window
    part = provider(system, window)
    assert part.facts["incidents"] == 2
    assert part.facts["by_category"] == {
        "general": 0,
        "death": 1,
        "widespread_or_critical_infrastructure": 1,
    }
    assert part.facts["art73_overdue_now"] == 1
    assert part.facts["open_incidents_now"] == 3
    assert len(part.facts["rows"]) == 2
    assert part.missing == (
        f"Art. 73 report for incident {late.pk} (due "
        f"{selectors.incident_clocks(late)[0].due_at.isoformat().replace('+00:00', 'Z')})",
    )

    # Reported (late): no longer missing, counted as late.
    services.incident_report_generate(principal=officer.user, incident_id=late.pk, kind="initial")
    services.incident_update(
        principal=officer.user, incident_id=late.pk, status="initial_report_sent"
    )
    part = provider(system, window)
    assert part.missing == ()
    assert part.facts["art73_reports_late"] == 1
    assert part.facts["art73_overdue_now"] == 0


def test_the_facts_are_json(officer, system):
    import json

    open_incident(officer, system, days_ago=1)
    fields = annex_iv.incidents_part(system, Window(start=timezone.now() - timedelta(days=30)))
    json.dumps(fields["facts"])
    assert set(fields) == {"title", "facts", "text", "missing"}


def test_the_staff_page_section_shows_clocks_and_suggestions(officer, system, agent):
    context = selectors.system_section_context(system)
    html = render_to_string("incidents/_system_section.html", context)
    assert "No serious incident has been recorded" in html
    assert "No runtime signal is waiting" in html

    incident = open_incident(officer, system, days_ago=1, personal_data_involved=True)
    answer = decide(
        agent,
        {"actor": "ai_agent:customer_service", "action": "read_ticket", "ai_system": system.pk},
    )
    stop = oversight.agent_stop(
        decision=Decision.objects.get(pk=answer["decision_id"]),
        user=officer.user,
        reason="the ranking looks discriminatory",
    )
    context = selectors.system_section_context(system)
    assert context["incidents_open"] == 1
    assert context["incidents_overdue"] == 0
    html = render_to_string("incidents/_system_section.html", context)
    assert str(incident.pk)[:10] in html
    assert "art73" in html
    assert "gdpr_art33" in html
    assert "13 d 23 h left" in html or "13 d 22 h left" in html
    assert f"agent_stop:{stop.pk}" in html
    assert DESCRIPTION not in html  # the page lists, the incident's text stays in its record


def test_the_staff_page_section_shows_todays_obligations(officer, system, settings):
    context = selectors.system_section_context(system)
    keys = {o["key"]: o for o in context["ai_act_obligations"]}
    assert keys["high_risk_annex_iii_provider"]["applies_from"] == "2026-08-02"
    html = render_to_string("incidents/_system_section.html", context)
    assert "EU AI Act obligations (calendar, original dates)" in html
    assert "Art. 8-17" in html
    settings.LEXECON_AI_ACT_REGIME = "omnibus_2026"
    context = selectors.system_section_context(system)
    keys = {o["key"]: o for o in context["ai_act_obligations"]}
    assert keys["high_risk_annex_iii_provider"]["applies_from"] == "2027-12-02"
