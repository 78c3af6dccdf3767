"""Typed relation conditions: validation rules and compilation into small closures.

A condition is ``{"field": "dotted.path", "op": OP, "value": LITERAL}`` and tests one value of the
request context. The rules are deliberately narrow so that a condition either has a clear answer
or is reported as *not evaluable* (an error), never silently coerced:

* ``field`` is a dotted path into the context; every step must be a JSON object that holds the
  key. A JSON ``null`` counts as absent.
* ``exists`` takes a bool literal and never errors: ``exists: true`` holds when the path resolves
  to a non-null value, ``exists: false`` when it does not.
* ``eq`` / ``ne`` take a string, number or bool literal. The context value must be of the same
  kind (bool is not a number), otherwise the condition errors.
* ``in`` / ``not_in`` take a non-empty list of literals of one kind (string, number or bool);
  the context value must be of that kind.
* ``lt`` / ``lte`` / ``gt`` / ``gte`` take a number or a string literal and compare only with a
  context value of the same kind (numbers numerically, strings by code point).
* Numbers must be finite: a NaN or infinite context value is an error (NaN would otherwise make
  every comparison false and let a request slip past a ``forbids``).

A missing value is an error for every operator except ``exists``. How an error affects the rule
is decided by the evaluator (an erroring permit never applies; an erroring forbid/escalate does).

Compiled conditions return ``True``, ``False`` or an error message string.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

OPS = ("eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte", "exists")
ORDER_OPS = frozenset({"lt", "lte", "gt", "gte"})
SET_OPS = frozenset({"in", "not_in"})
MAX_SAFE_INTEGER = 2**53 - 1
MAX_FIELD_LENGTH = 256
MAX_SET_SIZE = 10_000

ConditionResult = bool | str
CompiledCondition = Callable[[Mapping[str, Any]], ConditionResult]

_MISSING = object()


def kind_of(value: Any) -> str | None:
    """Return the condition kind of a literal or context value: string, number, bool or None.

    ``bool`` is checked before numbers because ``True`` is an ``int`` in Python but not a number
    in the policy language. Non-finite floats are kind ``"nan"`` so callers can reject them.
    """
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int):
        return "number"
    if isinstance(value, float):
        return "number" if math.isfinite(value) else "nan"
    return None


def _describe(value: Any) -> str:
    kind = kind_of(value)
    if kind == "nan":
        return "a non-finite number"
    if kind is not None:
        return f"a {kind}"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return f"of unsupported type {type(value).__name__}"


def validate_condition_literal(op: str, value: Any) -> str | None:
    """Return an error message when ``value`` is not a valid literal for ``op``, else None.

    Used by the document validator so that every malformed condition is rejected at load time,
    long before a request could reach it.
    """
    if op == "exists":
        return None if isinstance(value, bool) else "exists takes true or false"
    if op in SET_OPS:
        if not isinstance(value, list | tuple) or not value:
            return f"{op} takes a non-empty list of strings, numbers or bools"
        if len(value) > MAX_SET_SIZE:
            return f"{op} takes at most {MAX_SET_SIZE} values"
        kinds = {kind_of(item) for item in value}
        if len(kinds) != 1 or not kinds <= {"string", "number", "bool"}:
            return f"{op} values must all be strings, all numbers or all bools"
        return _check_numbers(value)
    kind = kind_of(value)
    if op in ORDER_OPS:
        if kind not in ("number", "string"):
            return f"{op} compares only numbers or strings"
        return _check_numbers([value])
    if kind not in ("number", "string", "bool"):
        return f"{op} takes a string, number or bool (use exists to test for absence)"
    return _check_numbers([value])


def _check_numbers(values: Any) -> str | None:
    for item in values:
        if kind_of(item) == "nan":
            return "numbers must be finite"
        if isinstance(item, int) and not isinstance(item, bool) and abs(item) > MAX_SAFE_INTEGER:
            return "integers must be within +/-(2**53 - 1) so that canonical JSON is exact"
    return None


def validate_field(field: Any) -> str | None:
    """Return an error message when ``field`` is not a usable dotted context path, else None."""
    if not isinstance(field, str) or not field:
        return "field must be a non-empty string (a dotted path into the context)"
    if len(field) > MAX_FIELD_LENGTH:
        return f"field must be at most {MAX_FIELD_LENGTH} characters"
    if any(not part for part in field.split(".")):
        return "field must not contain empty path segments"
    return None


def compile_condition(field: str, op: str, value: Any) -> CompiledCondition:
    """Compile one validated condition into ``check(context) -> True | False | error message``.

    Everything that does not depend on the request (path split, literal kind, frozen sets,
    messages) is computed here once. For the common case (a top-level key holding a value of
    exactly the literal's type) a check is one ``dict.get``, one class test and one comparison;
    everything else goes through the general, fully typed path.
    """
    keys = tuple(field.split("."))
    resolve = _resolver(keys)

    if op == "exists":
        want = bool(value)

        def check_exists(context: Mapping[str, Any]) -> ConditionResult:
            return (resolve(context) is not _MISSING) is want

        return check_exists

    test: Callable[[Any], bool]
    if op in SET_OPS:
        expected = kind_of(value[0])
        members = frozenset(value)
        if op == "in":
            test = members.__contains__
        else:

            def test(actual: Any) -> bool:
                return actual not in members

    else:
        expected = kind_of(value)
        # ``partial(ge, literal)(actual)`` is ``literal >= actual``, i.e. ``actual <= literal``:
        # the reflected operator lets a C-level partial do the comparison without a Python frame.
        test = partial(_REFLECTED[op], value)

    general = _general_check(field, expected, test)
    if len(keys) > 1:

        def check_path(context: Mapping[str, Any]) -> ConditionResult:
            return general(resolve(context))

        return check_path

    (key,) = keys
    fast_class = {"string": str, "number": int}.get(expected or "")
    if fast_class is None:  # bool literals: no fast path needed, still typed

        def check_key(context: Mapping[str, Any]) -> ConditionResult:
            return general(context.get(key, _MISSING))

        return check_key

    def check_fast(context: Mapping[str, Any]) -> ConditionResult:
        actual = context.get(key, _MISSING)
        if actual.__class__ is fast_class:
            return test(actual)
        return general(actual)

    return check_fast


def _general_check(
    field: str, expected: str | None, test: Callable[[Any], bool]
) -> Callable[[Any], ConditionResult]:
    """Typed check of an already resolved value (``_MISSING``/None mean absent)."""
    where = f"context.{field}"
    missing = f"{where} is missing"

    def general(actual: Any) -> ConditionResult:
        if actual is _MISSING or actual is None:
            return missing
        if kind_of(actual) != expected:
            return f"{where} is {_describe(actual)}, expected a {expected}"
        return test(actual)

    return general


def _resolver(keys: tuple[str, ...]) -> Callable[[Mapping[str, Any]], Any]:
    """Build a path walker returning the value at ``keys`` or ``_MISSING`` (null is absent)."""
    if len(keys) == 1:
        (key,) = keys

        def resolve_one(context: Mapping[str, Any]) -> Any:
            found = context.get(key)
            return _MISSING if found is None else found

        return resolve_one

    def resolve_path(context: Mapping[str, Any]) -> Any:
        current: Any = context
        for key in keys:
            if not isinstance(current, Mapping):
                return _MISSING
            current = current.get(key)
            if current is None:
                return _MISSING
        return current

    return resolve_path


# op -> operator f such that f(literal, actual) == (actual <op> literal)
_REFLECTED: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.gt,
    "lte": operator.ge,
    "gt": operator.lt,
    "gte": operator.le,
}
