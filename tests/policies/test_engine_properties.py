"""Property-based and differential tests of the policy engine (RELIABILITY.md section 2.2).

Policies and requests are drawn from a small vocabulary (a few actors, actions, data classes,
resources and context fields, with globs) so that rules really match, conditions really hold,
fail and error, and effects really collide. The production engine is compared with the naive
scan in ``tests/policies/reference.py`` and checked against the guarantees one by one.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import math
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from apps.policies.engine import (
    OUTCOMES,
    PolicyValidationError,
    compile_policy,
    parse_policy,
    policy_hash,
)
from apps.policies.engine.glob import compile_glob
from tests.policies import reference

ACTORS = ["a1", "a2", "a10", "bot:x", "bot:y"]
ACTOR_PATTERNS = ["a1", "a2", "bot:x", "bot:*", "*", "a?", "*:y"]
ACTIONS = ["read", "write", "wrap", "pay"]
ACTION_PATTERNS = ["read", "write", "pay", "*", "re*", "wr?te"]
DATA = ["pii", "phi", "pub"]
DATA_PATTERNS = ["pii", "phi", "pub", "p*", "p?i"]
RESOURCES = ["db/1", "db/2", "files/x"]
RESOURCE_PATTERNS = ["db/1", "db/*", "files/x", "*/x"]
FIELDS = ["amount", "purpose", "flag", "nested.level"]
CONTROLS = ["SOC2:CC6.1", "GDPR:Art.6", "HIPAA:164.312(b)", "PCI-DSS:7.2.1"]
RELATION_TYPES = ["permits", "forbids", "escalates", "requires"]

TERMS = (
    [{"id": f"actor:{p}", "type": "actor"} for p in ACTOR_PATTERNS]
    + [{"id": f"action:{p}", "type": "action", "metadata": {"risk": {"security": 10}}}
       for p in ACTION_PATTERNS]
    + [{"id": f"data:{p}", "type": "data_class"} for p in DATA_PATTERNS]
    + [{"id": f"resource:{p}", "type": "resource"} for p in RESOURCE_PATTERNS]
)  # fmt: skip

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- strategies -------------------------------------------------------------------------------

numbers = st.sampled_from([-2, -1, 0, 1, 2, 3, 0.5, 2.0, 2.5, -1.5])
strings = st.sampled_from(["a", "b", "c"])
scalars = st.one_of(numbers, strings, st.booleans())


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, Any]:
    """A valid condition whose literal kind may or may not match the context value's kind."""
    op = draw(st.sampled_from(["eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte", "exists"]))
    if op == "exists":
        value: Any = draw(st.booleans())
    elif op in ("in", "not_in"):
        value = draw(st.one_of(st.lists(s, min_size=1, max_size=3) for s in (numbers, strings)))
    elif op in ("lt", "lte", "gt", "gte"):
        value = draw(st.one_of(numbers, strings))
    else:
        value = draw(scalars)
    return {"field": draw(st.sampled_from(FIELDS)), "op": op, "value": value}


@st.composite
def relations(draw: st.DrawFn, rel_type: str | None = None) -> dict[str, Any]:
    """A valid relation over the vocabulary; ``requires`` always gets a condition."""
    rel_type = rel_type or draw(st.sampled_from(RELATION_TYPES))
    relation: dict[str, Any] = {
        "type": rel_type,
        "subject": "actor:" + draw(st.sampled_from(ACTOR_PATTERNS)),
        "action": "action:" + draw(st.sampled_from(ACTION_PATTERNS)),
        "justification": draw(st.sampled_from(["because", "policy says so", "audit"])),
        "conditions": draw(
            st.lists(conditions(), min_size=1 if rel_type == "requires" else 0, max_size=2)
        ),
        "controls": draw(st.lists(st.sampled_from(CONTROLS), max_size=2)),
    }
    target = draw(
        st.one_of(
            st.none(),
            st.sampled_from([f"data:{p}" for p in DATA_PATTERNS]),
            st.sampled_from([f"resource:{p}" for p in RESOURCE_PATTERNS]),
        )
    )
    if target is not None:
        relation["object"] = target
    return relation


