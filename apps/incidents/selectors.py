"""Reads of serious incidents: one incident or a list with their clocks computed now, the content
of a report, the regulatory calendar per AI system, the staff page section and the people a
deadline warning goes to.

Incidents are readable as a whole by whoever may read them (agent scope ``compliance:read`` or
staff with ``accounts.view_dashboard``, checked by the API); there is no per-caller rule.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from apps.aisystems import selectors as registry
from apps.aisystems.models import AISystem
from apps.core.exceptions import NotFound
from apps.decisions import selectors as decision_selectors
from apps.decisions.models import Decision
from apps.evidence.models import EvidenceArtifact
from apps.incidents import ai_act_calendar, clocks, suggestions
from apps.incidents.constants import (
    REPORT_DAYS,
    TRANSITIONS,
    Category,
    Clock,
    ReportKind,
    Status,
)
from apps.incidents.models import (
    Incident,
    IncidentReport,
    IncidentTransition,
    IncidentWarning,
)
from apps.ledger import selectors as ledger_selectors
from apps.retention.holds import DerivedHold

MANAGE = "accounts.manage_policies"


def _with_everything(queryset: QuerySet[Incident]) -> QuerySet[Incident]:
    return queryset.select_related("ai_system").prefetch_related(
        Prefetch("transitions", queryset=IncidentTransition.objects.order_by("ledger_seq")),
        Prefetch(
            "reports",
            queryset=IncidentReport.objects.select_related("html_artifact", "pdf_artifact"),
        ),
        Prefetch("warnings", queryset=IncidentWarning.objects.order_by("ledger_seq")),
        Prefetch("decisions", queryset=Decision.objects.order_by("ledger_seq").only("pk")),
        "evidence",
    )


def incident_get(*, incident_id: Any) -> Incident:
    """One incident with everything its answer shows; ``NotFound`` if there is none."""
    found = _with_everything(Incident.objects.filter(pk=incident_id)).first()
    if found is None:
        raise NotFound("No such incident.", details={"id": str(incident_id)})
    return found


def incident_list(
    *,
    ai_system: str | None = None,
    status: str | None = None,
    category: str | None = None,
) -> QuerySet[Incident]:
    """Incidents, most recent awareness first, filtered by system, status and category."""
    queryset = Incident.objects.order_by("-aware_at", "-id")
    if ai_system:
        queryset = queryset.filter(ai_system_id=ai_system)
    if status:
        queryset = queryset.filter(status=status)
    if category:
        queryset = queryset.filter(category=category)
    return _with_everything(queryset)


# --- Clocks ---------------------------------------------------------------------------------------


def _moment(incident: Incident, after: str) -> datetime | None:
    for transition in incident.transitions.all():
        if transition.after == after:
            return transition.created_at
    return None


def _warnings_of(incident: Incident, clock: str) -> tuple[dict[str, Any], ...]:
    return tuple(
        {
            "lead_hours": warning.lead_hours,
            "sent_at": clocks.rfc3339(warning.created_at),
            "recipients": warning.recipients,
            "ledger_entry_id": warning.ledger_seq,
        }
        for warning in incident.warnings.all()
        if warning.clock == clock
    )


def incident_clocks(incident: Incident, *, now: datetime | None = None) -> list[clocks.ClockState]:
    """The Art. 73 clock and, with personal data, the GDPR Art. 33 clock, as they stand at
    ``now`` (module ``apps.incidents.clocks``)."""
    now = now or timezone.now()
    reported = _moment(incident, Status.INITIAL_REPORT_SENT)
    closed = _moment(incident, Status.CLOSED)
    art73 = clocks.art73_clock(
        category=incident.category,
        aware_at=incident.aware_at,
        member_state=incident.member_state,
        stopped_at=reported or closed,
        closed_unreported=reported is None and closed is not None,
        now=now,
    )
    result = [replace(art73, warnings=_warnings_of(incident, Clock.ART73))]
    if incident.personal_data_involved:
        gdpr = clocks.gdpr_clock(
            aware_at=incident.aware_at,
            stopped_at=incident.gdpr_notified_at or closed,
            closed_unnotified=incident.gdpr_notified_at is None and closed is not None,
            now=now,
        )
        result.append(replace(gdpr, warnings=_warnings_of(incident, Clock.GDPR_ART33)))
    return result


def running_incidents() -> QuerySet[Incident]:
    """Incidents with a clock that may still be running: not yet reported, or personal data
    without a recorded notification; closed incidents have none."""
    return _with_everything(
        Incident.objects.exclude(status=Status.CLOSED).filter(
            Q(status=Status.OPEN) | Q(personal_data_involved=True, gdpr_notified_at__isnull=True)
        )
    )


# --- Answers --------------------------------------------------------------------------------------


def report_as_dict(report: IncidentReport) -> dict[str, Any]:
    base = f"/incidents/{report.incident_id}/reports/{report.version}"
    return {
        "id": str(report.pk),
        "kind": report.kind,
        "version": report.version,
        "created_at": clocks.rfc3339(report.created_at),
        "created_by": report.created_by,
        "ledger_entry_id": report.ledger_seq,
        "html": {
            "artifact_id": str(report.html_artifact_id),
            "sha256": report.html_artifact.sha256,
            "size_bytes": report.html_artifact.size_bytes,
            "url": f"{base}?format=html",
        },
        "pdf": {
            "artifact_id": str(report.pdf_artifact_id),
            "sha256": report.pdf_artifact.sha256,
            "size_bytes": report.pdf_artifact.size_bytes,
            "url": f"{base}?format=pdf",
        },
    }


def transition_as_dict(transition: IncidentTransition) -> dict[str, Any]:
    return {
        "before": transition.before,
        "after": transition.after,
        "actor": transition.actor,
        "at": clocks.rfc3339(transition.created_at),
        "report_id": str(transition.report_id) if transition.report_id else None,
        "note": transition.note,
        "ledger_entry_id": transition.ledger_seq,
    }


def _next_deadline(states: list[clocks.ClockState]) -> dict[str, Any] | None:
    running = [c for c in states if c.running]
    if not running:
        return None
    first = min(running, key=lambda c: c.due_at)
    return {
        "clock": first.clock,
        "due_at": clocks.rfc3339(first.due_at),
        "seconds_left": first.seconds_left,
        "time_left": first.time_left,
    }


def incident_as_dict(incident: Incident, *, now: datetime | None = None) -> dict[str, Any]:
    """The API representation, clocks computed at ``now``: the Art. 73 deadline and its time
    left, every clock, the most urgent running deadline, reports, history and warnings."""
    now = now or timezone.now()
    states = incident_clocks(incident, now=now)
    art73 = states[0]
    reports = sorted(incident.reports.all(), key=lambda r: r.version)
    transitions = list(incident.transitions.all())
    seqs = [incident.ledger_seq]
    seqs += [t.ledger_seq for t in transitions]
    seqs += [r.ledger_seq for r in reports]
    seqs += [w.ledger_seq for w in incident.warnings.all()]
    if incident.gdpr_notified_ledger_seq is not None:
        seqs.append(incident.gdpr_notified_ledger_seq)
    return {
        "id": str(incident.pk),
        "ai_system": incident.ai_system_id,
        "ai_system_name": incident.ai_system.name,
        "category": incident.category,
        "status": incident.status,
        "aware_at": clocks.rfc3339(incident.aware_at),
        "member_state": incident.member_state or None,
        "description": incident.description,
        "personal_data_involved": incident.personal_data_involved,
        "decision_ids": [str(d.pk) for d in incident.decisions.all()],
        "evidence_ids": sorted(str(a.pk) for a in incident.evidence.all()),
        "deadline": clocks.rfc3339(art73.due_at),
        "time_left": art73.time_left,
        "next_deadline": _next_deadline(states),
        "clocks": [clocks.clock_as_dict(c) for c in states],
        "gdpr_notified_at": clocks.rfc3339(incident.gdpr_notified_at),
        "allowed_transitions": list(TRANSITIONS[incident.status]),
        "reports": [report_as_dict(r) for r in reports],
        "history": [transition_as_dict(t) for t in transitions],
        "suggestion": incident.suggestion_key or None,
        "created_by": incident.created_by,
        "created_at": clocks.rfc3339(incident.created_at),
        "updated_at": clocks.rfc3339(incident.updated_at),
        "ledger_entry_ids": sorted(seqs),
    }


def latest_report(incident: Incident, kind: str) -> IncidentReport | None:
    return (
        IncidentReport.objects.select_related("pdf_artifact", "html_artifact")
        .filter(incident=incident, kind=kind)
        .order_by("-version")
        .first()
    )


def report_artifact(*, principal: Any, report: IncidentReport, fmt: str) -> EvidenceArtifact:
    """The stored rendering ``fmt`` (``pdf``/``html``) of ``report``, if ``principal`` may see it
    under the evidence visibility rule (ADR 0017/0018): a report shows its linked decisions in
    detail, so whoever may not see those decisions' evidence gets ``NotFound``, as from the
    evidence API."""
    artifact_id = report.pdf_artifact_id if fmt == "pdf" else report.html_artifact_id
    artifact = EvidenceArtifact.objects.visible_to(principal).filter(pk=artifact_id).first()
    if artifact is None:
        raise NotFound(
            "No such report version.",
            details={"id": str(report.incident_id), "version": report.version},
        )
    return artifact


def report_get(*, incident_id: Any, version: int) -> IncidentReport:
    report = (
        IncidentReport.objects.select_related("html_artifact", "pdf_artifact")
        .filter(incident_id=incident_id, version=version)
        .first()
    )
    if report is None:
        raise NotFound(
            "No such report version.", details={"id": str(incident_id), "version": version}
        )
    return report


# --- What a report contains -----------------------------------------------------------------------


def _decision_row(decision: Decision) -> dict[str, Any]:
    state = decision_selectors.current_state(decision)
    override = state["override"]
    return {
        "id": str(decision.pk),
        "timestamp": decision.timestamp,
        "actor": decision.actor,
        "action": decision.action,
        "resource": decision.resource,
        "data_classes": decision.data_classes,
        "ai_system": decision.ai_system,
        "outcome": decision.outcome,
        "current_outcome": state["outcome"],
        "status": state["status"],
        "rules": [r.get("rule_id") for r in decision.reasons if r.get("rule_id")],
        "risk_level": decision.risk_level,
        "risk_score": decision.risk_score,
        "policy_version": decision.policy_version,
        "context_commitment": decision.context_commitment,
        "ledger_seq": decision.ledger_seq,
        "ledger_entry_hash": decision.ledger_entry_hash,
        "override": override.override_type if override else None,
        "stops": [
            {
                "by": f"user:{stop.stopped_by_id}",
                "at": clocks.rfc3339(stop.created_at),
                "revoked_tokens": len(stop.revoked_jtis),
                "ledger_seq": stop.ledger_seq,
            }
            for stop in decision_selectors.decision_stops(decision=decision)
        ],
        "overrides": [
            {
                "type": o.override_type,
                "outcome": o.outcome,
                "by": f"user:{o.executed_by_id}",
                "at": clocks.rfc3339(o.created_at),
                "ledger_seq": o.ledger_seq,
            }
            for o in decision_selectors.decision_overrides(decision=decision)
        ],
    }


def _to_the_second(value: str | None) -> str | None:
    """``2026-12-15T09:18:52.953393Z`` → ``2026-12-15T09:18:52Z`` (what a printed report shows;
    the exact times are in the API and the ledger)."""
    return f"{value[:19]}Z" if value else value


def _printable_clock(clock: clocks.ClockState) -> dict[str, Any]:
    shown = clocks.clock_as_dict(clock)
    for key in ("started_at", "due_at", "legal_end", "stopped_at"):
        shown[key] = _to_the_second(shown[key])
    return shown


def report_context(
    incident: Incident, *, kind: str, version: int, actor_id: str, now: datetime
) -> dict[str, Any]:
    """Everything the report template shows, pre-filled from the incident's linked records:
    the system, the clocks, each linked decision with what humans did about it, the linked
    evidence with its hashes, the history, the earlier reports, and the ledger's head."""
    system = incident.ai_system
    states = incident_clocks(incident, now=now)
    decisions = Decision.objects.filter(pk__in=[d.pk for d in incident.decisions.all()]).order_by(
        "ledger_seq"
    )
    head = ledger_selectors.ledger_head_summary()
    checkpoint = ledger_selectors.checkpoint_latest()
    return {
        "incident": incident,
        "kind": kind,
        "kind_label": ReportKind(kind).label,
        "version": version,
        "generated_at": _to_the_second(clocks.rfc3339(now)),
        "generated_by": actor_id,
        "system": system,
        "category_label": Category(incident.category).label,
        "report_days": REPORT_DAYS[incident.category],
        "aware_at": _to_the_second(clocks.rfc3339(incident.aware_at)),
        "opened_at": _to_the_second(clocks.rfc3339(incident.created_at)),
        "clocks": [_printable_clock(c) for c in states],
        "decisions": [_decision_row(d) for d in decisions],
        "evidence": [
            {
                "id": str(a.pk),
                "type": a.artifact_type,
                "title": a.title,
                "sha256": a.sha256,
                "created_at": clocks.rfc3339(a.created_at),
                "ledger_seq": a.ledger_seq,
                "expired": a.is_expired,
            }
            for a in sorted(incident.evidence.all(), key=lambda a: a.ledger_seq)
        ],
        "history": [transition_as_dict(t) for t in incident.transitions.all()],
        "earlier_reports": [
            report_as_dict(r) for r in sorted(incident.reports.all(), key=lambda r: r.version)
        ],
        "ledger_head": head,
        "checkpoint": (
            {
                "tree_size": checkpoint.tree_size,
                "created_at": clocks.rfc3339(checkpoint.created_at),
            }
            if checkpoint
            else None
        ),
    }


