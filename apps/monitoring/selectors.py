"""Reads of the EU AI Act monitoring app: the Art. 9 summary, the Art. 14 effectiveness
figures, the Art. 72 plans and report, and what the per-system staff page shows.

Figures are system-level statistics (like the compliance status rules): whoever may read them
(agent scope ``compliance:read``, staff with ``view_dashboard``) reads every count. Rows that
carry a person's words — the justification of an accepted risk — are listed only for decisions
the reader may see (``Decision.objects.visible_to``, ADR 0017); the count says how many exist.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from apps.aisystems.models import AISystem
from apps.aisystems.selectors import ai_system_is_registered
from apps.core.exceptions import InvalidInput, NotFound
from apps.decisions.models import Decision, ResponsibilityRecord
from apps.escalations.models import Override
from apps.monitoring import aggregates, pmm
from apps.monitoring.aggregates import LEVELS, ratio
from apps.monitoring.constants import (
    MITIGATIONS_SHOWN,
    REPORT_MAX_WINDOWS,
    InterventionType,
    Metric,
)
from apps.monitoring.models import DriftAlert, Intervention, PMMPlan, PMMPlanChange
from apps.monitoring.periods import Window, day_windows, midnight, stamp
from apps.risk.models import RiskAssessment

# --- Art. 9: risk management ------------------------------------------------------------------


def _open_mitigations(*, ai_system: str | None, principal: Any, now: datetime) -> dict[str, Any]:
    """Risks accepted by override and still open: a ``risk_accepted`` override that no later
    override of the same decision replaced and that has not expired. Who accepted it and why are
    listed for the decisions ``principal`` may see (none when ``principal`` is None)."""
    later = Override.objects.filter(
        decision=OuterRef("decision"), created_at__gt=OuterRef("created_at")
    )
    accepted = (
        Override.objects.filter(override_type=Override.Type.RISK_ACCEPTED)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .exclude(Exists(later))
    )
    if ai_system:
        accepted = accepted.filter(decision__ai_system=ai_system)
    count = accepted.count()
    items: list[dict[str, Any]] = []
    if principal is not None:
        visible = accepted.filter(decision__in=Decision.objects.visible_to(principal).values("pk"))
        rows = (
            visible.select_related("decision")
            .prefetch_related(
                Prefetch(
                    "responsibility_records",
                    queryset=ResponsibilityRecord.objects.order_by("ledger_seq"),
                )
            )
            .order_by("-created_at")[:MITIGATIONS_SHOWN]
        )
        for override in rows:
            record = next(iter(override.responsibility_records.all()), None)
            items.append(
                {
                    "override_id": str(override.pk),
                    "decision_id": str(override.decision_id),
                    "ai_system": override.decision.ai_system or None,
                    "action": override.decision.action,
                    "risk_level": override.decision.risk_level,
                    "risk_score": override.decision.risk_score,
                    "previous_outcome": override.previous_outcome,
                    "accepted_by": f"user:{override.executed_by_id}",
                    "role": record.role if record else None,
                    "justification": override.justification,
                    "accepted_at": stamp(override.created_at),
                    "expires_at": stamp(override.expires_at),
                    "ledger_entry_id": override.ledger_seq,
                }
            )
    return {"count": count, "items": items, "not_shown": count - len(items)}


def art9_summary(
    *, ai_system: str | None, window: Window, principal: Any = None, now: datetime | None = None
) -> dict[str, Any]:
    """Risk management over a window (Art. 9): the decisions' risk by level and by dimension,
    the top risk sources, the denial and escalation rates, and the open mitigations."""
    now = now or timezone.now()
    decisions = aggregates.decisions_in(ai_system=ai_system, window=window)
    counts = aggregates.decision_figures(decisions)
    total = counts["total"]
    summary: dict[str, Any] = {
        "ai_system": ai_system,
        "registered": ai_system_is_registered(ai_system) if ai_system else None,
        "window": window.as_dict(),
        "decisions": {key: counts[key] for key in ("total", "allowed", "denied", "escalated")},
        "rates": {
            "denial_rate": ratio(counts["denied"], total),
            "escalation_rate": ratio(counts["escalated"], total),
        },
        "risk": {
            "by_level": {level: counts[level] for level in LEVELS},
            "mean_score": ratio(counts["risk_sum"], total, 2),
            "high_or_critical_share": ratio(counts["high"] + counts["critical"], total),
            "by_dimension": aggregates.dimension_figures(decisions),
        },
        "top_risk_sources": aggregates.top_risk_sources(ai_system=ai_system, window=window),
        "open_mitigations": _open_mitigations(ai_system=ai_system, principal=principal, now=now),
        "computed_at": stamp(now),
    }
    if not ai_system:
        # Standalone assessments (POST /risks/assess) name no AI system: shown only overall.
        assessments = RiskAssessment.objects.filter(
            created_at__gte=window.start, created_at__lt=window.end
        ).order_by()
        by_level = aggregates.count_by(assessments, "level", LEVELS)
        summary["standalone_assessments"] = {"total": sum(by_level.values()), "by_level": by_level}
    return summary


# --- Art. 14: human oversight ------------------------------------------------------------------


def rubber_stamp_floor() -> float:
    return float(settings.LEXECON_RUBBER_STAMP_SECONDS)


def art14_effectiveness(
    *, ai_system: str | None, window: Window, now: datetime | None = None
) -> dict[str, Any]:
    """How human oversight worked over a window (Art. 14), from live data: interventions by
    type, the override rate, the rubber-stamp indicator, SLA compliance, response times,
    four-eyes use and stops (docs/eu-ai-act/monitoring.md defines each)."""
    now = now or timezone.now()
    floor = rubber_stamp_floor()
    interventions = aggregates.interventions_in(ai_system=ai_system, window=window)
    by_type = aggregates.count_by(interventions, "intervention_type", InterventionType.values)
    verdicts = aggregates.verdict_figures(
        aggregates.human_records(ai_system=ai_system, window=window)
    )
    escalations = aggregates.escalations_opened(ai_system=ai_system, window=window)
    fates = aggregates.escalation_figures(escalations, now=now)
    times = aggregates.escalation_times(escalations, floor=floor)
    overrides = aggregates.overrides_in(ai_system=ai_system, window=window)
    stops = aggregates.stops_in(ai_system=ai_system, window=window).count()
    decided = fates["approved"] + fates["denied"]
    median = times["approval_median"]
    return {
        "ai_system": ai_system,
        "window": window.as_dict(),
        "interventions": {"total": sum(by_type.values()), "by_type": by_type},
        "oversight_actions": {
            "escalations_opened": fates["opened"],
            "escalations_requested_by_people": fates["escalated_by_people"],
            "approved": fates["approved"],
            "denied": fates["denied"],
            "expired": fates["expired"],
            "open": fates["open"],
            "overrides": aggregates.count_by(overrides, "override_type", Override.Type.values),
            "agent_stops": stops,
        },
        "override_rate": {
            "human_verdicts": verdicts["verdicts"],
            "differing_from_ai": verdicts["disagreements"],
            "rate": ratio(verdicts["disagreements"], verdicts["verdicts"]),
        },
        "rubber_stamp": {
            "escalations_decided": decided,
            "approval_rate": ratio(fates["approved"], decided),
            "median_seconds_to_approve": median,
            "floor_seconds": floor,
            "approvals_under_floor": times["approvals_under_floor"],
            "suspected": (median < floor) if median is not None else None,
        },
        "sla": {
            "met": fates["sla_met"],
            "breached": fates["sla_breached"],
            "open_within_sla": fates["open_within_sla"],
            "compliance_rate": ratio(fates["sla_met"], fates["sla_met"] + fates["sla_breached"]),
        },
        "response_times": {
            "escalations": {
                "count": times["decided"],
                "p50_seconds": times["p50"],
                "p95_seconds": times["p95"],
            },
            "interventions": _intervention_times(interventions),
        },
        "four_eyes": {
            "approved": fates["approved"],
            "approved_by_two": fates["approved_by_two"],
            "share": ratio(fates["approved_by_two"], fates["approved"]),
            "awaiting_second_approval": fates["awaiting_second_approval"],
        },
        "stops": {
            "agent_stops": stops,
            "emergency_stop_interventions": by_type[InterventionType.EMERGENCY_STOP],
            "total": stops + by_type[InterventionType.EMERGENCY_STOP],
        },
        "computed_at": stamp(now),
    }


def _intervention_times(interventions: QuerySet) -> dict[str, Any]:
    def as_seconds(ms: int | None) -> float | None:
        return ms / 1000 if ms is not None else None

    return {
        "count": interventions.filter(response_time_ms__isnull=False).count(),
        "p50_seconds": as_seconds(aggregates.nearest_rank(interventions, "response_time_ms", 50)),
        "p95_seconds": as_seconds(aggregates.nearest_rank(interventions, "response_time_ms", 95)),
    }


# --- Art. 72: plans ---------------------------------------------------------------------------


def _plans() -> QuerySet[PMMPlan]:
    return PMMPlan.objects.filter(deleted_at__isnull=True).prefetch_related(
        Prefetch("changes", queryset=PMMPlanChange.objects.order_by("ledger_seq"))
    )


def pmm_plan_list(*, ai_system: str | None = None) -> QuerySet[PMMPlan]:
    """The live plans, by AI system."""
    plans = _plans().order_by("ai_system_id")
    return plans.filter(ai_system_id=ai_system) if ai_system else plans


def pmm_plan_get(*, plan_id: Any) -> PMMPlan:
    plan = _plans().filter(pk=plan_id).first()
    if plan is None:
        raise NotFound("No such monitoring plan.", details={"plan_id": str(plan_id)})
    return plan


def pmm_plan_of(*, ai_system: str) -> PMMPlan | None:
    return _plans().filter(ai_system_id=ai_system).first()


def pmm_plan_as_dict(plan: PMMPlan) -> dict[str, Any]:
    return {
        "id": str(plan.pk),
        "ai_system": plan.ai_system_id,
        "owner": f"user:{plan.owner_id}",
        "window_days": plan.window_days,
        "min_decisions": plan.min_decisions,
        "metrics": plan.metrics,
        "description": plan.description,
        "created_by": plan.created_by,
        "created_at": stamp(plan.created_at),
        "updated_at": stamp(plan.updated_at),
        "ledger_entry_ids": [change.ledger_seq for change in plan.changes.all()],
    }


def drift_alert_as_dict(alert: DriftAlert) -> dict[str, Any]:
    return {
        "id": str(alert.pk),
        "ai_system": alert.ai_system_id,
        "plan_id": str(alert.plan_id),
        "metric": alert.metric,
        "direction": alert.direction,
        "threshold": alert.threshold,
        "window": {
            "first_day": alert.window_start.isoformat(),
            "end": alert.window_end.isoformat(),
        },
        "value": alert.value,
        "previous_value": alert.previous_value,
        "change": alert.change,
        "fired_at": stamp(alert.fired_at),
        "ledger_entry_id": alert.ledger_seq,
        "open": alert.is_open,
        "cleared_at": stamp(alert.cleared_at),
        "cleared_ledger_entry_id": alert.cleared_ledger_seq,
        "mailed_to": alert.mailed_to,
    }


def drift_alerts(*, ai_system: str, window: Window | None = None) -> QuerySet[DriftAlert]:
    """The system's alerts fired in the window, and every one still open; newest first."""
    alerts = DriftAlert.objects.filter(ai_system_id=ai_system)
    if window is not None:
        alerts = alerts.filter(
            Q(fired_at__gte=window.start, fired_at__lt=window.end) | Q(cleared_at__isnull=True)
        )
    return alerts.order_by("-fired_at")