def document(mode: str, rels: list[dict[str, Any]]) -> dict[str, Any]:
    """Wrap relations into a native document that defines every vocabulary term."""
    return {
        "name": "generated",
        "version": "1",
        "mode": mode,
        "terms": copy.deepcopy(TERMS),
        "relations": copy.deepcopy(rels),
    }


policies = st.builds(
    document,
    st.sampled_from(["strict", "permissive", "paranoid"]),
    st.lists(relations(), max_size=8),
)
context_values = st.one_of(
    st.none(),
    numbers,
    strings,
    st.booleans(),
    st.sampled_from([math.nan, math.inf, -math.inf, 10**30]),
    st.lists(numbers, max_size=2),
)
contexts = st.fixed_dictionaries(
    {},
    optional={
        "amount": context_values,
        "purpose": context_values,
        "flag": context_values,
        "nested": st.one_of(
            context_values, st.fixed_dictionaries({}, optional={"level": context_values})
        ),
    },
)


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    """A valid request; values sometimes carry their type prefix."""

    def maybe_prefixed(prefix: str, value: str) -> str:
        return prefix + value if draw(st.booleans()) else value

    request: dict[str, Any] = {
        "actor": maybe_prefixed("actor:", draw(st.sampled_from(ACTORS))),
        "action": maybe_prefixed("action:", draw(st.sampled_from(ACTIONS))),
        "context": draw(contexts),
    }
    if draw(st.booleans()):
        request["data_classes"] = [
            maybe_prefixed("data:", d) for d in draw(st.lists(st.sampled_from(DATA), max_size=2))
        ]
    if draw(st.booleans()):
        request["resource"] = maybe_prefixed("resource:", draw(st.sampled_from(RESOURCES)))
    return request


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=12,
)


def evaluate(doc: dict[str, Any], request: Any):
    """Parse, compile and evaluate in one go (the version label is fixed: hashing is slow)."""
    return compile_policy(parse_policy(doc), "test-version").evaluate(request)


def ids_by_effect(result) -> dict[str, set[str]]:
    """Group the rule ids of a result's reasons by effect."""
    grouped: dict[str, set[str]] = {}
    for reason in result.reasons:
        grouped.setdefault(reason.effect, set()).add(reason.rule_id)
    return grouped


def canonical(result) -> str:
    """The byte-level form that must be reproducible."""
    return json.dumps(result.to_dict(), sort_keys=True)


# -- differential -----------------------------------------------------------------------------


REQUEST_GRID = [
    {
        "actor": f"actor:{actor}" if index % 2 else actor,
        "action": action,
        "data_classes": data_classes,
        "resource": resource,
    }
    for index, (actor, action, data_classes, resource) in enumerate(
        (actor, action, data_classes, resource)
        for actor in ACTORS
        for action in ACTIONS
        for data_classes in ([], ["pii"], ["data:phi", "pub"])
        for resource in (None, "db/1", "resource:files/x")
    )
]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=policies, context_batch=st.lists(contexts, min_size=1, max_size=3))
def test_engine_agrees_with_reference_scan(doc, context_batch):
    """Outcome and the exact sets of deciding, outranked and erroring rules match the naive scan.

    Every generated policy is evaluated on the whole request grid (every actor x action x
    data classes x resource of the vocabulary) under each drawn context: 108 requests per
    context, tens of thousands of cases per run.
    """
    policy = parse_policy(doc)
    compiled = compile_policy(policy, "test-version")
    normalised = policy.to_document()
    for context in context_batch:
        for grid_request in REQUEST_GRID:
            request = {**grid_request, "context": context}
            result = compiled.evaluate(request)
            expected = reference.decide(normalised, request)
            grouped = ids_by_effect(result)
            assert result.outcome == expected["outcome"], request
            assert set(result.deciding_rule_ids) == expected["deciding"], request
            outranked = grouped.get("escalate_outranked", set()) | grouped.get(
                "permit_outranked", set()
            )
            assert outranked == expected["outranked"], request
            assert grouped.get("permit_error", set()) == expected["permit_errors"], request
            terms = [term.id for term in result.matched_terms]
            assert terms == sorted(reference.matched_terms(normalised, request)), request


