"""Writes of serious incidents: open one (directly or from a suggestion), move it through its
states, record the GDPR notification, generate a report version, warn of deadlines, dismiss a
suggestion.

Each write appends its ledger entry in the same transaction as its rows (``incident.opened``,
``incident.transitioned``, ``incident.gdpr_notified``, ``incident.report_generated``,
``incident.deadline_warning``, ``incident.suggestion_dismissed``); a refused request writes
nothing. Free text people write (description, notes, reasons) stays off the ledger: the entry
carries its salted commitment. Rows are locked in one order: the incident row first
(``select_for_update(no_key=True)``), then whatever the write adds. E-mails leave after commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from apps.accounts.principals import actor_of, system_actor
from apps.aisystems.models import AISystem
from apps.core.exceptions import ApplicationError, Conflict, InvalidInput, NotFound
from apps.decisions.models import Decision
from apps.evidence import services as evidence
from apps.evidence.constants import ArtifactType
from apps.evidence.models import EvidenceArtifact
from apps.incidents import clocks, rendering, selectors, suggestions
from apps.incidents.constants import (
    CLOSE_UNREPORTED_NOTE_MIN_LENGTH,
    DESCRIPTION_MAX_LENGTH,
    DISMISS_REASON_MIN_LENGTH,
    MAX_LINKS,
    MEMBER_STATE_TIMEZONES,
    NOTE_MAX_LENGTH,
    REPORT_FOR_STATE,
    STATE_FOR_REPORT,
    TRANSITIONS,
    Category,
    Clock,
    ReportKind,
    Status,
    SuggestionOutcome,
)
from apps.incidents.models import (
    Incident,
    IncidentReport,
    IncidentTransition,
    IncidentWarning,
    SuggestionDecision,
)
from apps.ledger import events
from apps.ledger import services as ledger
from apps.ledger.entry_types import EntryType
from apps.retention import holds as hold_rules

#: Who writes deadline warnings: the periodic clock check.
CLOCK_ACTOR = system_actor("incident_clocks", "incident clock check")
#: A stated ``aware_at`` may be this far ahead of the server's clock (clock skew), no more.
FUTURE_TOLERANCE = timedelta(minutes=5)
#: Incidents one run of the clock check looks at (the next run continues).
CLOCK_BATCH_SIZE = 1000


class InvalidTransition(ApplicationError):
    code = "invalid_transition"
    status = 409
    default_message = "The incident cannot move to that state from the state it is in."


class ReportMissing(ApplicationError):
    code = "report_missing"
    status = 409
    default_message = "Generate the report before recording that it was sent."


class AlreadyDecided(Conflict):
    code = "suggestion_decided"
    default_message = "This suggestion was already accepted or dismissed."


# --- Helpers ----------------------------------------------------------------------------------------


def _clean_text(value: str, *, field: str, minimum: int, maximum: int) -> str:
    text = (value or "").strip()
    if "\x00" in text:
        raise InvalidInput("Null characters are not allowed.", details={field: "null character"})
    if len(text) < minimum or len(text) > maximum:
        raise InvalidInput(
            f"{field} needs between {minimum} and {maximum} characters.",
            details={field: f"{len(text)} characters"},
        )
    return text


def _lock(incident_id: Any) -> Incident:
    incident = (
        Incident.objects.select_for_update(no_key=True)
        .select_related("ai_system")
        .filter(pk=incident_id)
        .first()
    )
    if incident is None:
        raise NotFound("No such incident.", details={"id": str(incident_id)})
    return incident


def _entry(incident: Incident, actor: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        **events.envelope(actor=actor, subject_type="incident", subject_id=str(incident.pk)),
        "incident_id": str(incident.pk),
        **fields,
    }


def _decisions(ids: Iterable[Any], principal: Any) -> list[Decision]:
    wanted = list(dict.fromkeys(str(i) for i in ids))
    if len(wanted) > MAX_LINKS:
        raise InvalidInput(f"At most {MAX_LINKS} decisions.", details={"decision_ids": len(wanted)})
    found = {str(d.pk): d for d in Decision.objects.visible_to(principal).filter(pk__in=wanted)}
    missing = [i for i in wanted if i not in found]
    if missing:
        raise InvalidInput("No such decision.", details={"decision_ids": missing})
    return [found[i] for i in wanted]


def _artifacts(ids: Iterable[Any], principal: Any) -> list[EvidenceArtifact]:
    wanted = list(dict.fromkeys(str(i) for i in ids))
    if len(wanted) > MAX_LINKS:
        raise InvalidInput(
            f"At most {MAX_LINKS} evidence artifacts.", details={"evidence_ids": len(wanted)}
        )
    visible = EvidenceArtifact.objects.visible_to(principal).filter(pk__in=wanted)
    found = {str(a.pk): a for a in visible}
    missing = [i for i in wanted if i not in found]
    if missing:
        raise InvalidInput("No such evidence artifact.", details={"evidence_ids": missing})
    return [found[i] for i in wanted]


# --- Opening ----------------------------------------------------------------------------------------


def incident_open(
    *,
    principal: Any,
    ai_system_id: str,
    category: str,
    aware_at: datetime,
    description: str,
    personal_data_involved: bool = False,
    decision_ids: Iterable[Any] = (),
    evidence_ids: Iterable[Any] = (),
    member_state: str = "",
    suggestion_key: str = "",
    now: datetime | None = None,
) -> Incident:
    """Open an incident of a registered AI system (``incident.opened``). Its clocks start at
    ``aware_at``, which may lie in the past (an incident recorded late is overdue at once) but
    not in the future."""
    now = now or timezone.now()
    if category not in Category.values:
        raise InvalidInput(
            "Unknown category.", details={"category": category, "allowed": Category.values}
        )
    if aware_at.tzinfo is None:
        raise InvalidInput("aware_at needs a time zone.", details={"aware_at": "naive"})
    if aware_at > now + FUTURE_TOLERANCE:
        raise InvalidInput(
            "aware_at cannot be in the future.", details={"aware_at": clocks.rfc3339(aware_at)}
        )
    if member_state and member_state not in MEMBER_STATE_TIMEZONES:
        raise InvalidInput(
            "member_state is the ISO 3166 code of an EU or EEA state (DE, FR, ...).",
            details={"member_state": member_state},
        )
    description = _clean_text(
        description, field="description", minimum=1, maximum=DESCRIPTION_MAX_LENGTH
    )
    system = AISystem.objects.filter(pk=ai_system_id).first()
    if system is None:
        raise InvalidInput(
            "ai_system names no system of the AI system registry.",
            details={"ai_system": ai_system_id},
        )
    decisions = _decisions(decision_ids, principal)
    artifacts = _artifacts(evidence_ids, principal)
    actor = actor_of(principal)
    commitment, salt = ledger.commit_personal(description)
    incident = Incident(
        ai_system=system,
        category=category,
        aware_at=aware_at,
        member_state=member_state,
        description=description,
        description_salt=salt,
        description_commitment=commitment,
        personal_data_involved=personal_data_involved,
        suggestion_key=suggestion_key,
        created_by=str(actor["id"]),
        ledger_seq=0,
    )
    art73 = clocks.art73_clock(
        category=category,
        aware_at=aware_at,
        member_state=member_state,
        stopped_at=None,
        closed_unreported=False,
        now=now,
    )
    gdpr_due = (
        clocks.gdpr_clock(aware_at=aware_at, stopped_at=None, closed_unnotified=False, now=now)
        if personal_data_involved
        else None
    )
    with transaction.atomic():
        if decisions or artifacts:
            # Linking records starts a hold on them (selectors.open_incident_holds): take the
            # holds lock first, so that no retention batch running now erases one of them after
            # this commit, and before the ledger's head lock, in the order every hold takes.
            hold_rules.lock_holds(exclusive=True)
        entry = ledger.ledger_append(
            entry_type=EntryType.INCIDENT_OPENED,
            payload=_entry(
                incident,
                actor,
                ai_system_id=system.pk,
                category=category,
                aware_at=clocks.rfc3339(aware_at),
                report_due_at=clocks.rfc3339(art73.due_at),
                personal_data_involved=personal_data_involved,
                gdpr_due_at=clocks.rfc3339(gdpr_due.due_at) if gdpr_due else None,
                member_state=member_state or None,
                description_commitment=commitment,
                decision_ids=[str(d.pk) for d in decisions],
                evidence_ids=[str(a.pk) for a in artifacts],
                suggestion=suggestion_key or None,
            ),
        )
        incident.ledger_seq = entry.seq
        incident.save(force_insert=True)
        incident.decisions.add(*decisions)
        incident.evidence.add(*artifacts)
    return incident


# --- State changes ----------------------------------------------------------------------------------


def _transition(
    incident: Incident, *, principal: Any, to: str, note: str, now: datetime
) -> IncidentTransition:
    before = incident.status
    if to not in TRANSITIONS.get(before, ()):
        raise InvalidTransition(
            details={"from": before, "to": to, "allowed": list(TRANSITIONS.get(before, ()))}
        )
    note = _clean_text(note, field="note", minimum=0, maximum=NOTE_MAX_LENGTH) if note else ""
    if (
        before == Status.OPEN
        and to == Status.CLOSED
        and len(note) < CLOSE_UNREPORTED_NOTE_MIN_LENGTH
    ):
        raise InvalidInput(
            "Closing an incident that was never reported needs a note saying why it is not a "
            f"reportable serious incident (at least {CLOSE_UNREPORTED_NOTE_MIN_LENGTH} characters).",
            details={"note": "required"},
        )
    report = None
    needed = REPORT_FOR_STATE.get(to)
    if needed is not None:
        report = selectors.latest_report(incident, needed)
        if report is None:
            raise ReportMissing(
                f"Generate the {needed} report (POST /incidents/{incident.pk}/reports) first.",
                details={"kind": needed},
            )
    deadline_met = None
    if to == Status.INITIAL_REPORT_SENT:
        art73 = selectors.incident_clocks(incident, now=now)[0]
        deadline_met = now <= art73.due_at
    actor = actor_of(principal)
    commitment, salt = ledger.commit_personal(note) if note else ("", "")
    entry = ledger.ledger_append(
        entry_type=EntryType.INCIDENT_TRANSITIONED,
        payload=_entry(
            incident,
            actor,
            before=before,
            after=to,
            report_id=str(report.pk) if report else None,
            report_sha256=report.pdf_artifact.sha256 if report else None,
            deadline_met=deadline_met,
            note_commitment=commitment or None,
        ),
    )
    incident.status = to
    incident.save(update_fields=["status", "updated_at"])
    return IncidentTransition.objects.create(
        incident=incident,
        before=before,
        after=to,
        actor=str(actor["id"]),
        report=report,
        note=note,
        note_salt=salt,
        note_commitment=commitment,
        ledger_seq=entry.seq,
    )


def _gdpr_notified(incident: Incident, *, principal: Any, now: datetime) -> None:
    if not incident.personal_data_involved:
        raise InvalidInput(
            "This incident involves no personal data: there is no GDPR Art. 33 clock.",
            details={"gdpr_notified": "no personal data"},
        )
    if incident.gdpr_notified_at is not None:
        raise Conflict(
            "The supervisory authority's notification is already recorded.",
            details={"gdpr_notified_at": clocks.rfc3339(incident.gdpr_notified_at)},
        )
    if incident.status == Status.CLOSED:
        raise InvalidTransition("A closed incident does not change.", details={"from": "closed"})
    actor = actor_of(principal)
    gdpr = clocks.gdpr_clock(
        aware_at=incident.aware_at, stopped_at=None, closed_unnotified=False, now=now
    )
    entry = ledger.ledger_append(
        entry_type=EntryType.INCIDENT_GDPR_NOTIFIED,
        payload=_entry(
            incident,
            actor,
            gdpr_due_at=clocks.rfc3339(gdpr.due_at),
            deadline_met=now <= gdpr.due_at,
        ),
    )
    incident.gdpr_notified_at = now
    incident.gdpr_notified_by = str(actor["id"])
    incident.gdpr_notified_ledger_seq = entry.seq
    incident.save(
        update_fields=[
            "gdpr_notified_at",
            "gdpr_notified_by",
            "gdpr_notified_ledger_seq",
            "updated_at",
        ]
    )


@transaction.atomic
def incident_update(
    *,
    principal: Any,
    incident_id: Any,
    status: str | None = None,
    note: str = "",
    gdpr_notified: bool = False,
    now: datetime | None = None,
) -> Incident:
    """``PATCH /incidents/{id}``: record the GDPR notification (``incident.gdpr_notified``)
    and/or move the incident to ``status`` (``incident.transitioned``, with the report it sent
    and an optional note), in one transaction: either both or nothing."""
    if status is None and not gdpr_notified:
        raise InvalidInput(
            "Send status (the state to move to) and/or gdpr_notified: true.",
            details={"status": "missing", "gdpr_notified": "missing"},
        )
    if note and status is None:
        raise InvalidInput("A note goes with a status change.", details={"note": "no status"})
    now = now or timezone.now()
    incident = _lock(incident_id)
    if gdpr_notified:
        _gdpr_notified(incident, principal=principal, now=now)
    if status is not None:
        _transition(incident, principal=principal, to=status, note=note, now=now)
    return incident


# --- Reports ----------------------------------------------------------------------------------------


def _next_version(incident: Incident) -> int:
    latest = IncidentReport.objects.filter(incident=incident).aggregate(v=Max("version"))["v"]
    return (latest or 0) + 1


def _report_allowed(incident: Incident, kind: str) -> None:
    if incident.status != STATE_FOR_REPORT[kind]:
        raise InvalidTransition(
            f"A {kind} report is generated while the incident is {STATE_FOR_REPORT[kind]}.",
            details={"kind": kind, "status": incident.status},
        )


def incident_report_generate(
    *, principal: Any, incident_id: Any, kind: str, now: datetime | None = None
) -> IncidentReport:
    """Generate the next report version of ``kind`` (an initial report while the incident is
    open, the complete one once the initial report was sent): pre-filled from the linked
    records, rendered to HTML and from it to PDF, both stored as ``external_report`` evidence
    linked to the incident's decisions, and an ``incident.report_generated`` entry naming both
    artifacts and their SHA-256.

    Rendering happens before the transaction (it takes a moment, and SQLite would hold its one
    write lock meanwhile); the transaction then checks that the incident did not move and no
    other version was generated in between, else ``Conflict`` and nothing is written."""
    if kind not in ReportKind.values:
        raise InvalidInput(
            "Unknown report kind.", details={"kind": kind, "allowed": ReportKind.values}
        )
    now = now or timezone.now()
    incident = selectors.incident_get(incident_id=incident_id)
    _report_allowed(incident, kind)
    version = _next_version(incident)
    actor = actor_of(principal)
    context = selectors.report_context(
        incident, kind=kind, version=version, actor_id=str(actor["id"]), now=now
    )
    text = rendering.render_html("incidents/report.html", context)
    html, pdf = text.encode(), rendering.render_pdf(text)
    decision_ids = [d.pk for d in incident.decisions.all()]
    title = (
        f"EU AI Act Art. 73 {kind} report v{version}, incident {incident.pk} "
        f"({incident.ai_system_id})"
    )
    metadata = {"incident_id": str(incident.pk), "kind": kind, "version": version}
    with transaction.atomic():
        locked = _lock(incident.pk)
        _report_allowed(locked, kind)
        if _next_version(locked) != version:
            raise Conflict(
                "Another report version was generated at the same time; try again.",
                details={"version": version},
            )
        stored = {}
        for fmt, body, media_type in (
            ("html", html, "text/html; charset=utf-8"),
            ("pdf", pdf, "application/pdf"),
        ):
            stored[fmt] = evidence.evidence_register(
                principal=principal,
                artifact_type=ArtifactType.EXTERNAL_REPORT,
                title=f"{title} ({fmt.upper()})",
                content=ContentFile(body, name=f"incident-{incident.pk}-v{version}.{fmt}"),
                media_type=media_type,
                source="incidents",
                decision_ids=decision_ids,
                metadata={**metadata, "format": fmt},
            )
        report = IncidentReport(
            incident=locked,
            kind=kind,
            version=version,
            html_artifact=stored["html"],
            pdf_artifact=stored["pdf"],
            created_by=str(actor["id"]),
            ledger_seq=0,
        )
        entry = ledger.ledger_append(
            entry_type=EntryType.INCIDENT_REPORT_GENERATED,
            payload=_entry(
                locked,
                actor,
                report_id=str(report.pk),
                kind=kind,
                version=version,
                html_artifact_id=str(stored["html"].pk),
                html_sha256=stored["html"].sha256,
                pdf_artifact_id=str(stored["pdf"].pk),
                pdf_sha256=stored["pdf"].sha256,
            ),
        )
        report.ledger_seq = entry.seq
        report.save(force_insert=True)
    return report


# --- Deadline warnings ------------------------------------------------------------------------------


def incident_check_clocks(*, now: datetime | None = None) -> dict[str, int]:
    """The periodic clock check (task ``incidents.check_clocks``): for every running clock
    whose next warning moment has come (``LEXECON_INCIDENT_WARNING_HOURS`` before its deadline,
    and the deadline itself), write that warning once and e-mail it. When several moments have
    passed since the last run, only the most urgent is sent. Each warning is its own
    transaction; a repeated run finds nothing new and writes nothing."""
    now = now or timezone.now()
    checked = warned = 0
    for incident in selectors.running_incidents()[:CLOCK_BATCH_SIZE]:
        checked += 1
        for clock in selectors.incident_clocks(incident, now=now):
            lead = clocks.due_lead(clock, now) if clock.running else None
            if lead is None or any(w["lead_hours"] <= lead for w in clock.warnings):
                continue
            warned += incident_warn(incident_id=incident.pk, clock=clock.clock, now=now)
    return {"checked": checked, "warned": warned}


def incident_warn(*, incident_id: Any, clock: str, now: datetime) -> bool:
    """Write the warning due now for ``clock`` of the incident (``incident.deadline_warning``)
    unless it (or a more urgent one) was written already; e-mail it after commit."""
    with transaction.atomic():
        _lock(incident_id)
        incident = selectors.incident_get(incident_id=incident_id)
        state = next(
            (c for c in selectors.incident_clocks(incident, now=now) if c.clock == clock), None
        )
        lead = clocks.due_lead(state, now) if state is not None and state.running else None
        if state is None or lead is None or any(w["lead_hours"] <= lead for w in state.warnings):
            return False
        recipients = selectors.warning_recipients(incident)
        entry = ledger.ledger_append(
            entry_type=EntryType.INCIDENT_DEADLINE_WARNING,
            payload=_entry(
                incident,
                CLOCK_ACTOR,
                clock=clock,
                due_at=clocks.rfc3339(state.due_at),
                lead_hours=lead,
                recipients=len(recipients),
            ),
        )
        warning = IncidentWarning.objects.create(
            incident=incident,
            clock=clock,
            lead_hours=lead,
            due_at=state.due_at,
            recipients=len(recipients),
            ledger_seq=entry.seq,
        )
        # By the task's registered name (IncidentsConfig.ready imports the tasks): the task
        # module calls these services, so importing it here would make a loop.
        task = current_app.tasks["incidents.notify"]
        transaction.on_commit(partial(task.delay, warning.pk))
    return True


def incident_warning_send(*, warning_id: int) -> int:
    """E-mail one deadline warning to its incident's recipients (``selectors.warning_recipients``)
    and mark it mailed. Ids, category, deadline and a link only: no description, no personal
    data of the incident."""
    warning = (
        IncidentWarning.objects.select_related("incident__ai_system").filter(pk=warning_id).first()
    )
    if warning is None:
        raise NotFound("No such warning.")
    incident = warning.incident
    label = Clock(warning.clock).label
    due = clocks.rfc3339(warning.due_at)
    if warning.lead_hours == 0:
        subject = f"[Lexecon] OVERDUE: {label} for incident {incident.pk} was due {due}"
    else:
        subject = f"[Lexecon] {label} due in {warning.lead_hours} h: incident {incident.pk}"
    base = str(getattr(settings, "LEXECON_PUBLIC_URL", "")).rstrip("/")
    body = "\n".join(
        [
            f"{subject.removeprefix('[Lexecon] ')}.",
            "",
            f"Incident: {incident.pk}",
            f"AI system: {incident.ai_system_id}",
            f"Category: {Category(incident.category).label}",
            f"Aware at: {clocks.rfc3339(incident.aware_at)}",
            f"Deadline: {due}",
            f"Status: {Status(incident.status).label}",
            "",
            f"API: {base}/incidents/{incident.pk}",
            f"Staff page (sign-in with a one-time code required): "
            f"{base}/compliance/eu-ai-act/systems/{incident.ai_system_id}/",
        ]
    )
    sent = 0
    for user in selectors.warning_recipients(incident):
        sent += send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    IncidentWarning.objects.filter(pk=warning.pk, mailed_at__isnull=True).update(
        mailed_at=timezone.now()
    )
    return sent


# --- Suggestions ------------------------------------------------------------------------------------


def suggestion_accept(
    *,
    principal: Any,
    key: str,
    category: str,
    aware_at: datetime | None = None,
    description: str | None = None,
    ai_system_id: str | None = None,
    personal_data_involved: bool = False,
    member_state: str = "",
    decision_ids: Iterable[Any] = (),
    evidence_ids: Iterable[Any] = (),
    now: datetime | None = None,
) -> Incident:
    """Open the incident a suggestion proposes: its system (or ``ai_system_id``), its decisions
    (plus any named), its summary as description unless one is given, ``aware_at`` now unless
    stated. The suggestion is then decided (``SuggestionDecision`` naming the incident)."""
    now = now or timezone.now()
    suggestion = suggestions.suggestion_get(key=key, now=now)
    if SuggestionDecision.objects.filter(key=key).exists():
        raise AlreadyDecided(details={"key": key})
    system = ai_system_id or suggestion.ai_system
    if not system:
        raise InvalidInput(
            "The suggestion names no AI system: send ai_system.", details={"ai_system": "missing"}
        )
    try:
        with transaction.atomic():
            incident = incident_open(
                principal=principal,
                ai_system_id=system,
                category=category,
                aware_at=aware_at or now,
                description=description or suggestion.summary,
                personal_data_involved=personal_data_involved,
                decision_ids=[*suggestion.decision_ids, *decision_ids],
                evidence_ids=evidence_ids,
                member_state=member_state,
                suggestion_key=key,
                now=now,
            )
            SuggestionDecision.objects.create(
                key=key,
                source=suggestion.source,
                outcome=SuggestionOutcome.ACCEPTED,
                incident=incident,
                actor=incident.created_by,
                ledger_seq=incident.ledger_seq,
            )
    except IntegrityError:
        if SuggestionDecision.objects.filter(key=key).exists():  # a concurrent decision won
            raise AlreadyDecided(details={"key": key}) from None
        raise
    return incident


def suggestion_dismiss(
    *, principal: Any, key: str, reason: str, now: datetime | None = None
) -> SuggestionDecision:
    """Dismiss a suggestion with a reason (``incident.suggestion_dismissed``, the reason as a
    commitment): it leaves the queue."""
    reason = _clean_text(
        reason, field="reason", minimum=DISMISS_REASON_MIN_LENGTH, maximum=NOTE_MAX_LENGTH
    )
    suggestion = suggestions.suggestion_get(key=key, now=now)
    if SuggestionDecision.objects.filter(key=key).exists():
        raise AlreadyDecided(details={"key": key})
    actor = actor_of(principal)
    commitment, salt = ledger.commit_personal(reason)
    try:
        with transaction.atomic():
            entry = ledger.ledger_append(
                entry_type=EntryType.INCIDENT_SUGGESTION_DISMISSED,
                payload={
                    **events.envelope(
                        actor=actor, subject_type="incident_suggestion", subject_id=key
                    ),
                    "suggestion": key,
                    "source": suggestion.source,
                    "ai_system": suggestion.ai_system,
                    "decision_ids": list(suggestion.decision_ids),
                    "reason_commitment": commitment,
                },
            )
            return SuggestionDecision.objects.create(
                key=key,
                source=suggestion.source,
                outcome=SuggestionOutcome.DISMISSED,
                actor=str(actor["id"]),
                reason=reason,
                reason_salt=salt,
                reason_commitment=commitment,
                ledger_seq=entry.seq,
            )
    except IntegrityError:
        if SuggestionDecision.objects.filter(key=key).exists():
            raise AlreadyDecided(details={"key": key}) from None
        raise
