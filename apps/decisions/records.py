"""Responsibility records: the one writer, used beside every ledger entry that settles a decision.

This module belongs to the decisions app's data layer (with ``models``): the oversight services in
``apps.escalations`` write through it, and the ``/decide`` pipeline (``apps.decisions.services``,
above escalations in the import order) does too — see docs/architecture.md.
"""

from __future__ import annotations

from typing import Any

from apps.decisions.models import Decision, ResponsibilityRecord

Kind = ResponsibilityRecord.Kind
Level = ResponsibilityRecord.Level
# Django rebuilds ``Choices.values`` on every access; this runs once per decision.
_KINDS, _LEVELS = frozenset(Kind.values), frozenset(Level.values)


def engine_recommendation(decision: Decision) -> str:
    """What the engine would have done without a human: its own outcome, or for an escalated
    decision ``allowed`` when a permit rule applied (outranked by the escalation), else ``denied``."""
    if decision.outcome != "escalated":
        return decision.outcome
    effects = {reason.get("effect") for reason in decision.reasons}
    return "allowed" if effects & {"permit", "permit_outranked"} else "denied"


def responsibility_record_build(
    *,
    decision: Decision,
    kind: str,
    actor: dict[str, Any],
    level: str,
    reason: str,
    human_decision: str = "",
    user: Any = None,
    escalation: Any = None,
    override: Any = None,
    ai_recommendation: str | None = None,
) -> ResponsibilityRecord:
    """An unsaved record; ``responsibility_record`` saves it, the ``/decide`` pipeline writes it
    in its ledger statement (``ledger.LinkedRow``). ``actor`` is the ledger envelope's actor.

    ``ai_recommendation`` is what the engine recommended unless given: a human intervention
    recorded for Art. 14 names the recommendation of the AI system it oversaw."""
    if kind not in _KINDS or level not in _LEVELS:
        raise ValueError(f"unknown responsibility kind {kind!r} or level {level!r}")
    return ResponsibilityRecord(
        decision=decision,
        kind=kind,
        escalation=escalation,
        override=override,
        user=user,
        actor_kind=actor["kind"],
        actor_id=actor["id"],
        actor_label=actor["label"],
        role=actor.get("role") or "",
        level=level,
        reason=reason,
        # The automated record keeps the engine's own outcome; a human's, what the engine would
        # have done had nobody looked.
        ai_recommendation=(
            ai_recommendation
            if ai_recommendation is not None
            else decision.outcome
            if kind == Kind.DECISION
            else engine_recommendation(decision)
        ),
        human_decision=human_decision,
    )


def responsibility_record(*, ledger_seq: int, **fields: Any) -> ResponsibilityRecord:
    """Write the record of the ledger entry ``ledger_seq`` (inside that entry's transaction)."""
    record = responsibility_record_build(**fields)
    record.ledger_seq = ledger_seq
    record.save(force_insert=True)
    return record