# -- the guarantees, one by one -----------------------------------------------------------------


@FAST
@given(rels=st.lists(relations(), max_size=8), request=requests())
def test_strict_mode_allows_only_when_explicitly_permitted(rels, request):
    """Default deny: an allowed outcome always names a permit rule and no forbid/escalate."""
    result = evaluate(document("strict", rels), request)
    grouped = ids_by_effect(result)
    if result.outcome == "allowed":
        assert grouped.get("permit")
        assert not grouped.get("forbid")
        assert not grouped.get("escalate")
    if not result.deciding_rule_ids:
        assert result.outcome == "denied"
        assert result.reasons[0].rule_id == "mode:strict"


@FAST
@given(doc=policies, request=requests())
def test_forbid_beats_escalate_beats_permit(doc, request):
    """Any applicable forbid denies; otherwise any applicable escalate escalates."""
    result = evaluate(doc, request)
    grouped = ids_by_effect(result)
    if grouped.get("forbid"):
        assert result.outcome == "denied"
    elif grouped.get("escalate"):
        assert result.outcome == "escalated"
    if result.outcome == "allowed":
        assert not grouped.get("forbid")
        assert not grouped.get("escalate")


@FAST
@given(doc=policies, request=requests(), data=st.data())
def test_order_and_duplicates_do_not_matter(doc, request, data):
    """Shuffling terms and relations and duplicating relations changes neither hash nor result."""
    shuffled = copy.deepcopy(doc)
    shuffled["relations"] = data.draw(st.permutations(doc["relations"]))
    shuffled["terms"] = data.draw(st.permutations(doc["terms"]))
    if doc["relations"]:
        extra = data.draw(st.lists(st.sampled_from(doc["relations"]), max_size=3))
        shuffled["relations"] = shuffled["relations"] + copy.deepcopy(extra)
    assert policy_hash(shuffled) == policy_hash(doc)
    assert canonical(evaluate(shuffled, request)) == canonical(evaluate(doc, request))


@FAST
@given(doc=policies, request=requests(), extra=relations(rel_type="permits"))
def test_adding_a_permit_never_turns_allowed_into_anything_else(doc, request, extra):
    """Monotonicity for permits."""
    before = evaluate(doc, request)
    after = evaluate({**doc, "relations": [*doc["relations"], extra]}, request)
    if before.outcome == "allowed":
        assert after.outcome == "allowed"


@FAST
@given(doc=policies, request=requests(), extra=relations(rel_type="forbids"))
def test_adding_a_forbid_never_turns_denied_into_allowed(doc, request, extra):
    """Monotonicity for forbids (and a forbid never produces an allow)."""
    before = evaluate(doc, request)
    after = evaluate({**doc, "relations": [*doc["relations"], extra]}, request)
    if before.outcome == "denied":
        assert after.outcome == "denied"
    if after.outcome == "allowed":
        assert before.outcome == "allowed"


UNEVALUABLE = {"field": "never_sent.anywhere", "op": "eq", "value": 1}


