"""Writes of the EU AI Act monitoring app: Art. 14 interventions, Art. 72 plans, drift alerts.

Each write appends its ledger entry in the same transaction as its rows (STYLE: an audit failure
fails the action); e-mails go out after commit through the ``monitoring.drift_alert_mail`` task.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any

from celery import current_app
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.principals import actor_of, is_person, system_actor
from apps.aisystems.models import AISystem
from apps.aisystems.services import commit_text
from apps.core.exceptions import Conflict, InvalidInput, NotFound, PermissionDeniedError
from apps.decisions import records
from apps.decisions.models import Decision
from apps.ledger import events
from apps.ledger import services as ledger
from apps.ledger.entry_types import EntryType
from apps.monitoring import aggregates, pmm
from apps.monitoring.constants import (
    IMPLIED_DECISION,
    INTERVENTION_LEVEL,
    PLAN_DESCRIPTION_MAX_LENGTH,
    PLAN_WINDOW_DAYS_MAX,
    REASON_MAX_LENGTH,
    REASON_MIN_LENGTH,
    RESPONSE_TIME_MAX_MS,
    VERDICTS,
    Direction,
    InterventionType,
    Metric,
)
from apps.monitoring.models import DriftAlert, Intervention, PMMPlan, PMMPlanChange
from apps.monitoring.periods import DayWindow, Window, latest_complete

# Who may record an intervention (ADR 0022): people who take part in oversight.
INTERVENE = ("accounts.resolve_escalation", "accounts.execute_override")
MANAGE_PLANS = "accounts.manage_policies"
PMM_SYSTEM = system_actor("pmm", "post-market monitoring check")


def can_intervene(user: Any) -> bool:
    return is_person(user) and any(user.has_perm(perm) for perm in INTERVENE)


def _roles_of(user: Any) -> list[str]:
    return sorted(group.name for group in user.groups.all())


# --- Art. 14: interventions ------------------------------------------------------------------


def intervention_record(
    *,
    user: Any,
    decision_id: Any,
    intervention_type: str,
    reason: str,
    human_decision: str | None = None,
    ai_recommendation: str | None = None,
    role: str | None = None,
    response_time_ms: int | None = None,
) -> Intervention:
    """Record a human intervention on a decision ``user`` may see (Art. 14): an
    ``intervention.recorded`` entry, the ``Intervention`` row and a responsibility record of kind
    ``intervention``, in one transaction. The decision's outcome is not changed.

    ``ai_recommendation`` defaults to the engine's recommendation for the decision; an
    escalation's ``human_decision`` is ``escalated`` and an emergency stop's ``stopped`` (implied
    when left out). An approval agrees with the recommendation and an override does not; anything
    else is ``InvalidInput``. ``role`` is one of the user's roles (default: all of them)."""
    if not can_intervene(user):
        raise PermissionDeniedError(
            "Recording an intervention needs the resolve_escalation or execute_override permission."
        )
    decision = Decision.objects.visible_to(user).filter(pk=decision_id).first()
    if decision is None:
        raise NotFound("No such decision.", details={"decision_id": str(decision_id)})
    if intervention_type not in InterventionType.values:
        raise InvalidInput(
            f"Unknown intervention type {intervention_type!r}.",
            details={"intervention_type": list(InterventionType.values)},
        )
    recommendation = ai_recommendation or records.engine_recommendation(decision)
    human = _human_decision(intervention_type, human_decision, recommendation)
    roles = _roles_of(user)
    if role is not None and role not in roles:
        raise InvalidInput(
            "role must be one of your own roles.", details={"role": role, "yours": roles}
        )
    acted_as = role or ",".join(roles) or "staff"
    reason = (reason or "").strip()
    if not REASON_MIN_LENGTH <= len(reason) <= REASON_MAX_LENGTH:
        raise InvalidInput(
            f"The reason must be {REASON_MIN_LENGTH} to {REASON_MAX_LENGTH} characters.",
            details={"reason": f"{REASON_MIN_LENGTH}-{REASON_MAX_LENGTH} characters"},
        )
    if response_time_ms is not None and not 0 <= response_time_ms <= RESPONSE_TIME_MAX_MS:
        raise InvalidInput(
            "response_time_ms is between 0 and 30 days.",
            details={"response_time_ms": response_time_ms},
        )
    commitment, salt = ledger.commit_personal(reason)
    actor = {**actor_of(user), "role": acted_as}
    intervention_id = uuid.uuid4()
    with transaction.atomic():
        appended = ledger.ledger_append(
            entry_type=EntryType.INTERVENTION_RECORDED,
            payload={
                **events.envelope(
                    actor=actor, subject_type="decision", subject_id=str(decision.pk)
                ),
                "intervention_id": str(intervention_id),
                "decision_id": str(decision.pk),
                "ai_system": decision.ai_system,
                "intervention_type": intervention_type,
                "ai_recommendation": recommendation,
                "human_decision": human,
                "role": acted_as,
                "reason_commitment": commitment,
                "response_time_ms": response_time_ms,
            },
        )
        intervention = Intervention(
            id=intervention_id,
            decision=decision,
            ai_system=decision.ai_system,
            intervention_type=intervention_type,
            ai_recommendation=recommendation,
            human_decision=human,
            user=user,
            role=acted_as,
            reason=reason,
            reason_salt=salt,
            reason_commitment=commitment,
            response_time_ms=response_time_ms,
            ledger_seq=appended.seq,
        )
        intervention.save(force_insert=True)
        records.responsibility_record(
            ledger_seq=appended.seq,
            decision=decision,
            kind=records.Kind.INTERVENTION,
            actor=actor,
            user=user,
            level=INTERVENTION_LEVEL[InterventionType(intervention_type)],
            reason=reason,
            human_decision=f"{human} ({intervention_type})",
            ai_recommendation=recommendation,
        )
    return intervention