# --- Art. 72: the report ----------------------------------------------------------------------


def art72_report(*, ai_system: str, window: Window, now: datetime | None = None) -> dict[str, Any]:
    """The plan's metrics over consecutive windows of ``window_days`` whole UTC days covering the
    period (the last one ends with the day of ``to``), each compared with the window before it,
    and the system's drift alerts. ``NotFound`` without a live plan."""
    now = now or timezone.now()
    plan = pmm_plan_of(ai_system=ai_system)
    if plan is None:
        registered = AISystem.objects.filter(pk=ai_system).exists()
        raise NotFound(
            "This AI system has no post-market monitoring plan."
            if registered
            else "No AI system is registered with that id.",
            details={"ai_system": ai_system},
        )
    windows = day_windows(window, plan.window_days)
    if len(windows) > REPORT_MAX_WINDOWS:
        raise InvalidInput(
            f"The report lists at most {REPORT_MAX_WINDOWS} windows of {plan.window_days} days: "
            "shorten the period.",
            details={"windows": len(windows)},
        )
    first = windows[0].previous()
    span = Window(midnight(first.first), midnight(windows[-1].end))
    incidents = aggregates.incidents_in(ai_system=ai_system, window=span)
    tracked = incidents is not None
    daily = aggregates.daily_figures(ai_system=ai_system, window=span, now=now, incidents=incidents)
    previous = pmm.metric_values(pmm.sum_days(daily, first), incidents_tracked=tracked)
    rows = []
    for day_window in windows:
        totals = pmm.sum_days(daily, day_window)
        values = pmm.metric_values(totals, incidents_tracked=tracked)
        row: dict[str, Any] = {
            "first_day": day_window.first.isoformat(),
            "end": day_window.end.isoformat(),
            "complete": midnight(day_window.end) <= now,
            **{metric: pmm.rounded(metric, value) for metric, value in values.items()},
            "risk_mix": {level: int(totals[level]) for level in LEVELS},
            "drift": [
                pmm.compare(item, values, previous, min_decisions=plan.min_decisions)
                for item in plan.metrics
            ],
        }
        rows.append(row)
        previous = values
    return {
        "ai_system": ai_system,
        "plan": pmm_plan_as_dict(plan),
        "window": window.as_dict(),
        "window_days": plan.window_days,
        "incidents_tracked": tracked,
        "metrics": [item["metric"] for item in plan.metrics],
        "windows": rows,
        "alerts": [
            drift_alert_as_dict(a) for a in drift_alerts(ai_system=ai_system, window=window)
        ],
        "computed_at": stamp(now),
    }