@FAST
@given(doc=policies, request=requests())
def test_erroring_permits_count_as_absent(doc, request):
    """A permit whose condition cannot be evaluated never permits: it acts as if it were absent."""
    erroring = copy.deepcopy(doc)
    for relation in erroring["relations"]:
        if relation["type"] in ("permits", "requires"):
            relation["conditions"] = [*relation["conditions"], UNEVALUABLE]
    without = {
        **doc,
        "relations": [r for r in doc["relations"] if r["type"] not in ("permits", "requires")],
    }
    result = evaluate(erroring, request)
    assert result.outcome == evaluate(without, request).outcome
    assert "permit" not in ids_by_effect(result)
    if doc["mode"] != "permissive":
        assert result.outcome != "allowed"


@FAST
@given(doc=policies, request=requests())
def test_erroring_forbids_and_escalates_fail_closed(doc, request):
    """An unevaluable condition on a forbid/escalate makes it apply as if the condition held."""
    erroring = copy.deepcopy(doc)
    for relation in erroring["relations"]:
        if relation["type"] in ("forbids", "escalates"):
            relation["conditions"] = [*relation["conditions"], UNEVALUABLE]
    result = evaluate(erroring, request)
    assert result.outcome == evaluate(doc, request).outcome
    for reason in result.reasons:
        if reason.effect in ("forbid", "escalate", "escalate_outranked"):
            assert "fail-closed" in reason.message


@FAST
@given(doc=policies, request=requests())
def test_results_are_byte_identical_across_runs_and_compilations(doc, request):
    """Determinism: same request + same version => same bytes, even from a fresh compilation
    and with the lookup memo switched off."""
    policy = parse_policy(doc)
    version = policy_hash(policy)
    first = compile_policy(policy, version)
    second = compile_policy(parse_policy(copy.deepcopy(doc)), version)
    unmemoised = compile_policy(policy, version, memo_size=0)
    runs = {canonical(first.evaluate(request)) for _ in range(3)}
    runs.add(canonical(second.evaluate(copy.deepcopy(request))))
    runs.add(canonical(unmemoised.evaluate(request)))
    assert len(runs) == 1
    assert json.loads(runs.pop())["policy_version"] == version


@FAST
@given(rels=st.lists(relations(), max_size=8), request=requests())
def test_paranoid_mode_always_denies(rels, request):
    """Paranoid denies everything, and says so first."""
    result = evaluate(document("paranoid", rels), request)
    assert result.outcome == "denied"
    assert result.reasons[0].rule_id == "mode:paranoid"
    assert "permit" not in ids_by_effect(result)


garbage_requests = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "actor": st.one_of(json_values, st.sampled_from(ACTORS), st.just("")),
            "action": st.one_of(json_values, st.sampled_from(ACTIONS)),
            "resource": json_values,
            "data_classes": st.one_of(json_values, st.lists(json_values, max_size=3)),
            "context": json_values,
        },
    ),
    st.tuples(json_values),
    st.just(object()),
)


@settings(max_examples=200, deadline=None)
@given(doc=policies, request=garbage_requests)
def test_evaluation_never_raises_on_garbage(doc, request):
    """Totality: any input yields a result; a malformed request is denied with a reason."""
    result = evaluate(doc, request)
    assert result.outcome in OUTCOMES
    json.dumps(result.to_dict(), sort_keys=True)
    well_formed = (
        isinstance(request, Mapping)
        and isinstance(request.get("actor"), str)
        and isinstance(request.get("action"), str)
    )
    if not well_formed:
        assert result.outcome == "denied"
        assert result.reasons[0].rule_id == "request:invalid"


class ExplodingContext(dict):
    """A context whose lookups fail: the engine must deny, not raise."""

    def get(self, key, default=None):
        raise RuntimeError("boom")


def test_internal_failure_is_denied_not_raised():
    doc = document("permissive", [{
        "type": "forbids", "subject": "actor:*", "action": "action:*", "justification": "x",
        "conditions": [{"field": "amount", "op": "gt", "value": 1}],
    }])  # fmt: skip
    result = evaluate(doc, {"actor": "a1", "action": "read", "context": ExplodingContext()})
    assert result.outcome == "denied"
    assert [r.rule_id for r in result.reasons] == ["engine:error"]