def _human_decision(kind: str, given: str | None, recommendation: str) -> str:
    """The human decision an intervention of ``kind`` may state (see ``intervention_record``)."""
    implied = IMPLIED_DECISION.get(InterventionType(kind))
    if implied is not None:
        if given not in (None, implied):
            raise InvalidInput(
                f"The human decision of an {kind} is {implied.value}.",
                details={"human_decision": given},
            )
        return implied.value
    if given not in VERDICTS:
        raise InvalidInput(
            f"An {kind} decides: human_decision is 'allowed' or 'denied'.",
            details={"human_decision": given},
        )
    if kind == InterventionType.APPROVAL and given != recommendation:
        raise InvalidInput(
            "An approval agrees with the AI recommendation; one that does not is an override.",
            details={"human_decision": given, "ai_recommendation": recommendation},
        )
    if kind == InterventionType.OVERRIDE and given == recommendation:
        raise InvalidInput(
            "An override differs from the AI recommendation; one that agrees is an approval.",
            details={"human_decision": given, "ai_recommendation": recommendation},
        )
    return str(given)


# --- Art. 72: plans --------------------------------------------------------------------------

PLAN_FIELDS = ("owner", "window_days", "min_decisions", "metrics", "description")


def clean_metrics(metrics: Any) -> list[dict[str, Any]]:
    """A plan's metric list, checked and normalised (direction defaults to ``either``)."""
    problems: list[str] = []
    cleaned: list[dict[str, Any]] = []
    if not isinstance(metrics, list) or not metrics:
        raise InvalidInput("metrics is a non-empty list.", details={"metrics": "non-empty list"})
    for index, item in enumerate(metrics):
        if not isinstance(item, Mapping) or not set(item) <= {"metric", "threshold", "direction"}:
            problems.append(f"[{index}]: an object with metric, threshold and direction")
            continue
        metric, threshold = item.get("metric"), item.get("threshold")
        direction = item.get("direction", Direction.EITHER.value)
        if metric not in Metric.values:
            problems.append(f"[{index}].metric: one of {', '.join(Metric.values)}")
        elif metric == Metric.INCIDENTS and aggregates.incident_model() is None:
            problems.append(f"[{index}].metric: incidents are not tracked here (no apps.incidents)")
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            problems.append(f"[{index}].threshold: a number")
        elif not 0 <= threshold <= 1_000_000:
            problems.append(f"[{index}].threshold: between 0 and 1000000")
        if direction not in Direction.values:
            problems.append(f"[{index}].direction: up, down or either")
        cleaned.append(
            {"metric": metric, "threshold": float(threshold or 0), "direction": direction}
        )
    seen = [item["metric"] for item in cleaned]
    if len(seen) != len(set(seen)):
        problems.append("each metric at most once")
    if problems:
        raise InvalidInput("The plan's metrics are not valid.", details={"metrics": problems})
    return cleaned


