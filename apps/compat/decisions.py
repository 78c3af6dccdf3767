"""``POST /decide`` and ``POST /decide/verify`` in the original's shapes (LEXECON_API.md §1.2).

The native views call these; nothing here decides. An *original-shaped* ``/decide`` body is one
without our ``action`` that carries ``tool`` or ``user_intent`` (two dictionary look-ups, so the
native path pays nothing measurable). It is checked against the original's own rules first (its
required fields and patterns: 422 with FastAPI's ``detail`` list), then translated to our request
and checked by our one validator (``DecideInput``, whose refusals are also given as 422 here):

====================  ===========================================================================
original              ours
====================  ===========================================================================
actor                 actor (the original's pattern, plus ``:`` — see docs/compat.md)
proposed_action       action
tool                  tool (kept in the request; scope of the capability token object)
user_intent           user_intent
data_classes          data_classes
risk_level 1-5        risk_level
policy_mode           policy_mode, lower-cased (can only make the active policy stricter)
context               context
request_id            request_id (else the HTTP request id)
requested_output_type accepted and ignored, as by the original
====================  ===========================================================================
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic import ValidationError as PydanticValidationError

from apps.compat.errors import CompatError, parse_or_422, validation_detail
from apps.decisions import selectors as decision_selectors
from apps.ledger import selectors as ledger_selectors
from apps.tokens import services as token_services


def is_original_request(data: Any) -> bool:
    """True for a body in the original's shape (cheap: the hot path asks this of every call)."""
    return (
        isinstance(data, dict)
        and "action" not in data
        and ("tool" in data or "user_intent" in data)
    )


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


class OriginalDecideInput(BaseModel):
    """The original's ``DecisionRequestModel``; its ``actor`` pattern also admits ``:``, which its
    own README uses (``ai_agent:customer_service``) and which it wrongly refused."""

    model_config = ConfigDict(str_strip_whitespace=True)

    request_id: Annotated[str, StringConstraints(max_length=200)] | None = None
    actor: Annotated[str, StringConstraints(max_length=255, pattern=r"^[a-zA-Z0-9_\-\.@:]+$")]
    proposed_action: Annotated[
        str, StringConstraints(max_length=512, pattern=r"^[a-zA-Z0-9_\-\.\s/:\(\)]+$")
    ]
    tool: Annotated[str, StringConstraints(max_length=255, pattern=r"^[a-zA-Z0-9_\-\.]+$")]
    user_intent: Annotated[str, StringConstraints(max_length=2048)]
    data_classes: list[Annotated[str, StringConstraints(min_length=1, max_length=512)]] = Field(
        default_factory=list, max_length=1000
    )
    risk_level: Annotated[int, Field(ge=1, le=5)] = 1
    requested_output_type: Literal["tool_action", "permit", "deny", "escalate"] = "tool_action"
    policy_mode: Annotated[Literal["strict", "permissive", "paranoid"], BeforeValidator(_lower)] = (
        "strict"
    )
    context: dict[str, Any] = Field(default_factory=dict)


def original_request(data: Any, *, native_model: type[BaseModel]) -> Any:
    """Validate an original-shaped body and translate it to our ``DecideInput`` (``native_model``
    is passed in: the decisions API owns it). ``CompatError(422, [...])`` when either refuses."""
    original = parse_or_422(OriginalDecideInput, data)
    ours = {
        "actor": original.actor,
        "action": original.proposed_action,
        "tool": original.tool,
        "user_intent": original.user_intent,
        "data_classes": original.data_classes,
        "risk_level": original.risk_level,
        "policy_mode": original.policy_mode,
        "context": original.context,
    }
    if original.request_id:
        ours["request_id"] = original.request_id
    try:
        return native_model.model_validate(ours)
    except PydanticValidationError as exc:
        raise CompatError(422, validation_detail(exc)) from None


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat()


def decide_response(body: dict[str, Any], decision: Any, *, tool: str) -> dict[str, Any]:
    """Our ``/decide`` answer to an original-shaped request, with the original's fields added:
    ``reasoning``, ``policy_version_hash``, ``signature`` (+ ``signature_kid``), and the
    ``capability_token`` as the original's object with our signed ``cap_`` string inside it as
    ``token`` (null unless allowed). Native answers are left as they are (ADR 0031)."""
    signed = token_services.decision_signature(ledger_entry_hash=decision.ledger_entry_hash)
    body["reasoning"] = decision.reason
    body["policy_version_hash"] = decision.policy_version or None
    body["signature"] = signed.signature
    body["signature_kid"] = signed.kid
    body["capability_token"] = _token_object(decision, tool) if decision.token_jti else None
    return body


def _token_object(decision: Any, tool: str) -> dict[str, Any]:
    claims = token_services.token_claims(decision.capability_token)
    return {
        "token_id": decision.token_jti,
        "scope": {"action": decision.action, "tool": tool},
        "expiry": _iso(decision.token_expires_at),
        "policy_version_hash": decision.policy_version or None,
        "granted_at": _iso(claims["iat"]),
        "token": decision.capability_token,
    }


# --- POST /decide/verify ---------------------------------------------------------------------------


def is_original_verify(data: Any) -> bool:
    """The original sends a decision answer, ``{decision_response: {...}}`` or
    ``{ledger_entry_hash}``; ours sends ``capability_token`` or ``decision_id`` alone."""
    if not isinstance(data, dict):
        return False
    return "ledger_entry_hash" in data or "decision_response" in data


def verify_original(data: dict[str, Any], *, principal: Any) -> dict[str, Any]:
    """``{verified, entry}``: the entry with that hash, found through the decisions the caller may
    see, its hash recomputed by our chain verifier; and, when the answer carried our
    ``signature``, that signature checked too (the original checked none)."""
    answer = data.get("decision_response", data)
    if not isinstance(answer, dict):
        raise CompatError(422, "decision_response must be an object")
    entry_hash = answer.get("ledger_entry_hash")
    if not entry_hash or not isinstance(entry_hash, str):
        raise CompatError(400, "Missing ledger_entry_hash")
    decision_id = answer.get("decision_id")
    try:
        decision_id = uuid.UUID(str(decision_id)) if decision_id else None
    except ValueError:
        decision_id = None
    decision = decision_selectors.decision_by_entry_hash(
        principal=principal, entry_hash=entry_hash, decision_id=decision_id
    )
    if decision is None:
        raise CompatError(404, f"Decision with hash {entry_hash} not found in ledger")
    entry = ledger_selectors.entry_get(seq=decision.ledger_seq)
    if not ledger_selectors.entry_hash_valid(entry):
        return {"verified": False, "error": "Hash mismatch"}
    result: dict[str, Any] = {"verified": True, "entry": original_entry(entry)}
    signature = answer.get("signature")
    if signature:
        valid = isinstance(signature, str) and token_services.decision_signature_valid(
            ledger_entry_hash=entry_hash,
            kid=str(answer.get("signature_kid") or ""),
            signature=signature,
        )
        result["signature_valid"] = valid
        if not valid:
            result["verified"] = False
            result["error"] = "Signature does not verify"
    return result


def original_entry(entry: Any) -> dict[str, Any]:
    """A ledger entry with our fields and the original's names beside them."""
    body = ledger_selectors.entry_as_dict(entry)
    body.update(
        entry_id=str(entry.seq),
        event_type=entry.entry_type,
        data=body["payload"],
        previous_hash=entry.prev_hash,
    )
    return body