@settings(max_examples=300, deadline=None)
@given(doc=json_values)
def test_parsing_arbitrary_json_only_raises_validation_errors(doc):
    """The loader never crashes: any JSON value is a policy or a PolicyValidationError."""
    try:
        parse_policy(doc)
    except PolicyValidationError as exc:
        errors = exc.errors
    else:
        return
    assert errors
    assert all(set(e) == {"path", "message"} for e in errors)


@settings(max_examples=150, deadline=None)
@given(doc=policies, data=st.data())
def test_parsing_mutated_policies_only_raises_validation_errors(doc, data):
    """Near-valid documents (one value replaced by garbage) fail cleanly, with a path."""
    mutated = copy.deepcopy(doc)
    target: Any = mutated
    while True:
        keys = list(target) if isinstance(target, dict) else list(range(len(target)))
        assume(keys)
        key = data.draw(st.sampled_from(keys))
        child = target[key]
        if isinstance(child, dict | list) and child and data.draw(st.booleans()):
            target = child
            continue
        target[key] = data.draw(json_values)
        break
    try:
        parse_policy(mutated)
    except PolicyValidationError as exc:
        errors = exc.errors
    else:
        return
    assert errors
    assert all(isinstance(e["path"], str) and e["message"] for e in errors)


@settings(max_examples=1500, deadline=None)
@given(
    pattern=st.text(alphabet="ab*?", max_size=7),
    text=st.text(alphabet="ab", max_size=7),
)
@example(pattern="a*b*b", text="aab")  # a middle segment must not overlap the tail
@example(pattern="*ab*ba", text="aba")  # ... nor the head
@example(pattern="a*?", text="a")
@example(pattern="?*?*?", text="ab")
def test_glob_matcher_agrees_with_two_independent_matchers(pattern, text):
    """The backtracking-free matcher equals fnmatch (no brackets here) and a DP matcher."""
    expected = fnmatch.fnmatchcase(text, pattern)
    assert reference.glob_match(pattern, text) == expected
    assert compile_glob(pattern)(text) == expected


def test_glob_matcher_is_linear_on_adversarial_input():
    """A pattern that makes backtracking matchers explode is answered immediately."""
    matcher = compile_glob("*a*a*a*a*a*a*a*a*a*b")
    assert not matcher("a" * 1000)
    assert compile_glob("a?*?b")("axxb")
    assert not compile_glob("a?*?b")("axb")


@pytest.mark.parametrize(
    ("request_value", "expected"),
    [
        pytest.param({"actor": "a1", "action": "read"}, "allowed", id="plain_case"),
        pytest.param({"actor": "actor:a1", "action": "action:read"}, "allowed", id="prefixed_case"),
        pytest.param({"actor": "a1x", "action": "read"}, "denied", id="no_substring_case"),
        pytest.param({"actor": "xa1", "action": "read"}, "denied", id="no_suffix_case"),
    ],
)
def test_matching_is_exact_or_glob_never_substring(request_value, expected):
    doc = document("strict", [{
        "type": "permits", "subject": "actor:a1", "action": "action:read", "justification": "ok",
    }])  # fmt: skip
    assert evaluate(doc, request_value).outcome == expected


def test_nan_in_context_cannot_slip_past_a_forbid():
    doc = document("permissive", [{
        "type": "forbids", "subject": "actor:*", "action": "action:pay", "justification": "cap",
        "conditions": [{"field": "amount", "op": "gt", "value": 3}],
    }])  # fmt: skip
    for amount in (math.nan, math.inf, "4", True, [5]):
        result = evaluate(doc, {"actor": "a1", "action": "pay", "context": {"amount": amount}})
        assert result.outcome == "denied", amount
        assert "fail-closed" in result.reasons[0].message
    ok = evaluate(doc, {"actor": "a1", "action": "pay", "context": {"amount": 2}})
    assert ok.outcome == "allowed"