def _validate_plan(plan: PMMPlan) -> None:
    problems: dict[str, str] = {}
    if not 1 <= plan.window_days <= PLAN_WINDOW_DAYS_MAX:
        problems["window_days"] = f"1 to {PLAN_WINDOW_DAYS_MAX} days"
    if plan.min_decisions < 0:
        problems["min_decisions"] = "0 or more"
    if len(plan.description) > PLAN_DESCRIPTION_MAX_LENGTH:
        problems["description"] = f"at most {PLAN_DESCRIPTION_MAX_LENGTH} characters"
    if plan.owner is None or not plan.owner.is_active:
        problems["owner"] = "an active user"
    if problems:
        raise InvalidInput("The plan is not valid; nothing was written.", details=problems)


def _plan_payload(plan: PMMPlan, actor: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **events.envelope(actor=dict(actor), subject_type="pmm_plan", subject_id=str(plan.pk)),
        "plan_id": str(plan.pk),
        "ai_system_id": plan.ai_system_id,
        "owner": f"user:{plan.owner_id}",
        "window_days": plan.window_days,
        "min_decisions": plan.min_decisions,
        "metrics": plan.metrics,
        "description_commitment": (
            commit_text(plan.description, plan.text_salt) if plan.description else None
        ),
    }


def _record_change(
    plan: PMMPlan,
    actor: Mapping[str, Any],
    entry_type: str,
    payload: dict[str, Any],
    changed: Sequence[str],
) -> None:
    entry = ledger.ledger_append(entry_type=entry_type, payload=payload)
    PMMPlanChange.objects.create(
        plan=plan,
        ledger_seq=entry.seq,
        entry_type=entry_type,
        changed=list(changed),
        actor=actor["id"],
    )


def _require_manager(principal: Any) -> None:
    if not (is_person(principal) and principal.has_perm(MANAGE_PLANS)):
        raise PermissionDeniedError(
            "Managing monitoring plans needs the manage_policies permission."
        )


def pmm_plan_create(
    *,
    principal: Any,
    ai_system_id: str,
    owner: Any,
    metrics: Any,
    window_days: int = 7,
    min_decisions: int = 10,
    description: str = "",
) -> PMMPlan:
    """Give a registered AI system its post-market monitoring plan (``pmm_plan.created``);
    ``Conflict`` if it has a live one already."""
    _require_manager(principal)
    system = AISystem.objects.filter(pk=ai_system_id).first()
    if system is None:
        raise InvalidInput(
            "ai_system names a registered AI system.", details={"ai_system": ai_system_id}
        )
    actor = actor_of(principal)
    plan = PMMPlan(
        ai_system=system,
        owner=owner,
        window_days=window_days,
        min_decisions=min_decisions,
        metrics=clean_metrics(metrics),
        description=(description or "").strip(),
        text_salt=secrets.token_hex(16),
        created_by=actor["id"],
    )
    _validate_plan(plan)
    taken = Conflict(
        "This AI system has a monitoring plan already; change it or delete it first.",
        details={"ai_system": ai_system_id},
    )
    if PMMPlan.objects.filter(ai_system=system, deleted_at__isnull=True).exists():
        raise taken
    try:
        with transaction.atomic():
            plan.save(force_insert=True)
            _record_change(
                plan, actor, EntryType.PMM_PLAN_CREATED, _plan_payload(plan, actor), PLAN_FIELDS
            )
    except IntegrityError:
        if PMMPlan.objects.filter(ai_system=system, deleted_at__isnull=True).exists():
            raise taken from None
        raise
    return plan


