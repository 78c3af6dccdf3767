"""Shared parts of the oversight services: the state machine, row locks, text checks, ledger
payloads about an escalation, notifications and refusal logging (rules: ``__init__``)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction

from apps.accounts.principals import system_actor
from apps.core.exceptions import InvalidInput, PermissionDeniedError
from apps.escalations import selectors
from apps.escalations.constants import NOTE_MAX_LENGTH
from apps.escalations.exceptions import (
    InvalidTransition,
    SlaExpired,
)
from apps.escalations.models import (
    DEFAULT_SLA,
    Escalation,
    Priority,
)
from apps.ledger import events

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


def sla_for(priority: str) -> timedelta:
    """SLA of a priority: ``LEXECON_SLA_HOURS`` or the DESIGN §9 default."""
    hours = getattr(settings, "LEXECON_SLA_HOURS", {}).get(priority)
    return timedelta(hours=hours) if hours is not None else DEFAULT_SLA[Priority(priority)]


def escalation_transition(*, escalation: Escalation, to_status: str) -> Escalation:
    """Move ``escalation`` to ``to_status`` in memory if ``TRANSITIONS`` allows it, else raise
    ``InvalidTransition`` (409). The caller holds the row lock, saves and appends the ledger entry."""
    check_transition(escalation, to_status)
    escalation.status = to_status
    return escalation


def check_transition(escalation: Escalation, to_status: str) -> None:
    """Raise like ``escalation_transition`` without moving (four-eyes first approvals)."""
    if to_status in TRANSITIONS[escalation.status]:
        return
    message = f"An escalation that is {escalation.status} cannot become {to_status}."
    if escalation.status == Status.PENDING and to_status == Status.RESOLVED:
        message += " Acknowledge it first."
    raise InvalidTransition(message, details={"status": escalation.status, "requested": to_status})


def lock(escalation_id: Any) -> Escalation:
    """Re-read the escalation under a row lock (only the escalation row, not the joined decision)."""
    return (
        Escalation.objects.select_for_update(no_key=True, of=("self",))
        .select_related("decision")
        .get(pk=escalation_id)
    )


def refuse_when_overdue(escalation: Escalation, now: datetime) -> None:
    if escalation.is_open and now >= escalation.sla_deadline:
        raise SlaExpired(
            "The SLA deadline has passed; the escalation fails closed (denied) and will be "
            "marked expired.",
            details={"sla_deadline": selectors.rfc3339(escalation.sla_deadline)},
        )


def clean_text(value: str, *, field: str, minimum: int, maximum: int = NOTE_MAX_LENGTH) -> str:
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


def escalation_entry(
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


def notify(kind: str, escalation: Escalation, user_ids: list[int]) -> None:
    """After commit, ask the ``escalations.notify`` task to e-mail ``user_ids`` about ``kind``."""
    if not user_ids:
        return
    # By the task's registered name (EscalationsConfig.ready registers it; a missing name is a
    # KeyError): the task module calls these services, so importing it here would make a loop.
    task = current_app.tasks["escalations.notify"]
    transaction.on_commit(partial(task.delay, kind, str(escalation.pk), sorted(set(user_ids))))


def audit_refusal(action: str, user: Any, escalation_id: Any, error: Exception) -> None:
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


def require_can_act(user: Any, escalation_id: Any) -> Escalation:
    escalation = selectors.escalation_get(user=user, escalation_id=escalation_id)
    if not selectors.escalation_can_act(user=user, escalation=escalation):
        raise PermissionDeniedError("Your role cannot act on escalations.")
    return escalation
