"""Verdicts: approve or deny an acknowledged escalation, with the four-eyes rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.accounts.principals import actor_of
from apps.core.exceptions import InvalidInput
from apps.decisions import records
from apps.escalations import selectors
from apps.escalations.constants import NOTE_MIN_LENGTH
from apps.escalations.exceptions import (
    DuplicateApproval,
    InvalidTransition,
    SlaExpired,
)
from apps.escalations.models import (
    Escalation,
    EscalationApproval,
)
from apps.escalations.services import common
from apps.ledger import services as ledger
from apps.ledger.entry_types import EntryType
from apps.tokens import services as tokens


@dataclass(frozen=True)
class ResolveResult:
    """What ``escalation_resolve`` did: resolved, or (four-eyes) recorded an approval and waits."""

    escalation: Escalation
    resolved: bool
    approvals: int
    approvals_required: int


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
    if resolution not in common.Resolution.values:
        raise InvalidInput(
            "resolution must be 'approved' or 'denied'.", details={"resolution": resolution}
        )
    note = common.clean_text(note, field="note", minimum=NOTE_MIN_LENGTH)
    common.require_can_act(user, escalation_id)
    try:
        with transaction.atomic():
            escalation = common.lock(escalation_id)
            now = now or timezone.now()
            common.check_transition(escalation, common.Status.RESOLVED)
            common.refuse_when_overdue(escalation, now)
            required = selectors.approvals_required(escalation)
            approvals = list(escalation.approvals.all())
            if resolution == common.Resolution.APPROVED:
                if any(approval.approver_id == user.pk for approval in approvals):
                    raise DuplicateApproval()
                if len(approvals) + 1 < required:
                    _record_approval(escalation, user, note, len(approvals) + 1, required)
                    return ResolveResult(escalation, False, len(approvals) + 1, required)
            _resolve(escalation, user, resolution, note, approvals, required, now)
            count = len(approvals) + (1 if resolution == common.Resolution.APPROVED else 0)
            return ResolveResult(escalation, True, count, required)
    except (InvalidTransition, SlaExpired, DuplicateApproval) as exc:
        common.audit_refusal("resolve", user, escalation_id, exc)
        raise


def _record_approval(
    escalation: Escalation, user: Any, note: str, count: int, required: int
) -> EscalationApproval:
    commitment, salt = ledger.commit_personal(note)
    appended = ledger.ledger_append(
        entry_type=EntryType.ESCALATION_APPROVAL_RECORDED,
        payload=common.escalation_entry(
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
    if resolution == common.Resolution.APPROVED:
        token = tokens.token_issue(
            decision_id=str(decision.pk),
            actor=decision.actor,
            action=decision.action,
            resource=decision.resource,
        )
    common.escalation_transition(escalation=escalation, to_status=common.Status.RESOLVED)
    approvers = [selectors.user_label(approval.approver) for approval in approvals]
    if resolution == common.Resolution.APPROVED:
        approvers.append(selectors.user_label(user))
    appended = ledger.ledger_append(
        entry_type=EntryType.ESCALATION_RESOLVED,
        payload=common.escalation_entry(
            escalation,
            actor_of(user),
            resolution=resolution,
            approvers=approvers,
            approvals_required=required if resolution == common.Resolution.APPROVED else None,
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
    if resolution == common.Resolution.APPROVED and required > 1:
        EscalationApproval.objects.create(
            escalation=escalation,
            approver=user,
            note=note,
            note_salt=salt,
            note_commitment=commitment,
            ledger_seq=appended.seq,
        )
    shared = required > 1 and resolution == common.Resolution.APPROVED
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