def _live_plan_for_update(plan_id: Any) -> PMMPlan:
    plan = (
        PMMPlan.objects.select_for_update(no_key=True)
        .filter(pk=plan_id, deleted_at__isnull=True)
        .first()
    )
    if plan is None:
        raise NotFound("No such monitoring plan.", details={"plan_id": str(plan_id)})
    return plan


@transaction.atomic
def pmm_plan_update(*, principal: Any, plan_id: Any, changes: Mapping[str, Any]) -> PMMPlan:
    """Change some of a plan's fields (``owner`` a user); the fields that really changed are
    recorded (``pmm_plan.updated``); a change to the current values writes nothing."""
    _require_manager(principal)
    unknown = sorted(set(changes) - set(PLAN_FIELDS))
    if unknown:
        raise InvalidInput(
            "These fields cannot be changed.",
            details={"fields": unknown, "changeable": list(PLAN_FIELDS)},
        )
    plan = _live_plan_for_update(plan_id)
    wanted = dict(changes)
    if "metrics" in wanted:
        wanted["metrics"] = clean_metrics(wanted["metrics"])
    if "description" in wanted:
        wanted["description"] = (wanted["description"] or "").strip()

    def differs(field: str) -> bool:
        if field == "owner":
            return plan.owner_id != getattr(wanted[field], "pk", None)
        return getattr(plan, field) != wanted[field]

    changed = [field for field in PLAN_FIELDS if field in wanted and differs(field)]
    if not changed:
        return plan
    for field in changed:
        setattr(plan, field, wanted[field])
    _validate_plan(plan)
    plan.save(update_fields=[*changed, "updated_at"])
    actor = actor_of(principal)
    payload = {**_plan_payload(plan, actor), "changed": changed}
    _record_change(plan, actor, EntryType.PMM_PLAN_UPDATED, payload, changed)
    return plan


@transaction.atomic
def pmm_plan_delete(*, principal: Any, plan_id: Any, now: datetime | None = None) -> PMMPlan:
    """Withdraw a plan (``pmm_plan.deleted``): it stops being evaluated, its open alerts are
    cleared, its row and history stay; the system may then get a new plan."""
    _require_manager(principal)
    plan = _live_plan_for_update(plan_id)
    now = now or timezone.now()
    actor = actor_of(principal)
    open_alerts = list(plan.alerts.select_for_update(no_key=True).filter(cleared_at__isnull=True))
    for alert in open_alerts:
        _clear(alert, now=now, reason="the monitoring plan was deleted", actor=actor)
    plan.deleted_at = now
    plan.save(update_fields=["deleted_at", "updated_at"])
    payload = {
        **events.envelope(actor=actor, subject_type="pmm_plan", subject_id=str(plan.pk)),
        "plan_id": str(plan.pk),
        "ai_system_id": plan.ai_system_id,
        "alerts_cleared": len(open_alerts),
    }
    _record_change(plan, actor, EntryType.PMM_PLAN_DELETED, payload, [])
    return plan


