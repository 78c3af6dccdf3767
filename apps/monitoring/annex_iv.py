"""This app's parts of the Annex IV technical documentation (seam 1 of issue 17, ADR 0022).

Three providers, written against ``apps.techdoc.annex_iv`` (``SectionPart``, ``register_provider``):

- item 3 (monitoring, functioning and control): the human-oversight measures and how they worked;
- item 5 (the Art. 9 risk-management system): the risk summary of the period;
- item 9 (post-market performance evaluation): the Art. 72 plan and its alerts.

Each ``*_part`` function builds the part as a plain dict (``title``, ``facts``, ``text``,
``missing``) from live data; :func:`register` wraps them into providers returning ``SectionPart``
and registers them when ``apps.techdoc`` is installed (it is a lower app, built in parallel: the
import happens only then).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.apps import apps as django_apps

from apps.monitoring import selectors
from apps.monitoring.constants import Metric
from apps.monitoring.periods import Window

Part = dict[str, Any]


def _window(window: Any) -> Window:
    return Window(window.start, window.end)


def _percent(value: float | None) -> str:
    return f"{value * 100:.1f} %" if value is not None else "n/a"


def oversight_part(system: Any, window: Any) -> Part:
    """Annex IV item 3: the oversight measures in place and the Art. 14 figures of the period."""
    figures = selectors.art14_effectiveness(ai_system=system.pk, window=_window(window))
    stamp = figures["rubber_stamp"]
    times = figures["response_times"]["escalations"]
    return {
        "title": "Human oversight measures and their effectiveness (Art. 14)",
        "facts": {
            "Period": f"{figures['window']['from']} to {figures['window']['to']}",
            "Escalations opened": figures["oversight_actions"]["escalations_opened"],
            "Approved / denied / expired / open": "{approved} / {denied} / {expired} / {open}".format(
                **figures["oversight_actions"]
            ),
            "Overrides": sum(figures["oversight_actions"]["overrides"].values()),
            "Agent stops": figures["stops"]["total"],
            "Interventions recorded": figures["interventions"]["total"],
            "Override rate (human differs from AI)": _percent(figures["override_rate"]["rate"]),
            "Approval rate of escalations": _percent(stamp["approval_rate"]),
            "Median time to approve (s)": stamp["median_seconds_to_approve"],
            "Rubber-stamp floor (s)": stamp["floor_seconds"],
            "Rubber-stamping suspected": stamp["suspected"],
            "SLA compliance": _percent(figures["sla"]["compliance_rate"]),
            "Time to verdict p50 / p95 (s)": f"{times['p50_seconds']} / {times['p95_seconds']}",
            "Four-eyes approvals": figures["four_eyes"]["approved_by_two"],
        },
        "text": (
            "Requests the policy escalates, or that score at or above the risk threshold, wait "
            "for a human verdict within an SLA set per priority and fail closed (denied) when it "
            "passes; critical ones need two distinct approvers. Officers can override a decision "
            "with a written justification, stop an agent (all its tokens revoked) and record any "
            "other human intervention; each act is a ledger entry with a responsibility record "
            "naming who decided, in which role, and why."
        ),
        "missing": (),
    }


def risk_part(system: Any, window: Any) -> Part:
    """Annex IV item 5: the Art. 9 risk summary of the period."""
    summary = selectors.art9_summary(ai_system=system.pk, window=_window(window))
    levels = summary["risk"]["by_level"]
    sources = summary["top_risk_sources"]
    return {
        "title": "Risk management: decisions' risk over the period (Art. 9)",
        "facts": {
            "Period": f"{summary['window']['from']} to {summary['window']['to']}",
            "Decisions": summary["decisions"]["total"],
            "Risk levels (low / medium / high / critical)": "{low} / {medium} / {high} / {critical}".format(
                **levels
            ),
            "Mean risk score": summary["risk"]["mean_score"],
            "Denial rate": _percent(summary["rates"]["denial_rate"]),
            "Escalation rate": _percent(summary["rates"]["escalation_rate"]),
            "Top rules": ", ".join(str(row["id"]) for row in sources["rules"][:5]) or "none",
            "Top data classes": ", ".join(str(r["id"]) for r in sources["data_classes"][:5])
            or "none",
            "Open risk acceptances (overrides)": summary["open_mitigations"]["count"],
        },
        "text": (
            "Every request is scored on six risk dimensions before the policy's outcome is "
            "final; high scores are escalated to a person. Risks an officer accepts by override "
            "stay listed as open mitigations, with who accepted them and why, until a later "
            "override replaces them or they expire. The hazard analysis, affected groups and "
            "the residual-risk judgement remain the organisation's to write."
        ),
        "missing": (),
    }


def pmm_part(system: Any, window: Any) -> Part:
    """Annex IV item 9: the post-market monitoring plan, or its absence as a missing item."""
    plan = selectors.pmm_plan_of(ai_system=system.pk)
    if plan is None:
        return {
            "title": "Post-market monitoring plan (Art. 72)",
            "facts": {},
            "text": "No post-market monitoring plan is recorded for this system.",
            "missing": ("post-market monitoring plan (Art. 72(3))",),
        }
    alerts = list(selectors.drift_alerts(ai_system=system.pk, window=_window(window)))
    facts: dict[str, Any] = {
        "Owner": f"user:{plan.owner_id}",
        "Window": f"{plan.window_days} days, compared with the previous window",
        "Minimum decisions per window": plan.min_decisions,
    }
    for item in plan.metrics:
        label = Metric(item["metric"]).label
        facts[f"Metric: {label}"] = f"alert past {item['threshold']:g} ({item['direction']})"
    facts["Drift alerts in the period"] = len(alerts)
    facts["Open drift alerts"] = sum(1 for alert in alerts if alert.is_open)
    return {
        "title": "Post-market monitoring plan (Art. 72)",
        "facts": facts,
        "text": plan.description,
        "missing": (),
    }


PARTS: dict[int, tuple[str, Callable[[Any, Any], Part]]] = {
    3: ("monitoring.oversight", oversight_part),
    5: ("monitoring.risk", risk_part),
    9: ("monitoring.pmm", pmm_part),
}


def register() -> None:
    """Register the three providers with the Annex IV builder, when it is installed."""
    if not django_apps.is_installed("apps.techdoc"):
        return
    from apps.techdoc.annex_iv import SectionPart, register_provider

    def provider(build: Callable[[Any, Any], Part]) -> Callable[[Any, Any], Any]:
        def provide(system: Any, window: Any) -> Any:
            part = build(system, window)
            return SectionPart(
                title=part["title"],
                facts=part["facts"],
                text=part["text"],
                missing=tuple(part["missing"]),
            )

        return provide

    for item, (key, build) in PARTS.items():
        register_provider(item, provider(build), key=key)
