"""Reads of decisions, scoped to who asks, and the response shape of ``/decide``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from apps.core.exceptions import NotFound
from apps.decisions.models import Decision, Outcome
from apps.decisions.services import LEGACY_DECISION
from apps.escalations import selectors as escalation_selectors
from apps.escalations.models import Escalation, Override


def visible_decisions(*, principal: Any) -> QuerySet[Decision]:
    """The decisions ``principal`` may see (``Decision.objects.visible_to``, the one rule)."""
    return Decision.objects.visible_to(principal).select_related("escalation")


def decision_get(*, principal: Any, decision_id: Any) -> Decision:
    """One decision ``principal`` may see; ``NotFound`` otherwise (existence is not revealed)."""
    decision = visible_decisions(principal=principal).filter(pk=decision_id).first()
    if decision is None:
        raise NotFound("No such decision.")
    return decision


def decision_is_visible(*, principal: Any, decision: Decision) -> bool:
    """May ``principal`` see ``decision``? (the one rule, for a row already in hand)"""
    return Decision.objects.filter(pk=decision.pk).visible_to(principal).exists()


def decision_list(
    *,
    principal: Any,
    outcome: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    response_unconfirmed: bool | None = None,
) -> QuerySet[Decision]:
    queryset = visible_decisions(principal=principal).order_by("-created_at", "-ledger_seq")
    if outcome:
        queryset = queryset.filter(outcome=outcome)
    if actor:
        queryset = queryset.filter(actor=actor)
    if action:
        queryset = queryset.filter(action=action)
    if since:
        queryset = queryset.filter(created_at__gte=since)
    if until:
        queryset = queryset.filter(created_at__lt=until)
    if response_unconfirmed is not None:
        queryset = queryset.filter(response_unconfirmed=response_unconfirmed)
    return queryset


def current_state(decision: Decision) -> dict[str, Any]:
    """The outcome now, never changing the decision row: an override in force decides; else a
    resolved (or expired → denied) escalation; else the original outcome. See
    ``apps.escalations.selectors.decision_effective_state`` and docs/oversight.md."""
    state = escalation_selectors.decision_effective_state(decision)
    return {
        "outcome": state["outcome"],
        "capability_token": state["capability_token"],
        "status": state["status"],
        "override": state["override"],
    }


def decision_response(decision: Decision) -> dict[str, Any]:
    """The ``POST /decide`` answer, a pure function of the stored row (so replays are identical)."""
    escalation = (
        getattr(decision, "escalation", None) if decision.outcome == Outcome.ESCALATED else None
    )
    outcome = decision.outcome
    return {
        "decision_id": str(decision.pk),
        "outcome": outcome,
        "reason": decision.reason,
        # Fixed key order: PostgreSQL's jsonb re-orders keys, and replays must be byte-identical.
        "reasons": [
            {"rule_id": r.get("rule_id"), "effect": r.get("effect"), "message": r.get("message")}
            for r in decision.reasons
        ],
        "policy_version": decision.policy_version or None,
        "risk": {
            "score": decision.risk_score,
            "level": decision.risk_level,
            "dimensions": dict(sorted(decision.risk_dimensions.items())),
        },
        "capability_token": decision.capability_token,
        "escalation_id": str(escalation.pk) if escalation else None,
        "ledger_entry_id": decision.ledger_seq,
        "ledger_entry_hash": decision.ledger_entry_hash,
        "timestamp": decision.timestamp,
        "controls": decision.controls,
        # Fields of the original Lexecon API, kept for existing clients.
        "decision": LEGACY_DECISION[outcome],
        "allowed": outcome == Outcome.ALLOWED,
        "request_id": decision.request_id or None,
    }


def decision_detail(decision: Decision) -> dict[str, Any]:
    """``GET /decisions/{id}``: the original answer plus the current state after humans acted."""
    body = decision_response(decision)
    state = current_state(decision)
    body["original_outcome"] = decision.outcome
    body["outcome"] = state["outcome"]
    body["decision"] = LEGACY_DECISION[state["outcome"]]
    body["allowed"] = state["outcome"] == Outcome.ALLOWED
    body["capability_token"] = state["capability_token"]
    body["status"] = state["status"]
    body["actor"] = decision.actor
    body["action"] = decision.action
    body["resource"] = decision.resource
    body["data_classes"] = decision.data_classes
    # True when the answer may never have reached the agent (ADR 0010); a replay still returns it.
    body["response_unconfirmed"] = decision.response_unconfirmed
    # Any escalation counts here, also one opened later for a second look (POST /escalations/create).
    escalation = escalation_selectors.decision_escalation(decision)
    body["escalation_id"] = str(escalation.pk) if escalation else body["escalation_id"]
    body["escalation"] = (
        {
            "id": str(escalation.pk),
            "status": escalation.status,
            "resolution": escalation.resolution or None,
            "priority": escalation.priority,
            "sla_deadline": escalation.sla_deadline.isoformat().replace("+00:00", "Z"),
        }
        if escalation
        else None
    )
    override = state["override"]
    body["override"] = (
        {
            "id": str(override.pk),
            "override_type": override.override_type,
            "outcome": override.outcome,
            "expires_at": escalation_selectors.rfc3339(override.expires_at),
        }
        if override
        else None
    )
    return body


def token_issued_for(*, jti: str) -> tuple[Decision, int | None] | None:
    """The decision a capability token was minted for, and the token's expiry (epoch seconds).

    Tokens are minted by ``/decide`` (on the decision row), by an approved escalation and by an
    override (on those rows); all three can be revoked by ``jti``.
    """
    decision = Decision.objects.filter(token_jti=jti).first()
    if decision is not None:
        return decision, decision.token_expires_at
    for model in (Escalation, Override):
        holder = model.objects.select_related("decision").filter(token_jti=jti).first()
        if holder is not None:
            return holder.decision, holder.token_expires_at
    return None
