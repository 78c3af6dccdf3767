"""Overrides: an officer changes a decision's outcome with a written justification."""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone

from apps.accounts.principals import actor_of
from apps.core.exceptions import InvalidInput, PermissionDeniedError
from apps.decisions import records
from apps.escalations import selectors
from apps.escalations.constants import JUSTIFICATION_MIN_LENGTH
from apps.escalations.exceptions import (
    EmergencyBypassUsed,
    NothingToOverride,
)
from apps.escalations.models import Override
from apps.escalations.services import common
from apps.ledger import events
from apps.ledger import services as ledger
from apps.ledger.entry_types import EntryType
from apps.tokens import services as tokens

# Override types that can only ever allow (they exist to let something through).
PERMISSIVE_OVERRIDE_TYPES = frozenset(
    {
        Override.Type.EMERGENCY_BYPASS,
        Override.Type.TIME_LIMITED_EXCEPTION,
        Override.Type.RISK_ACCEPTED,
    }
)


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
    justification = common.clean_text(
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
