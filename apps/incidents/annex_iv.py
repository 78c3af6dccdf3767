"""Annex IV item 9, the incidents part: what the post-market evaluation of one AI system knows
about its serious incidents over the document's window.

Written against the section-provider contract of ``apps.techdoc.annex_iv`` (issue 17, seam 1):
a provider is ``(AISystem, Window) -> SectionPart | None`` where ``SectionPart`` has ``title``,
``facts`` (JSON-able figures and rows), ``text`` (plain prose) and ``missing`` (names of required
things still missing). This module does not import ``apps.techdoc``: ``make_provider`` is given
its ``SectionPart`` class by ``IncidentsConfig.ready`` when that app is installed, and the figures
themselves come from :func:`incidents_part`, which tests read directly. Everything is computed
from live rows at the time the document is built.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from django.utils import timezone

from apps.aisystems.models import AISystem
from apps.incidents import clocks, selectors, suggestions
from apps.incidents.constants import Category, Clock, Status

ITEM = 9
TITLE = "Serious incidents (EU AI Act Art. 73)"


class Window(Protocol):
    start: datetime
    end: datetime


def incidents_part(system: AISystem, window: Window) -> dict[str, Any]:
    """The fields of the incidents ``SectionPart`` for ``system`` over ``window``: incidents the
    organisation became aware of in the window, by category and state, whether each clock was
    met, what is overdue now (listed as missing), and the suggestions still waiting."""
    now = timezone.now()
    in_window = [
        incident
        for incident in selectors.incident_list(ai_system=system.pk)
        if window.start <= incident.aware_at < window.end
    ]
    open_now = selectors.incident_list(ai_system=system.pk).exclude(status=Status.CLOSED).count()
    rows: list[dict[str, Any]] = []
    missing: list[str] = []
    states: Counter[tuple[str, str]] = Counter()
    for incident in in_window:
        clock_states = selectors.incident_clocks(incident, now=now)
        for state in clock_states:
            states[(state.clock, state.state)] += 1
            if state.state == clocks.OVERDUE:
                what = (
                    "Art. 73 report" if state.clock == Clock.ART73 else "GDPR Art. 33 notification"
                )
                missing.append(
                    f"{what} for incident {incident.pk} (due {clocks.rfc3339(state.due_at)})"
                )
        art73 = clock_states[0]
        rows.append(
            {
                "incident": str(incident.pk),
                "category": incident.category,
                "aware_at": clocks.rfc3339(incident.aware_at),
                "status": incident.status,
                "report_due_at": clocks.rfc3339(art73.due_at),
                "report_clock": art73.state,
                "reports": len(incident.reports.all()),
            }
        )
    by_category = Counter(i.category for i in in_window)
    by_status = Counter(i.status for i in in_window)
    waiting = suggestions.suggestions_list(now=now, ai_system=system.pk)
    facts = {
        "window": f"{clocks.rfc3339(window.start)} to {clocks.rfc3339(window.end)}",
        "incidents": len(in_window),
        "by_category": {c: by_category.get(c, 0) for c in Category.values},
        "by_status": {s: by_status.get(s, 0) for s in Status.values},
        "art73_reports_on_time": states[(Clock.ART73, clocks.MET)],
        "art73_reports_late": states[(Clock.ART73, clocks.LATE)],
        "art73_overdue_now": states[(Clock.ART73, clocks.OVERDUE)],
        "gdpr_notifications_on_time": states[(Clock.GDPR_ART33, clocks.MET)],
        "gdpr_notifications_late": states[(Clock.GDPR_ART33, clocks.LATE)],
        "gdpr_overdue_now": states[(Clock.GDPR_ART33, clocks.OVERDUE)],
        "open_incidents_now": open_now,
        "suggestions_waiting": len(waiting),
        "rows": rows,
    }
    text = (
        f"Serious incidents of {system.name} {system.version} are recorded in Lexecon with the "
        "moment the organisation became aware of them; the Art. 73 reporting deadline (15 days, "
        "10 days for a death, 2 days for a widespread infringement or a critical-infrastructure "
        "disruption) and, when personal data are involved, the GDPR Art. 33 72-hour deadline are "
        "computed from that moment, warned of by e-mail before they pass, and every state change "
        "and report version is a ledger entry. Runtime signals (stopped agents, emergency "
        "bypasses, deny-rate spikes) are proposed as incidents for an officer to accept or "
        f"dismiss. In this window: {len(in_window)} incident(s), {open_now} open now, "
        f"{len(waiting)} suggestion(s) waiting."
    )
    return {"title": TITLE, "facts": facts, "text": text, "missing": tuple(missing)}


def make_provider(section_part: Callable[..., Any]) -> Callable[[AISystem, Window], Any]:
    """The Annex IV provider for item 9, building ``section_part`` objects (``SectionPart`` of
    ``apps.techdoc.annex_iv``) from :func:`incidents_part`."""

    def incidents_provider(system: AISystem, window: Window) -> Any:
        return section_part(**incidents_part(system, window))

    incidents_provider.__name__ = "incidents_provider"
    return incidents_provider