# --- The per-system staff page ----------------------------------------------------------------


def system_section_context(ai_system: Any, *, principal: Any = None) -> dict[str, Any]:
    """What ``templates/monitoring/_system_section.html`` shows on an AI system's staff page:
    the Art. 9 summary and Art. 14 figures of the last ``LEXECON_COMPLIANCE_WINDOW_DAYS`` days,
    and the Art. 72 plan with its open and recent alerts. ``ai_system`` is the system or its id;
    justifications of accepted risks are listed only with a ``principal`` who may see them."""
    system_id = getattr(ai_system, "pk", ai_system)
    now = timezone.now()
    window = Window(now - timedelta(days=settings.LEXECON_COMPLIANCE_WINDOW_DAYS), now)
    plan = pmm_plan_of(ai_system=system_id)
    return {
        "monitoring": {
            "ai_system": system_id,
            "window": window.as_dict(),
            "art9": art9_summary(ai_system=system_id, window=window, principal=principal, now=now),
            "art14": art14_effectiveness(ai_system=system_id, window=window, now=now),
            "plan": pmm_plan_as_dict(plan) if plan else None,
            "alerts": [
                drift_alert_as_dict(alert)
                for alert in drift_alerts(ai_system=system_id, window=window)[:20]
            ],
            "metric_labels": dict(Metric.choices),
        }
    }


