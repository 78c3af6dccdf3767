"""Helpers for JSON-shaped values: validation, deep freezing and thawing.

Policy metadata is free-form JSON. It is validated once at load time (so that canonical hashing
with RFC 8785 cannot fail later), then deep-frozen (``MappingProxyType`` and tuples) so that the
compiled policy and every ``EvaluationResult`` can share it without anyone mutating it.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any

MAX_DEPTH = 32
MAX_SAFE_INTEGER = 2**53 - 1

EMPTY_MAPPING: Mapping[str, Any] = MappingProxyType({})


def json_problem(value: Any, depth: int = 0) -> tuple[str, str] | None:
    """Return ``(relative_path, message)`` for the first non-JSON part of ``value``, else None.

    Accepts objects with string keys, lists, strings, finite floats, integers in the exact range
    of RFC 8785 (|n| <= 2**53 - 1), bools and null.
    """
    if depth > MAX_DEPTH:
        return "", f"nested deeper than {MAX_DEPTH} levels"
    if value is None or isinstance(value, bool | str):
        return None
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            return "", "integer outside +/-(2**53 - 1) cannot be hashed canonically"
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else ("", "numbers must be finite")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                return "", "object keys must be strings"
            problem = json_problem(item, depth + 1)
            if problem is not None:
                return f".{key}{problem[0]}", problem[1]
        return None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            problem = json_problem(item, depth + 1)
            if problem is not None:
                return f"[{index}]{problem[0]}", problem[1]
        return None
    return "", f"not a JSON value (got {type(value).__name__})"


def nul_paths(value: Any) -> Iterator[str]:
    """Yield the path of every string (value or object key) in ``value`` that contains NUL.

    PostgreSQL cannot store U+0000 in ``text`` or ``jsonb``, so a document holding one could be
    validated here and then fail on save: it is refused here, on every engine alike. Paths use
    the parser's notation (``relations[0].justification``); a NUL in a key is shown as ``\\u0000``.
    Iterative, so any nesting depth is safe.
    """
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                yield path
        elif isinstance(item, Mapping):
            children = []
            for key, child in item.items():
                shown = key.replace("\x00", "\\u0000") if isinstance(key, str) else str(key)
                child_path = f"{path}.{shown}" if path else shown
                if isinstance(key, str) and "\x00" in key:
                    yield child_path
                children.append((child_path, child))
            stack.extend(reversed(children))
        elif isinstance(item, list | tuple):
            stack.extend(
                reversed([(f"{path}[{index}]", child) for index, child in enumerate(item)])
            )


def freeze(value: Any) -> Any:
    """Return a deep, read-only copy of a validated JSON value."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: freeze(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value)
    return value


def thaw(value: Any) -> Any:
    """Return a plain, mutable ``dict``/``list`` copy of a (possibly frozen) JSON value."""
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [thaw(item) for item in value]
    return value


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building large immutable structures.

    Parsing or compiling a policy allocates many long-lived objects and no garbage cycles;
    without the pause the collector re-scans the growing heap again and again, which doubled
    load time at 100,000 relations. The previous state is restored on exit (if another thread
    paused it first, it stays paused until that thread is done).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