# --- Deadline warnings ----------------------------------------------------------------------------


def warning_recipients(incident: Incident) -> list[Any]:
    """Who a deadline warning is e-mailed to: the AI system's owner, whoever opened the
    incident, and every active user who may manage incidents (``manage_policies``: compliance
    officers and administrators) — those with an e-mail address."""
    users = get_user_model().objects
    ids = set(
        users.with_perm(
            MANAGE, is_active=True, backend="django.contrib.auth.backends.ModelBackend"
        ).values_list("pk", flat=True)
    )
    if incident.ai_system.owner_id is not None:
        ids.add(incident.ai_system.owner_id)
    if incident.created_by.startswith("user:"):
        ids.add(int(incident.created_by.removeprefix("user:")))
    return list(users.filter(pk__in=ids, is_active=True).exclude(email="").order_by("pk"))


# --- The regulatory calendar ----------------------------------------------------------------------


def calendar_answer(*, ai_system: str | None, as_of: date, regime: str | None) -> dict[str, Any]:
    """``GET /compliance/eu-ai-act/calendar``: for each registered system (or the one named),
    the obligations that concern it, when each applies under the chosen regime, and whether it
    applies on ``as_of``."""
    regime = regime or ai_act_calendar.default_regime()
    systems = (
        [registry.ai_system_get(system_id=ai_system)]
        if ai_system
        else list(AISystem.objects.order_by("id"))
    )
    rows = []
    for system in systems:
        obligations = ai_act_calendar.obligations_for(system, as_of=as_of, regime=regime)
        rows.append(
            {
                "ai_system": system.pk,
                "name": system.name,
                "role": system.role,
                "risk_class": system.risk_class,
                "annex_iii_point": system.annex_iii_point or None,
                "art_6_3_exempt": system.art_6_3_exempt,
                "status": system.status,
                "applies_now": [o["key"] for o in obligations if o["applies_now"]],
                "upcoming": [
                    o["key"] for o in obligations if not o["applies_now"] and o["applies_from"]
                ],
                "obligations": obligations,
            }
        )
    return {**ai_act_calendar.calendar_header(as_of=as_of, regime=regime), "systems": rows}