# --- Interventions, one by one (the original Lexecon's Art. 14 routes, apps.compat) ------------


def interventions_visible(
    *, principal: Any, window: Window | None = None
) -> QuerySet[Intervention]:
    """Interventions on decisions ``principal`` may see (``Decision.objects.visible_to``), oldest
    first; within ``window`` when given."""
    queryset = Intervention.objects.filter(
        decision__in=Decision.objects.visible_to(principal).values("pk")
    ).select_related("user")
    if window is not None:
        queryset = queryset.filter(created_at__gte=window.start, created_at__lt=window.end)
    return queryset.order_by("created_at", "id")


def intervention_get(*, principal: Any, intervention_id: Any) -> Intervention:
    found = interventions_visible(principal=principal).filter(pk=intervention_id).first()
    if found is None:
        raise NotFound("No such intervention.")
    return found


def intervention_as_dict(intervention: Intervention) -> dict[str, Any]:
    """An intervention's facts without its free-text reason (kept off signed and exported
    copies: it is personal data that retention may erase)."""
    return {
        "intervention_id": str(intervention.pk),
        "decision_id": str(intervention.decision_id),
        "ai_system": intervention.ai_system or None,
        "intervention_type": intervention.intervention_type,
        "ai_recommendation": intervention.ai_recommendation,
        "human_decision": intervention.human_decision,
        "role": intervention.role,
        "recorded_by": f"user:{intervention.user_id}",  # type: ignore[attr-defined]
        "recorded_at": stamp(intervention.created_at),
        "response_time_ms": intervention.response_time_ms,
        "ledger_entry_id": intervention.ledger_seq,
    }
