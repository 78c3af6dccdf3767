"""Compile a :class:`Policy` into an in-memory index and evaluate requests against it.

Compilation does all the work that does not depend on a request: relations with an exact action
and an exact actor go into one dict keyed by ``(action, actor)``; glob patterns go into small
indexes bucketed by their literal prefix (see ``_PatternIndex``); conditions become closures;
every reason a rule can produce is built once. An evaluation therefore costs a few dict lookups
plus the work for the handful of rules that match the request's (action, actor) pair - it does
not grow with the number of relations. A bounded memo keeps the index lookups of recently seen
``(action, actor)`` pairs.

Decision semantics (the contract; ``tests/policies/reference.py`` restates them as a plain scan):

1. A relation *matches* when its subject term matches the actor, its action term matches the
   action and, if it has an object, a data_class object matches one of the request's
   ``data_classes`` or a resource object matches the request's ``resource``.
2. Its conditions are combined with AND in three-valued logic: any false condition makes the
   relation not apply; otherwise any condition that cannot be evaluated (missing value, wrong
   type) makes it *erroring*; otherwise it applies. The result does not depend on order.
3. An erroring ``permits``/``requires`` never applies (reported as ``permit_error``). An erroring
   ``forbids``/``escalates`` applies (fail closed) and its reason says so.
4. ``forbid`` beats ``escalate`` beats ``permit``; with no applicable relation the mode decides
   (strict: denied, permissive: allowed). Paranoid mode denies every request but still reports
   the relations that applied.
5. Evaluation never raises: an invalid request or an internal failure gives ``denied`` with a
   ``request:invalid`` / ``engine:error`` reason.

Request values may carry their type prefix (``actor:ai_agent:x`` equals ``ai_agent:x``); the
prefix is removed once before matching.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from operator import attrgetter
from typing import Any

from .conditions import CompiledCondition, compile_condition
from .document import TERM_PREFIXES, Policy, Relation, Term
from .glob import compile_glob, is_glob, literal_prefix
from .jsonvalues import EMPTY_MAPPING, gc_paused
from .results import (
    ALLOWED,
    DENIED,
    EFFECT_DEFAULT_ALLOW,
    EFFECT_DEFAULT_DENY,
    EFFECT_DENY_ALL,
    EFFECT_ENGINE_ERROR,
    EFFECT_ESCALATE,
    EFFECT_ESCALATE_OUTRANKED,
    EFFECT_FORBID,
    EFFECT_INVALID_REQUEST,
    EFFECT_PERMIT,
    EFFECT_PERMIT_ERROR,
    EFFECT_PERMIT_OUTRANKED,
    ESCALATED,
    EvaluationRequest,
    EvaluationResult,
    MatchedTerm,
    Reason,
    make_result,
)

MAX_VALUE_LENGTH = 1024
PAIR_MEMO_SIZE = 8192
MAX_DATA_CLASSES = 256

FORBID, ESCALATE, PERMIT = 0, 1, 2
KIND_OF_TYPE = {"forbids": FORBID, "escalates": ESCALATE, "permits": PERMIT, "requires": PERMIT}
NO_OBJECT, DATA_OBJECT, RESOURCE_OBJECT = 0, 1, 2

MODE_MESSAGES = {
    "strict": (
        DENIED,
        EFFECT_DEFAULT_DENY,
        "No rule permits this request; strict mode denies by default.",
    ),
    "permissive": (
        ALLOWED,
        EFFECT_DEFAULT_ALLOW,
        "No rule forbids or escalates this request; permissive mode allows by default.",
    ),
    "paranoid": (
        DENIED,
        EFFECT_DENY_ALL,
        "Paranoid mode denies every request; rules that applied are listed for information.",
    ),
}

_ACTOR = TERM_PREFIXES["actor"]
_ACTION = TERM_PREFIXES["action"]
_RESOURCE = TERM_PREFIXES["resource"]
_DATA = TERM_PREFIXES["data_class"]


class _PatternIndex:
    """Map a request value to the payloads of every pattern (exact or glob) it matches.

    Exact patterns are one dict lookup. A glob with a literal prefix goes into a bucket keyed by
    that prefix; a value only tries the buckets of the prefixes it starts with (one slice and one
    dict lookup per distinct prefix length in the index). In a bucket, ``prefix*`` globs need no
    further test (the bucket hit is the match); other globs run their compiled matcher. Globs
    that start with a wildcard (``*``, ``*suffix``) are tested one by one; policies have few.
    """

    __slots__ = ("exact", "has_globs", "lengths", "prefixed", "scan")

    def __init__(self, items: Iterable[tuple[str, Any]]) -> None:
        self.exact: dict[str, Any] = {}
        globs: list[tuple[str, Any]] = []
        for pattern, payload in items:
            if is_glob(pattern):
                globs.append((pattern, payload))
            else:
                self.exact[pattern] = payload
        globs.sort(key=lambda entry: entry[0])
        self.has_globs = bool(globs)
        buckets: dict[str, tuple[list[Any], list[tuple[Callable[[str], bool], Any]]]] = {}
        scan = []
        for pattern, payload in globs:
            prefix = literal_prefix(pattern)
            if not prefix:
                scan.append((compile_glob(pattern), payload))
                continue
            always, tested = buckets.setdefault(prefix, ([], []))
            if pattern == prefix + "*":
                always.append(payload)
            else:
                tested.append((compile_glob(pattern), payload))
        self.scan = tuple(scan)
        self.prefixed = {
            prefix: (tuple(always), tuple(tested)) for prefix, (always, tested) in buckets.items()
        }
        self.lengths = tuple(sorted({len(prefix) for prefix in buckets}))

    def glob_payloads(self, value: str) -> list[Any]:
        """Return the payloads of the glob patterns that match ``value``."""
        found = [payload for matcher, payload in self.scan if matcher(value)] if self.scan else []
        size = len(value)
        prefixed = self.prefixed
        for length in self.lengths:
            if length > size:
                break
            bucket = prefixed.get(value[:length])
            if bucket is not None:
                always, tested = bucket
                if always:
                    found += always
                if tested:
                    found += [payload for matcher, payload in tested if matcher(value)]
        return found

    def lookup(self, value: str) -> list[Any]:
        """Return the payloads of every pattern (exact first, then globs) matching ``value``."""
        exact = self.exact.get(value)
        found = [] if exact is None else [exact]
        if self.has_globs:
            found += self.glob_payloads(value)
        return found


class _Rule:
    """A relation prepared for evaluation: matchers, condition closures and prebuilt reasons."""

    __slots__ = (
        "checks",
        "controls",
        "decided",
        "id",
        "kind",
        "message",
        "object_kind",
        "object_matcher",
        "object_value",
        "outranked",
    )

    def __init__(self, relation: Relation, terms: Mapping[str, Term]) -> None:
        self.id = relation.id
        self.kind = KIND_OF_TYPE[relation.type]
        self.message = relation.justification
        self.controls = relation.controls
        self.checks: tuple[CompiledCondition, ...] = tuple(
            compile_condition(c.field, c.op, c.value) for c in relation.conditions
        )
        self.object_kind = NO_OBJECT
        self.object_value: str | None = None
        self.object_matcher: Callable[[str], bool] | None = None
        if relation.object is not None:
            term = terms[relation.object]
            self.object_kind = DATA_OBJECT if term.type == "data_class" else RESOURCE_OBJECT
            if term.is_glob:
                self.object_matcher = compile_glob(term.pattern)
            else:
                self.object_value = term.pattern
        effect = (EFFECT_FORBID, EFFECT_ESCALATE, EFFECT_PERMIT)[self.kind]
        outranked = (EFFECT_FORBID, EFFECT_ESCALATE_OUTRANKED, EFFECT_PERMIT_OUTRANKED)[self.kind]
        self.decided = Reason(self.id, effect, self.message)
        self.outranked = Reason(self.id, outranked, self.message)

    def error_reason(self, error: str, *, outranked: bool) -> Reason:
        """Reason for a rule whose conditions could not be evaluated."""
        if self.kind == PERMIT:
            return Reason(self.id, EFFECT_PERMIT_ERROR, f"{self.message} [not applied: {error}]")
        reason = self.outranked if outranked else self.decided
        return Reason(self.id, reason.effect, f"{self.message} [applied fail-closed: {error}]")


def _sorted_reasons(entries: list[tuple[_Rule, str | None]], *, outranked: bool) -> list[Reason]:
    reasons = [
        (rule.outranked if outranked else rule.decided)
        if error is None
        else rule.error_reason(error, outranked=outranked)
        for rule, error in entries
    ]
    if len(reasons) > 1:
        reasons.sort(key=_by_rule_id)
    return reasons


_by_rule_id = attrgetter("rule_id")
_by_id = attrgetter("id")


def _controls(entries: list[tuple[_Rule, str | None]]) -> tuple[str, ...]:
    if len(entries) == 1:
        return entries[0][0].controls
    merged: set[str] = set()
    for rule, _ in entries:
        merged.update(rule.controls)
    return tuple(sorted(merged))


class CompiledPolicy:
    """An immutable, indexed policy ready for fast, total, deterministic evaluation.

    Build it with :func:`compile_policy`; cache it per version hash. It holds no per-request
    state, so one instance may serve many threads.
    """

    def __init__(
        self, policy: Policy, version_hash: str, *, memo_size: int = PAIR_MEMO_SIZE
    ) -> None:
        self.policy = policy
        self.version = version_hash
        self.mode = policy.mode
        terms = policy.terms_by_id
        self._default_outcome, effect, message = MODE_MESSAGES[policy.mode]
        self._mode_reason = Reason(f"mode:{policy.mode}", effect, message)
        self._default_reasons = (self._mode_reason,)
        self._paranoid = policy.mode == "paranoid"

        # Index layout (exact = no wildcard in the pattern):
        #   exact action + exact actor -> one flat dict keyed by (action, actor): the common case
        #                                 is a single lookup;
        #   exact action + glob actor  -> per action, a glob index over actor patterns;
        #   glob action                -> a glob index over action patterns whose payload is an
        #                                 index over actor patterns (exact and glob).
        by_action: dict[str, dict[str, list[_Rule]]] = {}
        for relation in policy.relations:
            action = terms[relation.action].pattern
            actor = terms[relation.subject].pattern
            by_action.setdefault(action, {}).setdefault(actor, []).append(_Rule(relation, terms))
        self._pair_exact: dict[tuple[str, str], tuple[_Rule, ...]] = {}
        self._actor_globs: dict[str, _PatternIndex] = {}
        glob_actions = []
        for action, actors in by_action.items():
            if is_glob(action):
                index = _PatternIndex((actor, tuple(rules)) for actor, rules in actors.items())
                glob_actions.append((action, index))
                continue
            actor_globs = []
            for actor, rules in actors.items():
                if is_glob(actor):
                    actor_globs.append((actor, tuple(rules)))
                else:
                    self._pair_exact[action, actor] = tuple(rules)
            if actor_globs:
                self._actor_globs[action] = _PatternIndex(actor_globs)
        self._action_globs = _PatternIndex(glob_actions)
        self.rule_count = len(policy.relations)

        matched: dict[str, list[tuple[str, MatchedTerm]]] = {t: [] for t in TERM_PREFIXES}
        for term in policy.terms:
            entry = MatchedTerm(term.id, term.type, term.name, term.metadata)
            matched[term.type].append((term.pattern, entry))
        # (action, actor) -> (candidate rules, matched actor+action terms). Agents repeat the same
        # few (actor, action) pairs, so this skips the index walk for most requests. Bounded:
        # cleared when full. It only saves work; results are identical with or without it.
        self._memo_size = max(0, memo_size)
        self._pairs: dict[tuple[str, str], tuple[tuple[_Rule, ...], tuple[MatchedTerm, ...]]] = {}
        self._actor_terms = _PatternIndex(matched["actor"])
        self._action_terms = _PatternIndex(matched["action"])
        self._resource_terms = _PatternIndex(matched["resource"])
        self._data_terms = _PatternIndex(matched["data_class"])

    def __repr__(self) -> str:
        return f"<CompiledPolicy {self.policy.name!r} {self.version[:12]}>"

    def evaluate(self, request: Mapping[str, Any] | EvaluationRequest) -> EvaluationResult:
        """Decide ``request``; never raises (bad input or a bug gives a ``denied`` result).

        ``request`` is the ``/decide`` body shape ``{actor, action, resource?, data_classes?,
        context?}`` (other keys are ignored) or an :class:`EvaluationRequest`. Limits: values of
        1-1024 characters, at most 256 data classes, a context object.
        """
        try:
            parsed = _parse_request(request)
            if parsed.__class__ is str:
                return self._failure("request:invalid", EFFECT_INVALID_REQUEST, parsed)
            return self._decide(*parsed)
        except Exception as exc:  # noqa: BLE001 - totality: evaluation must never raise
            message = f"Evaluation failed ({type(exc).__name__}); denied fail-closed."
            return self._failure("engine:error", EFFECT_ENGINE_ERROR, message)

    def _failure(self, rule_id: str, effect: str, message: str) -> EvaluationResult:
        reason = Reason(rule_id, effect, message)
        return make_result(DENIED, (reason,), self.version, (), (), self.mode)

    def _candidate_rules(self, actor: str, action: str) -> list[_Rule]:
        """Return the rules whose subject and action patterns match (objects/conditions unchecked).

        This is the only place that consults the relation index; its cost depends on how many
        patterns match the request, not on how many relations the policy has.
        """
        rules: list[_Rule] = []
        found = self._pair_exact.get((action, actor))
        if found is not None:
            rules += found
        actor_globs = self._actor_globs.get(action)
        if actor_globs is not None:
            for found in actor_globs.glob_payloads(actor):
                rules += found
        if self._action_globs.has_globs:
            for actor_index in self._action_globs.glob_payloads(action):
                found = actor_index.exact.get(actor)
                if found is not None:
                    rules += found
                if actor_index.has_globs:
                    for found in actor_index.glob_payloads(actor):
                        rules += found
        return rules

    def _pair(self, actor: str, action: str) -> tuple[tuple[_Rule, ...], tuple[MatchedTerm, ...]]:
        """Return (candidate rules, matched actor and action terms) for a pair, memoised."""
        key = (action, actor)
        entry = self._pairs.get(key)
        if entry is None:
            terms = self._actor_terms.lookup(actor) + self._action_terms.lookup(action)
            terms.sort(key=_by_id)
            entry = (tuple(self._candidate_rules(actor, action)), tuple(terms))
            if self._memo_size:
                if len(self._pairs) >= self._memo_size:
                    self._pairs.clear()
                self._pairs[key] = entry
        return entry

    def _decide(
        self,
        actor: str,
        action: str,
        resource: str | None,
        data_classes: tuple[str, ...],
        context: Mapping[str, Any],
    ) -> EvaluationResult:
        rules, pair_terms = self._pair(actor, action)
        if resource is None and not data_classes:
            matched_terms = pair_terms
        else:
            matched_terms = self._matched_terms(pair_terms, resource, data_classes)
        if not rules:
            return make_result(
                self._default_outcome,
                self._default_reasons,
                self.version,
                (),
                matched_terms,
                self.mode,
            )

        applied: tuple[list[tuple[_Rule, str | None]], ...] = ([], [], [])
        errors: list[tuple[_Rule, str | None]] = []
        for rule in rules:
            object_kind = rule.object_kind
            if object_kind:
                # A rule's object is either a glob (a matcher) or one literal value.
                matcher = rule.object_matcher
                if object_kind == DATA_OBJECT:
                    if matcher is None:
                        if rule.object_value not in data_classes:
                            continue
                    elif not any(map(matcher, data_classes)):
                        continue
                elif resource is None:
                    continue
                elif matcher is None:
                    if rule.object_value != resource:
                        continue
                elif not matcher(resource):
                    continue
            status: bool | str = True
            for check in rule.checks:
                result = check(context)
                if result is True:
                    continue
                if result is False:
                    status = False
                    break
                if status is True:
                    status = result
            if status is True:
                applied[rule.kind].append((rule, None))
            elif status is False:
                continue
            elif rule.kind == PERMIT:
                errors.append((rule, status))
            else:
                applied[rule.kind].append((rule, status))

        forbids, escalates, permits = applied
        if self._paranoid:
            outcome = DENIED
            reasons = [self._mode_reason]
            reasons += _sorted_reasons(forbids, outranked=False)
            reasons += _sorted_reasons(escalates, outranked=True)
            reasons += _sorted_reasons(permits, outranked=True)
            controls = _controls(forbids) if forbids else ()
        elif forbids:
            outcome = DENIED
            reasons = _sorted_reasons(forbids, outranked=False)
            if escalates:
                reasons += _sorted_reasons(escalates, outranked=True)
            if permits:
                reasons += _sorted_reasons(permits, outranked=True)
            controls = _controls(forbids)
        elif escalates:
            outcome = ESCALATED
            reasons = _sorted_reasons(escalates, outranked=False)
            if permits:
                reasons += _sorted_reasons(permits, outranked=True)
            controls = _controls(escalates)
        elif permits:
            outcome = ALLOWED
            reasons = _sorted_reasons(permits, outranked=False)
            controls = _controls(permits)
        else:
            outcome = self._default_outcome
            reasons = [self._mode_reason]
            controls = ()
        if errors:
            reasons += _sorted_reasons(errors, outranked=False)

        return make_result(
            outcome,
            tuple(reasons),
            self.version,
            controls,
            matched_terms,
            self.mode,
        )

    def _matched_terms(
        self,
        pair_terms: tuple[MatchedTerm, ...],
        resource: str | None,
        data_classes: tuple[str, ...],
    ) -> tuple[MatchedTerm, ...]:
        """Return every term matching the request, sorted by id.

        Term ids start with their type prefix, so sorting by id groups them as action, actor,
        data, resource. ``pair_terms`` (action + actor) is already sorted; only the data and
        resource groups need sorting, and only when they hold more than one term.
        """
        found = list(pair_terms)
        if data_classes:
            data_terms = self._data_terms
            if len(data_classes) == 1:
                group = data_terms.lookup(data_classes[0])
            else:
                group = []
                for data_class in data_classes:
                    for term in data_terms.lookup(data_class):
                        if term not in group:
                            group.append(term)
            if len(group) > 1:
                group.sort(key=_by_id)
            found += group
        if resource is not None:
            group = self._resource_terms.lookup(resource)
            if len(group) > 1:
                group.sort(key=_by_id)
            found += group
        return tuple(found)


_ParsedRequest = tuple[str, str, "str | None", tuple[str, ...], Mapping[str, Any]]
_INVALID_SHAPE = "Invalid request: expected an object with actor and action; denied."


def _clean(value: Any, prefix: str, what: str) -> str:
    """Return a request value without its optional type prefix, or an ``_Invalid`` message."""
    if value.__class__ is not str and not isinstance(value, str):
        return _Invalid(f"Invalid request: {what} must be a string; denied.")
    if value.startswith(prefix):
        value = value[len(prefix) :]
    if not value or len(value) > MAX_VALUE_LENGTH:
        return _Invalid(f"Invalid request: {what} must be 1-{MAX_VALUE_LENGTH} characters; denied.")
    return value


class _Invalid(str):
    """An error message for an invalid request (a ``str`` subclass, told apart by class)."""

    __slots__ = ()


def _parse_request(request: Any) -> _ParsedRequest | str:
    """Return the normalised request fields, or an error message for an invalid request."""
    if request.__class__ is dict or isinstance(request, Mapping):
        get = request.get
        actor, action, resource = get("actor"), get("action"), get("resource")
        raw_data, raw_context = get("data_classes"), get("context")
    elif isinstance(request, EvaluationRequest):
        actor, action, resource = request.actor, request.action, request.resource
        raw_data, raw_context = request.data_classes, request.context
    else:
        return _INVALID_SHAPE
    # Inlined fast path of _clean() for the two mandatory values (saves two calls per request).
    if not (
        actor.__class__ is str
        and 0 < len(actor) <= MAX_VALUE_LENGTH
        and not actor.startswith(_ACTOR)
    ):
        actor = _clean(actor, _ACTOR, "actor")
        if actor.__class__ is _Invalid:
            return str(actor)
    if not (
        action.__class__ is str
        and 0 < len(action) <= MAX_VALUE_LENGTH
        and not action.startswith(_ACTION)
    ):
        action = _clean(action, _ACTION, "action")
        if action.__class__ is _Invalid:
            return str(action)
    if resource is not None:
        resource = _clean(resource, _RESOURCE, "resource")
        if resource.__class__ is _Invalid:
            return str(resource)
    if not raw_data:
        if raw_data is not None and not isinstance(raw_data, list | tuple):
            return "Invalid request: data_classes must be a list of strings; denied."
        data_classes: tuple[str, ...] = ()
    elif isinstance(raw_data, list | tuple) and len(raw_data) <= MAX_DATA_CLASSES:
        cleaned = []
        for item in raw_data:
            data_class = _clean(item, _DATA, "data_classes[]")
            if data_class.__class__ is _Invalid:
                return str(data_class)
            cleaned.append(data_class)
        data_classes = tuple(cleaned)
    else:
        return (
            f"Invalid request: data_classes must be a list of at most {MAX_DATA_CLASSES} strings."
        )
    if raw_context is None:
        context: Mapping[str, Any] = EMPTY_MAPPING
    elif raw_context.__class__ is dict or isinstance(raw_context, Mapping):
        context = raw_context
    else:
        return "Invalid request: context must be an object; denied."
    return actor, action, resource, data_classes, context


def compile_policy(
    policy: Policy, version_hash: str, *, memo_size: int = PAIR_MEMO_SIZE
) -> CompiledPolicy:
    """Build the evaluation index for ``policy`` once; ``version_hash`` is reported in results.

    Pass the value of :func:`policy_hash` for the policy so every decision names the exact
    version that made it. ``memo_size`` bounds the per-(action, actor) memo of index lookups
    (0 disables it; results are identical either way, only speed differs).
    """
    with gc_paused():
        return CompiledPolicy(policy, version_hash, memo_size=memo_size)
