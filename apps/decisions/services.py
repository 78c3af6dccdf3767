"""The ``/decide`` pipeline (DESIGN §5): policy → risk → outcome → token → decision row + ledger entry.

The decision row and its single ``decision.made`` ledger entry are written together: on PostgreSQL by
one statement (``ledger_append(linked=…)``), elsewhere in one transaction; an escalated decision adds its
pending escalation in the same transaction. Nothing is returned to the agent unless that write
committed, so there is never an allow without a ledger entry. Any failure before it (no active
policy, evaluation trouble) yields ``denied``; a database failure yields 503 and writes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from apps.accounts.models import AgentKey
from apps.accounts.principals import actor_of, agent_actor
from apps.aisystems import selectors as aisystems
from apps.core.exceptions import ApplicationError, Conflict
from apps.core.ids import uuid7
from apps.core.retention import decision_retention_class
from apps.decisions import delivery, records
from apps.decisions.models import Decision, Outcome
from apps.escalations import services as escalation_services
from apps.ledger import events
from apps.ledger import services as ledger
from apps.ledger.entry_types import EntryType
from apps.policies import selectors as policies
from apps.risk import scoring
from apps.tokens import services as tokens
from tools.verify_bundle import canonical_bytes

LEGACY_DECISION = {Outcome.ALLOWED: "permit", Outcome.DENIED: "deny", Outcome.ESCALATED: "escalate"}
MODE_STRICTNESS = {"permissive": 0, "strict": 1, "paranoid": 2}


@dataclass(frozen=True)
class DecideRequest:
    """A validated ``/decide`` request (Lexecon aliases already mapped)."""

    actor: str
    action: str
    resource: str | None = None
    data_classes: tuple[str, ...] = ()
    context: dict[str, Any] = field(default_factory=dict)
    ai_system: str = ""
    request_id: str = ""
    risk_level: int | None = None
    policy_mode: str | None = None
    risk_dimensions: dict[str, float] = field(default_factory=dict)
    tool: str | None = None
    user_intent: str | None = None

    def fingerprint(self) -> str:
        """Hash of what was asked (``request_id`` excluded: it may be minted per HTTP request).

        JCS of every other field; JCS already writes ``70.0`` as ``70`` and a tuple as an array,
        so equal requests hash equally however their numbers were spelt.
        """
        asked = {name: getattr(self, name) for name in _FINGERPRINT_FIELDS}
        return hashlib.sha256(canonical_bytes(asked)).hexdigest()


_FINGERPRINT_FIELDS = tuple(
    item.name for item in fields(DecideRequest) if item.name != "request_id"
)


class UnknownAISystem(ApplicationError):
    code = "unknown_ai_system"
    status = 400
    default_message = (
        "ai_system names no system of the AI system registry, and this deployment accepts "
        "decisions only for registered systems (LEXECON_REQUIRE_REGISTERED_AI_SYSTEM)."
    )


def _ai_system_registered(ai_system: str) -> tuple[bool | None, str | None]:
    """Whether the request's ``ai_system`` is registered (None: none was sent), and its risk
    class if it is (both from the registry's cached map: no query). Unknown ids are refused
    before anything is written when the deployment requires registration; otherwise they are
    accepted and flagged. Suspended and retired systems count as registered."""
    if not ai_system:
        return None, None
    risk_class = aisystems.registered_risk_class(ai_system)
    if risk_class is not None:
        return True, risk_class
    if settings.LEXECON_REQUIRE_REGISTERED_AI_SYSTEM:
        raise UnknownAISystem(details={"ai_system": ai_system})
    return False, None


@dataclass(frozen=True)
class MadeDecision:
    decision: Decision
    replayed: bool


def _evaluate(request: DecideRequest) -> tuple[str, list[dict], str, list[str], list[dict]]:
    """Outcome, reasons, policy version, controls and matched term metadata. Never raises."""
    return evaluate_with(policies.active_compiled(), request)


def evaluate_with(
    compiled: Any, request: DecideRequest
) -> tuple[str, list[dict], str, list[str], list[dict]]:
    """The policy step of ``/decide`` against ``compiled`` (None: no policy is active): outcome,
    reasons, policy version, controls and matched term metadata. Never raises.

    ``/decide`` calls it with the active version; a policy simulation (``apps.decisions.simulation``)
    calls it with a draft, so a replay goes through exactly the code that decided."""
    if compiled is None:
        reason = {
            "rule_id": "system:no-active-policy",
            "effect": "deny",
            "message": "No policy is active, so nothing is permitted (fail closed).",
        }
        return Outcome.DENIED, [reason], "", [], []
    result = compiled.evaluate(
        {
            "actor": request.actor,
            "action": request.action,
            "resource": request.resource,
            "data_classes": list(request.data_classes),
            "context": request.context,
        }
    )
    reasons = [reason.to_dict() for reason in result.reasons]
    metadata = [term.metadata for term in result.matched_terms]
    outcome = result.outcome
    requested = request.policy_mode
    if requested and MODE_STRICTNESS.get(requested, 0) > MODE_STRICTNESS.get(result.mode, 0):
        # A caller may ask for a stricter mode than the policy's, never a looser one.
        if requested == "paranoid" and outcome != Outcome.DENIED:
            outcome = Outcome.DENIED
            reasons.insert(
                0,
                {
                    "rule_id": "mode:paranoid",
                    "effect": "deny",
                    "message": "The caller asked for paranoid mode: everything is denied.",
                },
            )
        elif outcome == Outcome.ALLOWED and reasons and reasons[0]["rule_id"].startswith("mode:"):
            outcome = Outcome.DENIED
            reasons.insert(
                0,
                {
                    "rule_id": "mode:strict",
                    "effect": "deny",
                    "message": "The caller asked for strict mode and no rule permits this.",
                },
            )
    return outcome, reasons, result.policy_version, list(result.controls), metadata


def risk_escalation(outcome: str, reasons: list[dict], score: float) -> str:
    """The risk step of ``/decide``: an allowed request at or above the escalation threshold is
    escalated (its reason put first in ``reasons``). Returns the outcome."""
    threshold = settings.LEXECON_RISK_ESCALATION_THRESHOLD
    if outcome == Outcome.ALLOWED and score >= threshold:
        reasons.insert(
            0,
            {
                "rule_id": "risk:auto-escalation",
                "effect": "escalate",
                "message": f"Risk score {score} is at or above the escalation "
                f"threshold {threshold}: a human must decide.",
            },
        )
        return Outcome.ESCALATED
    return outcome


def decision_make(
    *,
    request: DecideRequest,
    agent_key: AgentKey | None,
    idempotency_key: str | None = None,
    principal: Any = None,
) -> MadeDecision:
    """Decide, mint a token when allowed, and write the decision with its ledger entry and its
    automated responsibility record (one statement on PostgreSQL); an escalated decision opens
    its escalation through the escalations service in the same transaction.

    ``principal`` is who asked (``request.user``: an agent or a signed-in person); without it the
    agent key is the actor."""
    fingerprint = request.fingerprint()
    if idempotency_key:
        existing = _existing(agent_key, idempotency_key, fingerprint)
        if existing is not None:
            return MadeDecision(existing, replayed=True)

    ai_system_registered, ai_system_risk_class = _ai_system_registered(request.ai_system)
    outcome, reasons, policy_version, controls, metadata = _evaluate(request)
    risk = scoring.assess(
        term_metadata=metadata,
        data_classes=request.data_classes,
        risk_level=request.risk_level,
        context=request.context,
        caller_dimensions=request.risk_dimensions,
    )
    outcome = risk_escalation(outcome, reasons, risk.score)

    decision_id = uuid7()  # time-ordered: inserts stay at the right edge of the primary key
    token = None
    if outcome == Outcome.ALLOWED:
        token = tokens.token_issue(
            decision_id=str(decision_id),
            actor=request.actor,
            action=request.action,
            resource=request.resource,
        )
    commitment, salt = ledger.commit_personal(request.context)
    decision = Decision(
        id=decision_id,
        agent_key=agent_key,
        idempotency_key=idempotency_key or None,
        request_fingerprint=fingerprint,
        request_id=request.request_id,
        actor=request.actor,
        action=request.action,
        resource=request.resource,
        data_classes=list(request.data_classes),
        ai_system=request.ai_system,
        ai_system_registered=ai_system_registered,
        outcome=outcome,
        reason=reasons[0]["message"] if reasons else "",
        reasons=reasons,
        controls=controls,
        policy_version=policy_version,
        risk_score=risk.score,
        risk_level=risk.level,
        risk_dimensions=risk.dimensions,
        capability_token=token.token if token else None,
        token_jti=token.claims["jti"] if token else None,
        token_expires_at=token.claims["exp"] if token else None,
        context=request.context,
        context_salt=salt,
        context_commitment=commitment,
        retention_class=decision_retention_class(
            ai_system_risk_class=ai_system_risk_class, data_classes=request.data_classes
        ),
    )
    if principal is not None:
        actor = actor_of(principal)
    elif agent_key is not None:
        actor = agent_actor(prefix=agent_key.prefix, name=agent_key.name)
    else:
        raise ValueError("decision_make needs who asked: a principal or an agent key")
    payload = {
        **events.envelope(
            actor=actor,
            subject_type="decision",
            subject_id=str(decision_id),
            request_id=request.request_id or None,
        ),
        "decision_id": str(decision_id),
        "request": {
            "actor": request.actor,
            "action": request.action,
            "resource": request.resource,
            "data_classes": sorted(request.data_classes),
            "ai_system": request.ai_system,
        },
        "outcome": outcome,
        "rules": [r["rule_id"] for r in reasons],
        "policy_version": policy_version,
        "risk": {"score": float(risk.score), "level": risk.level},
        "context_commitment": commitment,
        "token_jti": decision.token_jti,
    }
    record = records.responsibility_record_build(
        decision=decision,
        kind=records.Kind.DECISION,
        actor=actor,
        level=records.Level.AUTOMATED,
        reason=decision.reason or "no rule applied",
        user=principal if actor["kind"] == "user" else None,
    )
    linked = (
        ledger.LinkedRow(decision),
        ledger.LinkedRow(record, hash_field=None, timestamp_field=None),
    )
    delivery.expect(decision_id)  # before the append: from here on the agent is owed an answer
    try:
        if outcome != Outcome.ESCALATED:
            ledger.ledger_append(entry_type=EntryType.DECISION_MADE, payload=payload, linked=linked)
        else:
            with transaction.atomic():
                ledger.ledger_append(
                    entry_type=EntryType.DECISION_MADE, payload=payload, linked=linked
                )
                escalation_services.escalation_open_automatic(
                    decision=decision, risk_level=risk.level, actor=actor
                )
    except IntegrityError:
        if idempotency_key:  # a concurrent request with the same key won the race
            existing = _existing(agent_key, idempotency_key, fingerprint)
            if existing is not None:
                return MadeDecision(existing, replayed=True)
        raise
    return MadeDecision(decision, replayed=False)


def _existing(agent_key: AgentKey | None, key: str, fingerprint: str) -> Decision | None:
    existing = (
        Decision.objects.select_related("escalation")
        .filter(agent_key=agent_key, idempotency_key=key)
        .first()
    )
    if existing is not None and existing.request_fingerprint != fingerprint:
        raise Conflict(
            "This Idempotency-Key was used for a different request.",
            details={"idempotency_key": key, "decision_id": str(existing.pk)},
        )
    return existing