# --- The staff page section -----------------------------------------------------------------------


def system_section_context(ai_system: AISystem) -> dict[str, Any]:
    """Context of ``incidents/_system_section.html`` on an AI system's staff page: its
    incidents with their clocks now, counts, the suggestions waiting for it, and the AI Act
    obligations that concern it with whether each applies today (the calendar)."""
    now = timezone.now()
    incidents = list(incident_list(ai_system=ai_system.pk))
    rows: list[dict[str, Any]] = []
    for incident in incidents:
        states = incident_clocks(incident, now=now)
        rows.append(
            {
                "id": str(incident.pk),
                "category": incident.category,
                "category_label": Category(incident.category).label,
                "status": incident.status,
                "status_label": Status(incident.status).label,
                "aware_at": clocks.rfc3339(incident.aware_at),
                "clocks": [clocks.clock_as_dict(c) for c in states],
                "reports": len(incident.reports.all()),
            }
        )
    waiting = suggestions.suggestions_list(now=now, ai_system=ai_system.pk)
    regime = ai_act_calendar.default_regime()
    return {
        "incidents_system": ai_system.pk,
        "ai_act_regime": regime,
        "ai_act_obligations": ai_act_calendar.obligations_for(
            ai_system, as_of=now.date(), regime=regime
        ),
        "incidents": rows,
        "incidents_open": sum(1 for i in incidents if i.status != Status.CLOSED),
        "incidents_overdue": sum(
            1 for row in rows for c in row["clocks"] if c["state"] == clocks.OVERDUE
        ),
        "incident_suggestions": [suggestions.suggestion_as_dict(s) for s in waiting],
    }


