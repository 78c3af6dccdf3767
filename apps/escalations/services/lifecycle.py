"""An escalation's life: opened (by the engine or on request), assigned, acknowledged, expired,
warned; and the notification e-mails."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone
from guardian.shortcuts import assign_perm

from apps.accounts.principals import actor_of
from apps.core.exceptions import InvalidInput, NotFound, PermissionDeniedError
from apps.decisions import records
from apps.escalations import selectors
from apps.escalations.constants import (
    OBJECT_PERMISSIONS,
    REASON_MIN_LENGTH,
    SLA_BATCH_SIZE,
    SLA_WARNING_FRACTION,
)
from apps.escalations.exceptions import (
    AlreadyAssigned,
    AlreadyEscalated,
    InvalidTransition,
    NotEscalatable,
    SlaExpired,
)
from apps.escalations.models import (
    Escalation,
    EscalationAssignment,
    Priority,
)
from apps.escalations.services import common
from apps.ledger import services as ledger
from apps.ledger.entry_types import EntryType
from apps.tokens import services as tokens


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
        sla_deadline=now + common.sla_for(priority),
        reason=reason,
        escalated_by=actor["label"],
        reason_salt=salt,
        reason_commitment=commitment,
    )
    appended = ledger.ledger_append(
        entry_type=EntryType.ESCALATION_CREATED,
        payload=common.escalation_entry(
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
    reason = common.clean_text(reason, field="reason", minimum=REASON_MIN_LENGTH, maximum=500)
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
            escalation = common.lock(escalation.pk)
            if not escalation.is_open:
                raise InvalidTransition(
                    f"An escalation that is {escalation.status} can no longer be assigned.",
                    details={"status": escalation.status},
                )
            if escalation.assignments.filter(reviewer=reviewer).exists():
                raise AlreadyAssigned()
            appended = ledger.ledger_append(
                entry_type=EntryType.ESCALATION_ASSIGNED,
                payload=common.escalation_entry(
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
    common.notify("assigned", escalation, [reviewer.pk])
    return assignment


def escalation_acknowledge(
    *, escalation_id: Any, user: Any, now: datetime | None = None
) -> Escalation:
    """The reviewer takes the case: ``pending → acknowledged`` (+ ``escalation.acknowledged``)."""
    common.require_can_act(user, escalation_id)
    try:
        with transaction.atomic():
            escalation = common.lock(escalation_id)
            now = now or timezone.now()
            if escalation.is_open:
                common.refuse_when_overdue(escalation, now)
            before = escalation.status
            common.escalation_transition(
                escalation=escalation, to_status=common.Status.ACKNOWLEDGED
            )
            appended = ledger.ledger_append(
                entry_type=EntryType.ESCALATION_ACKNOWLEDGED,
                payload=common.escalation_entry(
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
        common.audit_refusal("acknowledge", user, escalation_id, exc)
        raise
    return escalation


def escalation_expire(*, escalation_id: Any, now: datetime | None = None) -> Escalation | None:
    """Fail closed after the SLA: ``→ expired`` with resolution ``denied`` and an
    ``escalation.expired`` entry. Idempotent: an escalation that is already final, or not yet due,
    is left alone (returns None)."""
    now = now or timezone.now()
    with transaction.atomic():
        escalation = common.lock(escalation_id)
        if not escalation.is_open or escalation.sla_deadline > now:
            return None
        before = escalation.status
        common.escalation_transition(escalation=escalation, to_status=common.Status.EXPIRED)
        approvals = escalation.approvals.count()
        appended = ledger.ledger_append(
            entry_type=EntryType.ESCALATION_EXPIRED,
            payload=common.escalation_entry(
                escalation,
                common.SLA_SYSTEM,
                reason="the SLA deadline passed without a human verdict",
                priority=escalation.priority,
                sla_deadline=selectors.rfc3339(escalation.sla_deadline),
                outcome="denied",
                approvals_recorded=approvals,
                before=before,
                after=escalation.status,
            ),
        )
        escalation.resolution = common.Resolution.DENIED
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
            actor=common.SLA_SYSTEM,
            escalation=escalation,
            level=records.Level.AUTOMATED,
            reason="The SLA deadline passed without a human verdict; the request fails closed.",
            human_decision="denied (expired)",
        )
        common.notify("expired", escalation, selectors.notification_recipients(escalation))
    return escalation


def escalation_sla_warn(*, escalation_id: Any, now: datetime | None = None) -> bool:
    """Mark the SLA warning as sent (once) and e-mail it after commit. Not a ledger entry: it
    changes no governance state. Returns whether a warning was sent."""
    now = now or timezone.now()
    with transaction.atomic():
        escalation = common.lock(escalation_id)
        if (
            not escalation.is_open
            or escalation.sla_warning_sent_at is not None
            or escalation.sla_deadline <= now
        ):
            return False
        escalation.sla_warning_sent_at = now
        escalation.save(update_fields=["sla_warning_sent_at", "updated_at"])
        common.notify("warning", escalation, selectors.notification_recipients(escalation))
    return True


def escalation_check_sla(*, now: datetime | None = None) -> dict[str, int]:
    """The periodic SLA check (task ``escalations.check_sla``): expire what is past its deadline,
    warn once what has used ``SLA_WARNING_FRACTION`` of its SLA. At most ``SLA_BATCH_SIZE`` of each
    per run; the next run continues. Each escalation is its own transaction."""
    now = now or timezone.now()
    open_statuses = [common.Status.PENDING, common.Status.ACKNOWLEDGED]
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