# --- Art. 72: the periodic check and its alerts ---------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    plans: int
    fired: int
    cleared: int


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _fire(
    plan: PMMPlan, compared: Mapping[str, Any], current: DayWindow, *, now: datetime
) -> DriftAlert:
    alert_id = uuid.uuid4()
    value, previous = float(compared["value"]), float(compared["previous"])
    change = round(value - previous, 6)
    appended = ledger.ledger_append(
        entry_type=EntryType.DRIFT_ALERT_FIRED,
        payload={
            **events.envelope(
                actor=PMM_SYSTEM,
                subject_type="drift_alert",
                subject_id=str(alert_id),
                reason=f"{compared['metric']} moved past its threshold against the previous window",
            ),
            "alert_id": str(alert_id),
            "plan_id": str(plan.pk),
            "ai_system_id": plan.ai_system_id,
            "metric": compared["metric"],
            "window_start": current.first.isoformat(),
            "window_end": current.end.isoformat(),
            "value": value,
            "previous_value": previous,
            "change": change,
            "threshold": float(compared["threshold"]),
            "direction": compared["direction"],
        },
    )
    alert = DriftAlert.objects.create(
        id=alert_id,
        plan=plan,
        ai_system_id=plan.ai_system_id,
        metric=compared["metric"],
        direction=compared["direction"],
        threshold=compared["threshold"],
        window_start=current.first,
        window_end=current.end,
        value=value,
        previous_value=previous,
        change=change,
        ledger_seq=appended.seq,
        fired_at=now,
    )
    task = current_app.tasks["monitoring.drift_alert_mail"]
    transaction.on_commit(partial(task.delay, str(alert.pk)))
    return alert


def _clear(
    alert: DriftAlert,
    *,
    now: datetime,
    reason: str,
    actor: Mapping[str, Any] = PMM_SYSTEM,
    compared: Mapping[str, Any] | None = None,
    current: DayWindow | None = None,
) -> None:
    appended = ledger.ledger_append(
        entry_type=EntryType.DRIFT_ALERT_CLEARED,
        payload={
            **events.envelope(
                actor=dict(actor),
                subject_type="drift_alert",
                subject_id=str(alert.pk),
                reason=reason,
            ),
            "alert_id": str(alert.pk),
            "plan_id": str(alert.plan_id),
            "ai_system_id": alert.ai_system_id,
            "metric": alert.metric,
            "window_start": _day(current.first if current else None),
            "window_end": _day(current.end if current else None),
            "value": float(compared["value"]) if compared else None,
            "previous_value": float(compared["previous"]) if compared else None,
        },
    )
    alert.cleared_at = now
    alert.cleared_ledger_seq = appended.seq
    alert.save(update_fields=["cleared_at", "cleared_ledger_seq"])


def pmm_plan_evaluate(*, plan_id: Any, now: datetime | None = None) -> tuple[int, int]:
    """Compare each metric of a live plan over the last complete window against the window
    before it; fire an alert for a metric past its threshold that has no open alert, clear the
    open alert of a metric back within it (or no longer in the plan). One transaction under the
    plan's row lock, so concurrent checks cannot fire twice. Returns (fired, cleared)."""
    now = now or timezone.now()
    with transaction.atomic():
        plan = (
            PMMPlan.objects.select_for_update(no_key=True)
            .filter(pk=plan_id, deleted_at__isnull=True)
            .first()
        )
        if plan is None:
            return 0, 0
        current = latest_complete(now, plan.window_days)
        previous = current.previous()
        span = Window(previous.bounds().start, current.bounds().end)
        incidents = aggregates.incidents_in(ai_system=plan.ai_system_id, window=span)
        daily = aggregates.daily_figures(
            ai_system=plan.ai_system_id, window=span, now=now, incidents=incidents
        )
        tracked = incidents is not None
        values_now = pmm.metric_values(pmm.sum_days(daily, current), incidents_tracked=tracked)
        values_before = pmm.metric_values(pmm.sum_days(daily, previous), incidents_tracked=tracked)
        open_alerts = {
            alert.metric: alert
            for alert in plan.alerts.select_for_update(no_key=True).filter(cleared_at__isnull=True)
        }
        fired = cleared = 0
        for item in plan.metrics:
            compared = pmm.compare(
                item, values_now, values_before, min_decisions=plan.min_decisions
            )
            alert = open_alerts.pop(item["metric"], None)
            if compared["breached"] and alert is None:
                _fire(plan, compared, current, now=now)
                fired += 1
            elif compared["breached"] is False and alert is not None:
                _clear(
                    alert,
                    now=now,
                    reason="the metric is back within its threshold",
                    compared=compared,
                    current=current,
                )
                cleared += 1
        for alert in open_alerts.values():  # metrics the plan no longer watches
            _clear(alert, now=now, reason="the metric is no longer in the monitoring plan")
            cleared += 1
    return fired, cleared


