"""Writes of human oversight: escalations, assignments, resolutions, SLA expiry, overrides, stops.

Rules every function here keeps (docs/oversight.md, ADR 0005):
- Authorization first, validation next, then ONE transaction that changes the rows and appends the
  ledger entry; a refused request writes nothing (no row, no ledger entry).
- Read-modify-write takes the escalation row lock (``SELECT … FOR NO KEY UPDATE``) before checking
  its status, so two reviewers acting at once serialise and exactly one wins; the other gets 409.
  Lock order: escalation row → ledger chain head (inside ``ledger_append``). On SQLite the
  ``BEGIN IMMEDIATE`` transaction already serialises writers.
- Human free text (notes, justifications, reasons) is stored on our rows; the ledger holds only its
  salted commitment. Actors appear in the ledger as pseudonymous ``user:<id>`` labels.
- E-mails are sent after commit (``transaction.on_commit``) by the ``escalations.notify`` task.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone
from guardian.shortcuts import assign_perm

from apps.accounts.principals import actor_of, system_actor
from apps.core.exceptions import InvalidInput, NotFound, PermissionDeniedError
from apps.decisions import records
from apps.escalations import selectors
from apps.escalations.constants import (
    JUSTIFICATION_MIN_LENGTH,
    NOTE_MAX_LENGTH,
    NOTE_MIN_LENGTH,
    OBJECT_PERMISSIONS,
    REASON_MIN_LENGTH,
    SLA_BATCH_SIZE,
    SLA_WARNING_FRACTION,
)
from apps.escalations.exceptions import (
    AlreadyAssigned,
    AlreadyEscalated,
    DuplicateApproval,
    EmergencyBypassUsed,
    InvalidTransition,
    NotEscalatable,
    NothingToOverride,
    SlaExpired,
)
from apps.escalations.models import (
    DEFAULT_SLA,
    AgentStop,
    Escalation,
    EscalationApproval,
    EscalationAssignment,
    Override,
    Priority,
)
from apps.ledger import events
from apps.ledger import services as ledger
from apps.ledger.entry_types import EntryType
from apps.tokens import services as tokens

logger = logging.getLogger("lexecon.escalations")

Status = Escalation.Status
Resolution = Escalation.Resolution

# The escalation state machine (DESIGN §9). Acknowledging is the reviewer taking the case; only an
# acknowledged escalation can be resolved. Resolved and expired are final.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.PENDING: frozenset({Status.ACKNOWLEDGED, Status.EXPIRED}),
    Status.ACKNOWLEDGED: frozenset({Status.RESOLVED, Status.EXPIRED}),
    Status.RESOLVED: frozenset(),
    Status.EXPIRED: frozenset(),
}

# Override types that can only ever allow (they exist to let something through).
PERMISSIVE_OVERRIDE_TYPES = frozenset(
    {
        Override.Type.EMERGENCY_BYPASS,
        Override.Type.TIME_LIMITED_EXCEPTION,
        Override.Type.RISK_ACCEPTED,
    }
)


@dataclass(frozen=True)
class ResolveResult:
    """What ``escalation_resolve`` did: resolved, or (four-eyes) recorded an approval and waits."""

    escalation: Escalation
    resolved: bool
    approvals: int
    approvals_required: int


# --- Helpers ---------------------------------------------------------------------------------------


def sla_for(priority: str) -> timedelta:
    """SLA of a priority: ``LEXECON_SLA_HOURS`` or the DESIGN §9 default."""
    hours = getattr(settings, "LEXECON_SLA_HOURS", {}).get(priority)
    return timedelta(hours=hours) if hours is not None else DEFAULT_SLA[Priority(priority)]


def escalation_transition(*, escalation: Escalation, to_status: str) -> Escalation:
    """Move ``escalation`` to ``to_status`` in memory if ``TRANSITIONS`` allows it, else raise
    ``InvalidTransition`` (409). The caller holds the row lock, saves and appends the ledger entry."""
    _check_transition(escalation, to_status)
    escalation.status = to_status
    return escalation


def _check_transition(escalation: Escalation, to_status: str) -> None:
    """Raise like ``escalation_transition`` without moving (four-eyes first approvals)."""
    if to_status in TRANSITIONS[escalation.status]:
        return
    message = f"An escalation that is {escalation.status} cannot become {to_status}."
    if escalation.status == Status.PENDING and to_status == Status.RESOLVED:
        message += " Acknowledge it first."
    raise InvalidTransition(message, details={"status": escalation.status, "requested": to_status})


def _lock(escalation_id: Any) -> Escalation:
    """Re-read the escalation under a row lock (only the escalation row, not the joined decision)."""
    return (
        Escalation.objects.select_for_update(no_key=True, of=("self",))
        .select_related("decision")
        .get(pk=escalation_id)
    )


def _refuse_when_overdue(escalation: Escalation, now: datetime) -> None:
    if escalation.is_open and now >= escalation.sla_deadline:
        raise SlaExpired(
            "The SLA deadline has passed; the escalation fails closed (denied) and will be "
            "marked expired.",
            details={"sla_deadline": selectors.rfc3339(escalation.sla_deadline)},
        )


def _clean_text(value: str, *, field: str, minimum: int, maximum: int = NOTE_MAX_LENGTH) -> str:
    text = (value or "").strip()
    if len(text) < minimum:
        raise InvalidInput(
            f"The {field} must be at least {minimum} characters.",
            details={field: f"at least {minimum} characters"},
        )
    if len(text) > maximum:
        raise InvalidInput(
            f"The {field} must be at most {maximum} characters.",
            details={field: f"at most {maximum} characters"},
        )
    return text


SLA_SYSTEM = system_actor("sla", "SLA expiry")


def _escalation_entry(
    escalation: Escalation, actor: dict[str, Any], *, reason: str | None = None, **fields: Any
) -> dict[str, Any]:
    """A ledger payload about ``escalation`` (its subject): the envelope, its id and its
    decision's, with the type's ``fields``."""
    return {
        **events.envelope(
            actor=actor, subject_type="escalation", subject_id=str(escalation.pk), reason=reason
        ),
        "escalation_id": str(escalation.pk),
        "decision_id": str(escalation.decision_id),
        **fields,
    }


def _notify(kind: str, escalation: Escalation, user_ids: list[int]) -> None:
    """After commit, ask the ``escalations.notify`` task to e-mail ``user_ids`` about ``kind``."""
    if not user_ids:
        return
    from apps.escalations import tasks  # the task module imports this one

    transaction.on_commit(
        partial(tasks.escalation_notify.delay, kind, str(escalation.pk), sorted(set(user_ids)))
    )


def _audit_refusal(action: str, user: Any, escalation_id: Any, error: Exception) -> None:
    """Refused attempts write nothing to the ledger, but they are logged (T26: both attempts audited)."""
    logger.warning(
        "oversight action refused",
        extra={
            "action": action,
            "actor": selectors.user_label(user),
            "escalation_id": str(escalation_id),
            "code": getattr(error, "code", type(error).__name__),
        },
    )


def _require_can_act(user: Any, escalation_id: Any) -> Escalation:
    escalation = selectors.escalation_get(user=user, escalation_id=escalation_id)
    if not selectors.escalation_can_act(user=user, escalation=escalation):
        raise PermissionDeniedError("Your role cannot act on escalations.")
    return escalation


# --- Escalations -----------------------------------------------------------------------------------


def escalation_open_automatic(
    *, decision: Model, risk_level: str, actor: dict[str, Any], now: datetime | None = None
) -> Escalation:
    """Open the escalation of a decision the engine escalated, inside the ``/decide`` pipeline's
    transaction (its ``decision.made`` entry is already appended): an ``escalation.created``
    entry and the pending row. Its priority is the decision's risk level; its reason the engine's."""
    priority = risk_level if risk_level in Priority.values else Priority.MEDIUM
    reason = (decision.reason or "escalated by the policy engine")[:500]  # type: ignore[attr-defined]
    return _open(decision, reason=reason, actor=actor, priority=priority, now=now)


def _open(
    decision: Model, *, reason: str, actor: dict[str, Any], priority: str, now: datetime | None
) -> Escalation:
    """Append ``escalation.created`` and insert the pending escalation (caller's transaction)."""
    now = now or timezone.now()
    commitment, salt = ledger.commit_personal(reason)
    escalation = Escalation(
        id=uuid.uuid4(),
        decision=decision,
        priority=priority,
        sla_deadline=now + sla_for(priority),
        reason=reason,
        escalated_by=actor["label"],
        reason_salt=salt,
        reason_commitment=commitment,
    )
    appended = ledger.ledger_append(
        entry_type=EntryType.ESCALATION_CREATED,
        payload=_escalation_entry(
            escalation,
            actor,
            priority=priority,
            sla_deadline=selectors.rfc3339(escalation.sla_deadline),
            reason_commitment=commitment,
        ),
    )
    escalation.created_ledger_seq = appended.seq
    escalation.full_clean(exclude=["decision"])
    escalation.save(force_insert=True)
    return escalation


def escalation_create(
    *,
    decision: Model,
    reason: str,
    actor: dict[str, Any],
    priority: str | None = None,
    now: datetime | None = None,
) -> Escalation:
    """Escalate an existing decision for a (second) human look.

    ``decision`` was found by the caller with the caller's visibility rules (agents: their own
    decisions only). A decision that already has an escalation → 409 ``already_escalated``; a denied
    decision → 409 ``not_escalatable`` (turning a denial into an allow is an override, with its own
    role and justification). Escalating an allowed decision suspends it: its token is revoked in
    the same transaction and the escalation's verdict decides.
    """
    reason = _clean_text(reason, field="reason", minimum=REASON_MIN_LENGTH, maximum=500)
    if priority is None:
        risk_level = decision.risk_level  # type: ignore[attr-defined]
        priority = risk_level if risk_level in Priority.values else Priority.MEDIUM
    elif priority not in Priority.values:
        raise InvalidInput(f"Unknown priority {priority!r}.", details={"priority": priority})
    if Escalation.objects.filter(decision=decision).exists():
        raise AlreadyEscalated()
    if decision.outcome == "denied":  # type: ignore[attr-defined]
        raise NotEscalatable()
    try:
        with transaction.atomic():
            escalation = _open(decision, reason=reason, actor=actor, priority=priority, now=now)
            jti = decision.token_jti  # type: ignore[attr-defined]
            if jti:
                tokens.token_revoke(
                    jti=jti,
                    reason="decision escalated for human review",
                    actor=actor,
                    expires_at=decision.token_expires_at,  # type: ignore[attr-defined]
                )
    except IntegrityError as exc:  # a concurrent escalation of the same decision won
        raise AlreadyEscalated() from exc
    return escalation


def escalation_assign(
    *, escalation_id: Any, user: Any, reviewer_username: str, now: datetime | None = None
) -> EscalationAssignment:
    """Assign a reviewer: guardian object permissions ``view_escalation`` + ``review_escalation``,
    an ``EscalationAssignment`` row (who assigned whom: Art. 26(2)) and an ``escalation.assigned``
    entry. The reviewer is e-mailed after commit."""
    if not selectors.escalation_can_assign(user=user):
        raise PermissionDeniedError("Your role cannot assign escalations.")
    escalation = selectors.escalation_get(user=user, escalation_id=escalation_id)
    reviewer = get_user_model().objects.filter(username=reviewer_username, is_active=True).first()
    if reviewer is None or not reviewer.has_perm(selectors.RESOLVE):
        raise InvalidInput(
            "Assign an active user whose role can resolve escalations.",
            details={"reviewer": reviewer_username},
        )
    try:
        with transaction.atomic():
            escalation = _lock(escalation.pk)
            if not escalation.is_open:
                raise InvalidTransition(
                    f"An escalation that is {escalation.status} can no longer be assigned.",
                    details={"status": escalation.status},
                )
            if escalation.assignments.filter(reviewer=reviewer).exists():
                raise AlreadyAssigned()
            appended = ledger.ledger_append(
                entry_type=EntryType.ESCALATION_ASSIGNED,
                payload=_escalation_entry(
                    escalation, actor_of(user), reviewer=selectors.user_label(reviewer)
                ),
            )
            assignment = EscalationAssignment.objects.create(
                escalation=escalation,
                reviewer=reviewer,
                assigned_by=user,
                ledger_seq=appended.seq,
            )
            for codename in OBJECT_PERMISSIONS:
                assign_perm(f"escalations.{codename}", reviewer, escalation)
    except IntegrityError as exc:
        raise AlreadyAssigned() from exc
    _notify("assigned", escalation, [reviewer.pk])
    return assignment


def escalation_acknowledge(
    *, escalation_id: Any, user: Any, now: datetime | None = None
) -> Escalation:
    """The reviewer takes the case: ``pending → acknowledged`` (+ ``escalation.acknowledged``)."""
    _require_can_act(user, escalation_id)
    try:
        with transaction.atomic():
            escalation = _lock(escalation_id)
            now = now or timezone.now()
            if escalation.is_open:
                _refuse_when_overdue(escalation, now)
            before = escalation.status
            escalation_transition(escalation=escalation, to_status=Status.ACKNOWLEDGED)
            appended = ledger.ledger_append(
                entry_type=EntryType.ESCALATION_ACKNOWLEDGED,
                payload=_escalation_entry(
                    escalation, actor_of(user), before=before, after=escalation.status
                ),
            )
            escalation.acknowledged_by = user
            escalation.acknowledged_at = now
            escalation.acknowledged_ledger_seq = appended.seq
            escalation.save(
                update_fields=[
                    "status",
                    "acknowledged_by",
                    "acknowledged_at",
                    "acknowledged_ledger_seq",
                    "updated_at",
                ]
            )
    except (InvalidTransition, SlaExpired) as exc:
        _audit_refusal("acknowledge", user, escalation_id, exc)
        raise
    return escalation


def escalation_resolve(
    *,
    escalation_id: Any,
    user: Any,
    resolution: str,
    note: str,
    now: datetime | None = None,
) -> ResolveResult:
    """Approve or deny an acknowledged escalation with a written note.

    Approving mints a capability token bound to the decision's exact actor/action/resource and
    stores it on the escalation. Under the four-eyes rule (priorities in
    ``LEXECON_FOUR_EYES_PRIORITIES``) the first approval is recorded (``escalation.approval_recorded``)
    and the escalation stays open; the second, different approver resolves it; nobody approves twice.
    A denial by anyone who may act resolves at once.
    """
    if resolution not in Resolution.values:
        raise InvalidInput(
            "resolution must be 'approved' or 'denied'.", details={"resolution": resolution}
        )
    note = _clean_text(note, field="note", minimum=NOTE_MIN_LENGTH)
    _require_can_act(user, escalation_id)
    try:
        with transaction.atomic():
            escalation = _lock(escalation_id)
            now = now or timezone.now()
            _check_transition(escalation, Status.RESOLVED)
            _refuse_when_overdue(escalation, now)
            required = selectors.approvals_required(escalation)
            approvals = list(escalation.approvals.all())
            if resolution == Resolution.APPROVED:
                if any(approval.approver_id == user.pk for approval in approvals):
                    raise DuplicateApproval()
                if len(approvals) + 1 < required:
                    _record_approval(escalation, user, note, len(approvals) + 1, required)
                    return ResolveResult(escalation, False, len(approvals) + 1, required)
            _resolve(escalation, user, resolution, note, approvals, required, now)
            count = len(approvals) + (1 if resolution == Resolution.APPROVED else 0)
            return ResolveResult(escalation, True, count, required)
    except (InvalidTransition, SlaExpired, DuplicateApproval) as exc:
        _audit_refusal("resolve", user, escalation_id, exc)
        raise


def _record_approval(
    escalation: Escalation, user: Any, note: str, count: int, required: int
) -> EscalationApproval:
    commitment, salt = ledger.commit_personal(note)
    appended = ledger.ledger_append(
        entry_type=EntryType.ESCALATION_APPROVAL_RECORDED,
        payload=_escalation_entry(
            escalation,
            actor_of(user),
            approvals=count,
            approvals_required=required,
            note_commitment=commitment,
        ),
    )
    approval = EscalationApproval.objects.create(
        escalation=escalation,
        approver=user,
        note=note,
        note_salt=salt,
        note_commitment=commitment,
        ledger_seq=appended.seq,
    )
    records.responsibility_record(
        ledger_seq=appended.seq,
        decision=escalation.decision,
        kind=records.Kind.APPROVAL,
        actor=actor_of(user),
        user=user,
        escalation=escalation,
        level=records.Level.SHARED,
        reason=note,
        human_decision=f"approval {count} of {required}",
    )
    escalation.save(update_fields=["updated_at"])
    return approval


def _resolve(
    escalation: Escalation,
    user: Any,
    resolution: str,
    note: str,
    approvals: list[EscalationApproval],
    required: int,
    now: datetime,
) -> None:
    decision = escalation.decision
    before = escalation.status
    commitment, salt = ledger.commit_personal(note)
    token = None
    if resolution == Resolution.APPROVED:
        token = tokens.token_issue(
            decision_id=str(decision.pk),
            actor=decision.actor,
            action=decision.action,
            resource=decision.resource,
        )
    escalation_transition(escalation=escalation, to_status=Status.RESOLVED)
    approvers = [selectors.user_label(approval.approver) for approval in approvals]
    if resolution == Resolution.APPROVED:
        approvers.append(selectors.user_label(user))
    appended = ledger.ledger_append(
        entry_type=EntryType.ESCALATION_RESOLVED,
        payload=_escalation_entry(
            escalation,
            actor_of(user),
            resolution=resolution,
            approvers=approvers,
            approvals_required=required if resolution == Resolution.APPROVED else None,
            note_commitment=commitment,
            token_jti=token.claims["jti"] if token else None,
            action_hash=token.claims["action_hash"] if token else None,
            before=before,
            after=escalation.status,
        ),
    )
    escalation.resolution = resolution
    escalation.resolved_by = user
    escalation.resolved_at = now
    escalation.resolution_note = note
    escalation.note_salt = salt
    escalation.note_commitment = commitment
    escalation.resolved_ledger_seq = appended.seq
    if token is not None:
        escalation.capability_token = token.token
        escalation.token_jti = token.claims["jti"]
        escalation.token_expires_at = token.claims["exp"]
    escalation.save(
        update_fields=[
            "status",
            "resolution",
            "resolved_by",
            "resolved_at",
            "resolution_note",
            "note_salt",
            "note_commitment",
            "resolved_ledger_seq",
            "capability_token",
            "token_jti",
            "token_expires_at",
            "updated_at",
        ]
    )
    if resolution == Resolution.APPROVED and required > 1:
        EscalationApproval.objects.create(
            escalation=escalation,
            approver=user,
            note=note,
            note_salt=salt,
            note_commitment=commitment,
            ledger_seq=appended.seq,
        )
    shared = required > 1 and resolution == Resolution.APPROVED
    records.responsibility_record(
        ledger_seq=appended.seq,
        decision=decision,
        kind=records.Kind.RESOLUTION,
        actor=actor_of(user),
        user=user,
        escalation=escalation,
        level=records.Level.SHARED if shared else records.Level.SUPERVISED,
        reason=note,
        human_decision=resolution,
    )


def escalation_expire(*, escalation_id: Any, now: datetime | None = None) -> Escalation | None:
    """Fail closed after the SLA: ``→ expired`` with resolution ``denied`` and an
    ``escalation.expired`` entry. Idempotent: an escalation that is already final, or not yet due,
    is left alone (returns None)."""
    now = now or timezone.now()
    with transaction.atomic():
        escalation = _lock(escalation_id)
        if not escalation.is_open or escalation.sla_deadline > now:
            return None
        before = escalation.status
        escalation_transition(escalation=escalation, to_status=Status.EXPIRED)
        approvals = escalation.approvals.count()
        appended = ledger.ledger_append(
            entry_type=EntryType.ESCALATION_EXPIRED,
            payload=_escalation_entry(
                escalation,
                SLA_SYSTEM,
                reason="the SLA deadline passed without a human verdict",
                priority=escalation.priority,
                sla_deadline=selectors.rfc3339(escalation.sla_deadline),
                outcome="denied",
                approvals_recorded=approvals,
                before=before,
                after=escalation.status,
            ),
        )
        escalation.resolution = Resolution.DENIED
        escalation.resolved_at = now
        escalation.resolved_ledger_seq = appended.seq
        escalation.save(
            update_fields=[
                "status",
                "resolution",
                "resolved_at",
                "resolved_ledger_seq",
                "updated_at",
            ]
        )
        records.responsibility_record(
            ledger_seq=appended.seq,
            decision=escalation.decision,
            kind=records.Kind.EXPIRY,
            actor=SLA_SYSTEM,
            escalation=escalation,
            level=records.Level.AUTOMATED,
            reason="The SLA deadline passed without a human verdict; the request fails closed.",
            human_decision="denied (expired)",
        )
        _notify("expired", escalation, selectors.notification_recipients(escalation))
    return escalation


def escalation_sla_warn(*, escalation_id: Any, now: datetime | None = None) -> bool:
    """Mark the SLA warning as sent (once) and e-mail it after commit. Not a ledger entry: it
    changes no governance state. Returns whether a warning was sent."""
    now = now or timezone.now()
    with transaction.atomic():
        escalation = _lock(escalation_id)
        if (
            not escalation.is_open
            or escalation.sla_warning_sent_at is not None
            or escalation.sla_deadline <= now
        ):
            return False
        escalation.sla_warning_sent_at = now
        escalation.save(update_fields=["sla_warning_sent_at", "updated_at"])
        _notify("warning", escalation, selectors.notification_recipients(escalation))
    return True


def escalation_check_sla(*, now: datetime | None = None) -> dict[str, int]:
    """The periodic SLA check (task ``escalations.check_sla``): expire what is past its deadline,
    warn once what has used ``SLA_WARNING_FRACTION`` of its SLA. At most ``SLA_BATCH_SIZE`` of each
    per run; the next run continues. Each escalation is its own transaction."""
    now = now or timezone.now()
    open_statuses = [Status.PENDING, Status.ACKNOWLEDGED]
    due = list(
        Escalation.objects.filter(status__in=open_statuses, sla_deadline__lte=now)
        .order_by("sla_deadline")
        .values_list("pk", flat=True)[:SLA_BATCH_SIZE]
    )
    expired = sum(1 for pk in due if escalation_expire(escalation_id=pk, now=now) is not None)
    candidates = (
        Escalation.objects.filter(
            status__in=open_statuses, sla_deadline__gt=now, sla_warning_sent_at__isnull=True
        )
        .order_by("sla_deadline")
        .values_list("pk", "created_at", "sla_deadline")[:SLA_BATCH_SIZE]
    )
    warned = 0
    for pk, created_at, deadline in candidates:
        if now >= created_at + (deadline - created_at) * SLA_WARNING_FRACTION:
            warned += escalation_sla_warn(escalation_id=pk, now=now)
    return {"expired": expired, "warned": warned}


_SUBJECTS = {
    "assigned": "Escalation assigned to you",
    "warning": "SLA warning: escalation due soon",
    "expired": "Escalation expired (denied, fail closed)",
}


def escalation_notification_send(*, kind: str, escalation_id: Any, user_ids: list[int]) -> int:
    """E-mail one notification to each of ``user_ids`` that has an address. No personal data of
    the request is in the mail: ids, action, priority, deadline and the page link only."""
    if kind not in _SUBJECTS:
        raise InvalidInput(f"Unknown notification {kind!r}.")
    escalation = Escalation.objects.select_related("decision").filter(pk=escalation_id).first()
    if escalation is None:
        raise NotFound("No such escalation.")
    users = get_user_model().objects.filter(pk__in=user_ids, is_active=True).exclude(email="")
    base = getattr(settings, "LEXECON_PUBLIC_URL", "").rstrip("/")
    deadline = selectors.rfc3339(escalation.sla_deadline)
    body = "\n".join(
        [
            f"{_SUBJECTS[kind]}.",
            "",
            f"Escalation: {escalation.pk}",
            f"Requested action: {escalation.decision.action}",
            f"Priority: {escalation.priority}",
            f"SLA deadline: {deadline}",
            f"Status: {escalation.status}",
            "",
            f"Open it (sign-in with a one-time code required): "
            f"{base}/oversight/escalations/{escalation.pk}/",
        ]
    )
    subject = f"[Lexecon] {_SUBJECTS[kind]} ({escalation.priority}, due {deadline})"
    sent = 0
    for user in users:
        sent += send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    return sent


# --- Overrides ---------------------------------------------------------------------------------


def override_execute(
    *,
    decision: Model,
    user: Any,
    override_type: str,
    justification: str,
    outcome: str = Override.Outcome.ALLOWED,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> Override:
    """An officer overrides a decision: a new ``Override`` row and an ``override.executed`` entry;
    the decision row is never changed. Overriding to allow mints a token bound to the decision's exact
    action (expiring no later than the override); overriding to deny revokes every outstanding token
    of the decision. An emergency bypass is one-time per decision (database constraint)."""
    if not (selectors._is_human(user) and user.has_perm(selectors.OVERRIDE)):
        raise PermissionDeniedError("Your role cannot execute overrides.")
    if override_type not in Override.Type.values:
        raise InvalidInput(
            f"Unknown override type {override_type!r}.",
            details={"override_type": list(Override.Type.values)},
        )
    if outcome not in Override.Outcome.values:
        raise InvalidInput("outcome must be 'allowed' or 'denied'.", details={"outcome": outcome})
    if override_type in PERMISSIVE_OVERRIDE_TYPES and outcome != Override.Outcome.ALLOWED:
        raise InvalidInput(
            f"A {override_type} override can only allow; use executive_override to deny.",
            details={"outcome": outcome},
        )
    justification = _clean_text(
        justification, field="justification", minimum=JUSTIFICATION_MIN_LENGTH
    )
    now = now or timezone.now()
    if override_type == Override.Type.TIME_LIMITED_EXCEPTION and expires_at is None:
        raise InvalidInput(
            "A time-limited exception needs expires_at.", details={"expires_at": "required"}
        )
    if expires_at is not None and expires_at <= now:
        raise InvalidInput("expires_at must be in the future.", details={"expires_at": "past"})
    if (
        override_type == Override.Type.EMERGENCY_BYPASS
        and Override.objects.filter(
            decision=decision, override_type=Override.Type.EMERGENCY_BYPASS
        ).exists()
    ):
        raise EmergencyBypassUsed()
    state = selectors.decision_effective_state(decision, now=now)
    if state["outcome"] == outcome and state["status"] != "awaiting_human":
        raise NothingToOverride(
            f"The decision is already {outcome}.", details={"outcome": state["outcome"]}
        )
    commitment, salt = ledger.commit_personal(justification)
    override_id = uuid.uuid4()
    actor = actor_of(user)
    try:
        with transaction.atomic():
            token = None
            revoked: list[str] = []
            if outcome == Override.Outcome.ALLOWED:
                lifetime = settings.LEXECON_TOKEN_LIFETIME_SECONDS
                if expires_at is not None:
                    lifetime = max(1, min(lifetime, int((expires_at - now).total_seconds())))
                token = tokens.token_issue(
                    decision_id=str(decision.pk),
                    actor=decision.actor,  # type: ignore[attr-defined]
                    action=decision.action,  # type: ignore[attr-defined]
                    resource=decision.resource,  # type: ignore[attr-defined]
                    lifetime=lifetime,
                )
            else:
                revoked = _revoke_decision_tokens(decision, actor, "override: denied")
            appended = ledger.ledger_append(
                entry_type=EntryType.OVERRIDE_EXECUTED,
                payload={
                    **events.envelope(
                        actor=actor, subject_type="decision", subject_id=str(decision.pk)
                    ),
                    "override_id": str(override_id),
                    "decision_id": str(decision.pk),
                    "override_type": override_type,
                    "outcome": outcome,
                    "previous_outcome": state["outcome"],
                    "justification_commitment": commitment,
                    "expires_at": selectors.rfc3339(expires_at),
                    "token_jti": token.claims["jti"] if token else None,
                    "action_hash": token.claims["action_hash"] if token else None,
                    "revoked_jtis": revoked,
                },
            )
            override = Override(
                id=override_id,
                decision=decision,
                override_type=override_type,
                outcome=outcome,
                previous_outcome=state["outcome"],
                executed_by=user,
                justification=justification,
                justification_salt=salt,
                justification_commitment=commitment,
                expires_at=expires_at,
                capability_token=token.token if token else None,
                token_jti=token.claims["jti"] if token else None,
                token_expires_at=token.claims["exp"] if token else None,
                ledger_seq=appended.seq,
            )
            override.save(force_insert=True)
            records.responsibility_record(
                ledger_seq=appended.seq,
                decision=decision,
                kind=records.Kind.OVERRIDE,
                actor=actor,
                user=user,
                override=override,
                level=records.Level.FULL,
                reason=justification,
                human_decision=f"{outcome} ({override_type})",
            )
    except IntegrityError as exc:  # a concurrent emergency bypass of the same decision won
        raise EmergencyBypassUsed() from exc
    return override


def _revoke_decision_tokens(decision: Model, actor: dict[str, Any], reason: str) -> list[str]:
    """Revoke every unexpired token minted for this one decision (inside the caller's transaction)."""
    now = int(time.time())
    revoked = []
    candidates = [(decision.token_jti, decision.token_expires_at)]  # type: ignore[attr-defined]
    escalation = selectors.decision_escalation(decision)
    if escalation is not None:
        candidates.append((escalation.token_jti, escalation.token_expires_at))
    candidates += list(
        Override.objects.filter(decision=decision).values_list("token_jti", "token_expires_at")
    )
    for jti, exp in candidates:
        if jti and exp and exp > now:
            tokens.token_revoke(jti=jti, reason=reason, actor=actor, expires_at=exp)
            revoked.append(jti)
    return sorted(revoked)


# --- Stop ------------------------------------------------------------------------------------------


def agent_stop(
    *, decision: Model, user: Any, reason: str, now: datetime | None = None
) -> AgentStop:
    """The "stop" of Art. 14(4)(e): revoke every outstanding token of the agent behind ``decision``
    (its engine tokens for all decisions, plus approval and override tokens) with ``token_revoke``,
    and record an ``agent.stopped`` entry with the reason's commitment."""
    if not selectors.decision_is_visible(user=user, decision=decision):
        raise NotFound("No such decision.")
    if not selectors.decision_can_stop(user=user, decision=decision):
        raise PermissionDeniedError("Your role cannot stop this agent.")
    reason = _clean_text(reason, field="reason", minimum=REASON_MIN_LENGTH)
    now = now or timezone.now()
    actor = actor_of(user)
    commitment, salt = ledger.commit_personal(reason)
    with transaction.atomic():
        outstanding = selectors.outstanding_agent_tokens(
            decision=decision, now=int(now.timestamp())
        )
        for jti, exp in outstanding:
            tokens.token_revoke(jti=jti, reason="oversight stop", actor=actor, expires_at=exp)
        jtis = [jti for jti, _ in outstanding]
        agent_key = decision.agent_key  # type: ignore[attr-defined]
        appended = ledger.ledger_append(
            entry_type=EntryType.AGENT_STOPPED,
            payload={
                **events.envelope(
                    actor=actor, subject_type="decision", subject_id=str(decision.pk)
                ),
                "decision_id": str(decision.pk),
                "agent_key": agent_key.prefix if agent_key else None,
                "reason_commitment": commitment,
                "revoked_jtis": jtis,
            },
        )
        records.responsibility_record(
            ledger_seq=appended.seq,
            decision=decision,
            kind=records.Kind.STOP,
            actor=actor,
            user=user,
            level=records.Level.FULL,
            reason=reason,
            human_decision=f"stopped the agent ({len(jtis)} tokens revoked)",
        )
        return AgentStop.objects.create(
            decision=decision,
            stopped_by=user,
            reason=reason,
            reason_salt=salt,
            reason_commitment=commitment,
            revoked_jtis=jtis,
            ledger_seq=appended.seq,
        )
