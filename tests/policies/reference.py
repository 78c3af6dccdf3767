"""A deliberately naive reference evaluator for differential tests of the policy engine.

It reads the *normalised* document (``Policy.to_document()``), scans every relation for every
request, matches globs with a textbook dynamic-programming matcher and spells the semantics out
as plainly as possible. It shares no code with the engine on purpose.
"""

from __future__ import annotations

import math
from typing import Any

MISSING = object()
ERROR = "error"


def glob_match(pattern: str, text: str) -> bool:
    """Whole-string match where ``*`` is any run of characters and ``?`` one character."""
    # can[i][j]: pattern[:i] matches text[:j]
    can = [[False] * (len(text) + 1) for _ in range(len(pattern) + 1)]
    can[0][0] = True
    for i, char in enumerate(pattern, start=1):
        can[i][0] = can[i - 1][0] and char == "*"
        for j in range(1, len(text) + 1):
            if char == "*":
                can[i][j] = can[i - 1][j] or can[i][j - 1]
            else:
                can[i][j] = can[i - 1][j - 1] and char in ("?", text[j - 1])
    return can[len(pattern)][len(text)]


def term_matches(term_id: str, value: str) -> bool:
    """A request value matches a term when it matches the id after the type prefix."""
    return glob_match(term_id.split(":", 1)[1], value)


def kind(value: Any) -> str | None:
    """Kind of a value in the condition language (bool is not a number; NaN is no number)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        return "number"
    return None


def lookup(context: Any, field: str) -> Any:
    """Follow a dotted path; anything absent (or null) is MISSING."""
    current = context
    for key in field.split("."):
        if not isinstance(current, dict) or current.get(key) is None:
            return MISSING
        current = current[key]
    return current


def condition(context: dict[str, Any], cond: dict[str, Any]) -> bool | str:
    """True / False, or ERROR when the condition cannot be evaluated."""
    value, op, literal = lookup(context, cond["field"]), cond["op"], cond["value"]
    if op == "exists":
        return (value is not MISSING) == literal
    if value is MISSING:
        return ERROR
    wanted = kind(literal[0]) if op in ("in", "not_in") else kind(literal)
    if kind(value) != wanted:
        return ERROR
    results = {
        "eq": lambda: value == literal,
        "ne": lambda: value != literal,
        "lt": lambda: value < literal,
        "lte": lambda: value <= literal,
        "gt": lambda: value > literal,
        "gte": lambda: value >= literal,
        "in": lambda: value in literal,
        "not_in": lambda: value not in literal,
    }
    return results[op]()


def strip(value: str, prefix: str) -> str:
    """Requests may carry the type prefix; it is removed once."""
    return value[len(prefix) :] if value.startswith(prefix) else value


def matched_terms(document: dict[str, Any], request: dict[str, Any]) -> set[str]:
    """Ids of every term that matches the request's actor, action, data classes or resource."""
    values = {
        "actor": [strip(request["actor"], "actor:")],
        "action": [strip(request["action"], "action:")],
        "data_class": [strip(d, "data:") for d in request.get("data_classes") or []],
        "resource": []
        if request.get("resource") is None
        else [strip(request["resource"], "resource:")],
    }
    return {
        term["id"]
        for term in document["terms"]
        if any(term_matches(term["id"], value) for value in values[term["type"]])
    }


def decide(document: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    """Return outcome and the ids of deciding, outranked and erroring (permit) rules."""
    actor = strip(request["actor"], "actor:")
    action = strip(request["action"], "action:")
    resource = request.get("resource")
    resource = None if resource is None else strip(resource, "resource:")
    data = [strip(d, "data:") for d in request.get("data_classes") or []]
    context = request.get("context") or {}
    applied: dict[str, set[str]] = {"forbid": set(), "escalate": set(), "permit": set()}
    permit_errors = set()
    for rel in document["relations"]:
        if not term_matches(rel["subject"], actor) or not term_matches(rel["action"], action):
            continue
        target = rel["object"]
        if target is not None and target.startswith("data:"):
            if not any(term_matches(target, d) for d in data):
                continue
        elif target is not None and (resource is None or not term_matches(target, resource)):
            continue
        results = [condition(context, c) for c in rel["conditions"]]
        if False in results:
            continue
        effect = {"forbids": "forbid", "escalates": "escalate"}.get(rel["type"], "permit")
        if ERROR in results and effect == "permit":
            permit_errors.add(rel["id"])
        else:
            applied[effect].add(rel["id"])
    forbid, escalate, permit = applied["forbid"], applied["escalate"], applied["permit"]
    if document["mode"] == "paranoid" or forbid:
        outcome, deciding = "denied", forbid
    elif escalate:
        outcome, deciding = "escalated", escalate
    elif permit:
        outcome, deciding = "allowed", permit
    else:
        outcome = "allowed" if document["mode"] == "permissive" else "denied"
        deciding = set()
    return {
        "outcome": outcome,
        "deciding": deciding,
        "outranked": (forbid | escalate | permit) - deciding,
        "permit_errors": permit_errors,
    }
