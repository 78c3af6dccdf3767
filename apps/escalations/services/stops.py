"""The stop of Art. 14(4)(e): revoke every outstanding token of the agent behind a decision."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from apps.accounts.principals import actor_of
from apps.core.exceptions import NotFound, PermissionDeniedError
from apps.decisions import records
from apps.decisions.models import Decision
from apps.escalations import selectors
from apps.escalations.constants import REASON_MIN_LENGTH
from apps.escalations.models import AgentStop
from apps.escalations.services import common
from apps.ledger import events
from apps.ledger import services as ledger
from apps.ledger.entry_types import EntryType
from apps.tokens import services as tokens


def agent_stop(
    *, decision: Model, user: Any, reason: str, now: datetime | None = None
) -> AgentStop:
    """The "stop" of Art. 14(4)(e): revoke every outstanding token of the agent behind ``decision``
    (its engine tokens for all decisions, plus approval and override tokens) with ``token_revoke``,
    and record an ``agent.stopped`` entry with the reason's commitment."""
    if not Decision.objects.visible_to(user).contains(decision):
        raise NotFound("No such decision.")
    if not selectors.decision_can_stop(user=user, decision=decision):
        raise PermissionDeniedError("Your role cannot stop this agent.")
    reason = common.clean_text(reason, field="reason", minimum=REASON_MIN_LENGTH)
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
