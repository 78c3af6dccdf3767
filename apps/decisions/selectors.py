"""Reads of decisions, scoped to who asks, and the response shape of ``/decide``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet

from apps.core.exceptions import NotFound
from apps.decisions.models import Decision, Outcome, ResponsibilityRecord
from apps.decisions.services import LEGACY_DECISION
from apps.escalations import selectors as escalation_selectors
from apps.escalations.models import AgentStop, Escalation, Override
from apps.ledger.entry_types import EntryType
from apps.ledger.models import LedgerEntry
from apps.tokens.models import RevokedToken


def visible_decisions(*, principal: Any) -> QuerySet[Decision]:
    """The decisions ``principal`` may see (``Decision.objects.visible_to``, the one rule)."""
    return Decision.objects.visible_to(principal).select_related("escalation")


def decision_get(*, principal: Any, decision_id: Any) -> Decision:
    """One decision ``principal`` may see; ``NotFound`` otherwise (existence is not revealed)."""
    decision = visible_decisions(principal=principal).filter(pk=decision_id).first()
    if decision is None:
        raise NotFound("No such decision.")
    return decision


def decision_by_entry_hash(
    *, principal: Any, entry_hash: str, decision_id: Any = None
) -> Decision | None:
    """The visible decision whose ledger entry has ``entry_hash``, or None. With its
    ``decision_id`` this is a primary-key look-up; with the hash alone it scans the decisions the
    caller may see (no index on the hash: every index costs the serialised append; the original
    scanned its whole ledger here)."""
    decisions = visible_decisions(principal=principal).filter(ledger_entry_hash=entry_hash)
    if decision_id is not None:
        decisions = decisions.filter(pk=decision_id)
    return decisions.first()


def decision_list(
    *,
    principal: Any,
    outcome: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    response_unconfirmed: bool | None = None,
    risk_level: str | None = None,
    search: str | None = None,
) -> QuerySet[Decision]:
    queryset = visible_decisions(principal=principal).order_by("-created_at", "-ledger_seq")
    if risk_level:
        queryset = queryset.filter(risk_level=risk_level)
    if search:  # the dashboard's free-text box: actor or action containing it
        queryset = queryset.filter(Q(actor__icontains=search) | Q(action__icontains=search))
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
        # Accepted, but worth a look: an ai_system the registry does not know (ADR 0019).
        "warnings": (
            [f"ai_system '{decision.ai_system}' is not registered"]
            if decision.ai_system_registered is False
            else []
        ),
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
    body["ai_system"] = decision.ai_system or None
    body["ai_system_registered"] = decision.ai_system_registered
    # True when the answer may never have reached the agent (ADR 0010); a replay still returns it.
    body["response_unconfirmed"] = decision.response_unconfirmed
    # Record-keeping (ADR 0021): the class fixed when it was written, and when its personal data
    # (context, people's words) was erased by the retention sweep.
    body["retention_class"] = decision.retention_class
    body["anonymised_at"] = escalation_selectors.rfc3339(decision.anonymised_at)
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


# --- A decision's record, as its page and the responsibility API show it --------------------------


def responsibility_chain(*, decision: Decision) -> list[dict[str, Any]]:
    """Every responsibility record of the decision in ledger order: the automated decision first,
    then each approval, resolution, expiry, override and stop."""
    chain: list[dict[str, Any]] = []
    rows = ResponsibilityRecord.objects.filter(decision=decision).select_related("user")
    for record in rows.order_by("ledger_seq", "id"):
        if record.kind == ResponsibilityRecord.Kind.DECISION:
            who = f"engine (policy {(decision.policy_version or 'none')[:12]})"
            role = "policy engine"
        else:
            who = record.user.get_username() if record.user else record.actor_label
            role = record.role or record.actor_kind
        chain.append(
            {
                "kind": record.kind,
                "level": record.level,
                "who": who,
                "role": role,
                "why": record.reason,
                "ai_recommendation": record.ai_recommendation,
                "human_decision": record.human_decision or None,
                "at": escalation_selectors.rfc3339(record.created_at),
                "ledger_seq": record.ledger_seq,
                "escalation_id": str(record.escalation_id) if record.escalation_id else None,
                "override_id": str(record.override_id) if record.override_id else None,
            }
        )
    return chain


def decision_token_jtis(*, decision: Decision) -> list[str]:
    """Every capability token ever minted for this decision (engine, approval, overrides)."""
    jtis = [decision.token_jti] if decision.token_jti else []
    escalation = escalation_selectors.decision_escalation(decision)
    if escalation is not None and escalation.token_jti:
        jtis.append(escalation.token_jti)
    jtis += [
        jti
        for jti in Override.objects.filter(decision=decision).values_list("token_jti", flat=True)
        if jti
    ]
    return jtis


def decision_ledger_seqs(*, decision: Decision) -> list[int]:
    """``seq`` of every ledger entry about this decision: ``decision.made``, the escalation's
    entries, assignments, approvals, overrides, stops, revocations of its tokens and the mark of
    an unconfirmed answer."""
    seqs: set[int] = {decision.ledger_seq}
    escalation = escalation_selectors.decision_escalation(decision)
    if escalation is not None:
        seqs |= {
            seq
            for seq in (
                escalation.created_ledger_seq,
                escalation.acknowledged_ledger_seq,
                escalation.resolved_ledger_seq,
            )
            if seq is not None
        }
        seqs |= set(escalation.assignments.values_list("ledger_seq", flat=True))
        seqs |= set(escalation.approvals.values_list("ledger_seq", flat=True))
    seqs |= set(Override.objects.filter(decision=decision).values_list("ledger_seq", flat=True))
    seqs |= set(AgentStop.objects.filter(decision=decision).values_list("ledger_seq", flat=True))
    # Every entry with a responsibility record (e.g. an Art. 14 intervention recorded by a later
    # app) is about this decision; the ones above are among them already.
    seqs |= set(
        ResponsibilityRecord.objects.filter(decision=decision).values_list("ledger_seq", flat=True)
    )
    revoked = RevokedToken.objects.filter(
        jti__in=decision_token_jtis(decision=decision), ledger_seq__isnull=False
    ).values_list("ledger_seq", flat=True)
    seqs |= set(revoked)
    if getattr(decision, "response_unconfirmed", False):  # ADR 0010: found by its entry type
        marks = LedgerEntry.objects.filter(
            entry_type=EntryType.DECISION_RESPONSE_UNCONFIRMED,
            payload__contains=f'"decision_id":"{decision.pk}"',  # canonical JSON: no spaces
        )
        seqs |= set(marks.values_list("seq", flat=True))
    return sorted(seqs)


def decision_ledger_entries(*, decision: Decision) -> list[LedgerEntry]:
    return list(
        LedgerEntry.objects.filter(seq__in=decision_ledger_seqs(decision=decision))
        .defer("leaf_hash")
        .order_by("seq")
    )


def decision_stops(*, decision: Decision) -> QuerySet[AgentStop]:
    return AgentStop.objects.filter(decision=decision).select_related("stopped_by")


def decision_overrides(*, decision: Decision) -> QuerySet[Override]:
    return Override.objects.filter(decision=decision).select_related("executed_by")


def decision_outcome_counts(*, principal: Any) -> dict[str, int]:
    """Decisions the caller may see, per (original) outcome, in one query."""
    rows = (
        visible_decisions(principal=principal)
        .order_by()
        .values_list("outcome")
        .annotate(n=Count("pk"))
    )
    counts = dict.fromkeys(Outcome.values, 0)
    counts.update(dict(rows))
    return counts