def pmm_check(*, now: datetime | None = None) -> CheckResult:
    """The periodic check (task ``monitoring.pmm_check``): evaluate every live plan, each in its
    own transaction. Idempotent: a second run over the same complete window changes nothing."""
    now = now or timezone.now()
    fired = cleared = 0
    plan_ids = list(PMMPlan.objects.filter(deleted_at__isnull=True).values_list("pk", flat=True))
    for plan_id in plan_ids:
        plan_fired, plan_cleared = pmm_plan_evaluate(plan_id=plan_id, now=now)
        fired += plan_fired
        cleared += plan_cleared
    return CheckResult(plans=len(plan_ids), fired=fired, cleared=cleared)


def drift_alert_mail_send(*, alert_id: Any) -> int:
    """E-mail a fired alert to the AI system's owner and the plan's owner (each once, if they
    have an address). No personal data: ids, metric, windows, values and links. Records how many
    were sent on the alert."""
    alert = DriftAlert.objects.select_related("plan", "plan__ai_system").filter(pk=alert_id).first()
    if alert is None:
        raise NotFound("No such drift alert.")
    system = alert.plan.ai_system
    owner_ids = {system.owner_id, alert.plan.owner_id} - {None}
    users = get_user_model().objects.filter(pk__in=owner_ids, is_active=True).exclude(email="")
    base = getattr(settings, "LEXECON_PUBLIC_URL", "").rstrip("/")
    moved = "rose" if alert.change > 0 else "fell"
    subject = (
        f"[Lexecon] Drift alert: {alert.metric} of {system.pk} {moved} by {abs(alert.change):g}"
    )
    body = "\n".join(
        [
            f"A monitored metric of the AI system {system.pk} ({system.name}) moved past its "
            "threshold (EU AI Act Art. 72 post-market monitoring).",
            "",
            f"Metric: {alert.metric} ({Metric(alert.metric).label})",
            f"Window: {alert.window_start} to {alert.window_end} (UTC days, end excluded)",
            f"Value: {alert.value:g} (previous window: {alert.previous_value:g})",
            f"Change: {alert.change:+g}; threshold {alert.threshold:g} ({alert.direction})",
            f"Alert: {alert.pk} (ledger entry #{alert.ledger_seq})",
            "",
            f"The system's page (sign-in with a one-time code required): "
            f"{base}/compliance/eu-ai-act/systems/{system.pk}/",
            f"The Art. 72 report: {base}/compliance/eu-ai-act/article-72/report?ai_system={system.pk}",
        ]
    )
    sent = 0
    for user in users:
        sent += send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    DriftAlert.objects.filter(pk=alert.pk).update(mailed_to=sent)
    return sent


# --- Erasure (ADR 0021): registered with the retention sweep by MonitoringConfig.ready -----------


def intervention_texts_erase(decision_ids: list[Any]) -> int:
    """Blank the reasons (and their salts) people gave for interventions on these decisions; the
    ledger's ``reason_commitment`` can then no longer be opened. The number of rows changed."""
    return (
        Intervention.objects.filter(decision_id__in=decision_ids)
        .exclude(reason="", reason_salt="")
        .update(reason="", reason_salt="")
    )


def intervention_decision_ids(decision_ids: list[Any]) -> set[Any]:
    """The decisions among these with an intervention that still has a reason."""
    rows = Intervention.objects.filter(decision_id__in=decision_ids).exclude(
        reason="", reason_salt=""
    )
    return set(rows.values_list("decision_id", flat=True))


def interventions_since(since: datetime) -> set[Any]:
    """The decisions with an intervention recorded from ``since`` on (interventions are never
    changed after they are written)."""
    rows = Intervention.objects.filter(created_at__gte=since)
    return set(rows.values_list("decision_id", flat=True))