# --- Records kept while an incident is open (a hold source of apps.retention) ------------------


def open_incident_holds() -> list[DerivedHold]:
    """The holds open incidents imply: every incident not yet closed keeps the decisions and the
    evidence linked to it from the retention sweep and the evidence expiry (Art. 73(6): nothing
    that could matter to the investigation is destroyed before it ends). Registered with
    ``apps.retention.holds`` by ``IncidentsConfig.ready``; two small queries per call."""
    open_ids = Incident.objects.exclude(status=Status.CLOSED)
    decisions: dict[str, list[str]] = {}
    for incident_id, decision_id in Incident.decisions.through.objects.filter(
        incident__in=open_ids
    ).values_list("incident_id", "decision_id"):
        decisions.setdefault(str(incident_id), []).append(str(decision_id))
    artifacts: dict[str, list[str]] = {}
    for incident_id, artifact_id in Incident.evidence.through.objects.filter(
        incident__in=open_ids
    ).values_list("incident_id", "evidenceartifact_id"):
        artifacts.setdefault(str(incident_id), []).append(str(artifact_id))
    return [
        DerivedHold(
            source="incident",
            source_id=incident_id,
            reason=f"Serious incident {incident_id} is open: its records are kept until it is closed.",
            decision_ids=tuple(sorted(decisions.get(incident_id, ()))),
            artifact_ids=tuple(sorted(artifacts.get(incident_id, ()))),
        )
        for incident_id in sorted(decisions.keys() | artifacts.keys())
    ]
