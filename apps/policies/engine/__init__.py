"""Lexecon policy engine: pure Python, no Django.

Typical use (the Django layer caches the compiled policy per version hash)::

    document = load_document_text(text)          # JSON or YAML text -> dict
    policy = parse_policy(document)              # validate + normalise (PolicyValidationError)
    version = policy_hash(policy)                # SHA-256 of RFC 8785 canonical JSON
    compiled = compile_policy(policy, version)   # build the index once
    result = compiled.evaluate({"actor": "ai_agent:support", "action": "refund"})
    result.outcome, result.reasons, result.to_dict()

See ``document`` for the document format (native and legacy) and ``compiler`` for the decision
semantics.
"""

from .compiler import CompiledPolicy, compile_policy
from .document import (
    MODES,
    RELATION_TYPES,
    TERM_PREFIXES,
    TERM_TYPES,
    Condition,
    Policy,
    PolicyValidationError,
    Relation,
    Term,
    canonical_json,
    detect_dialect,
    load_document_text,
    parse_policy,
    policy_hash,
)
from .results import (
    ALLOWED,
    DENIED,
    ESCALATED,
    OUTCOMES,
    EvaluationRequest,
    EvaluationResult,
    MatchedTerm,
    Reason,
)

__all__ = [
    "ALLOWED",
    "DENIED",
    "ESCALATED",
    "MODES",
    "OUTCOMES",
    "RELATION_TYPES",
    "TERM_PREFIXES",
    "TERM_TYPES",
    "CompiledPolicy",
    "Condition",
    "EvaluationRequest",
    "EvaluationResult",
    "MatchedTerm",
    "Policy",
    "PolicyValidationError",
    "Reason",
    "Relation",
    "Term",
    "canonical_json",
    "compile_policy",
    "detect_dialect",
    "load_document_text",
    "parse_policy",
    "policy_hash",
]
