"""Backtracking-free glob matching for policy term ids.

Only two wildcard characters exist: ``*`` (any run of characters, including none) and ``?``
(exactly one character). Every other character is literal; there are no character classes and
no escapes, so a term id containing ``*`` or ``?`` is always a glob.

A pattern is split at ``*`` into literal segments. The first segment is anchored at the start of
the text, the last at the end, and the middle segments are placed left-most, one after the other.
For ``*``-separated segments greedy left-most placement is optimal, so the matcher never
backtracks: the cost is at most ``len(text) * len(pattern)`` character comparisons. Segments
without ``?`` use ``str.find`` (C speed); segments with ``?`` use a regular expression built from
the *escaped* segment (``?`` becomes ``.``), which has no quantifiers and therefore cannot
backtrack either. User text is never turned into a regex without escaping.
"""

from __future__ import annotations

import re
from collections.abc import Callable

GLOB_CHARS = frozenset("*?")

Matcher = Callable[[str], bool]


def is_glob(pattern: str) -> bool:
    """Return True when ``pattern`` contains a wildcard, i.e. must be matched, not looked up."""
    return "*" in pattern or "?" in pattern


def literal_prefix(pattern: str) -> str:
    """Return the literal text before the first wildcard; used to bucket globs for fast lookup."""
    for index, char in enumerate(pattern):
        if char in GLOB_CHARS:
            return pattern[:index]
    return pattern


def _segment_equals(text: str, start: int, segment: str) -> bool:
    """Compare ``segment`` (which may hold ``?``) with ``text`` at ``start`` without slicing."""
    if start + len(segment) > len(text):
        return False
    for offset, char in enumerate(segment):
        if char != "?" and text[start + offset] != char:
            return False
    return True


def _segment_finder(segment: str) -> Callable[[str, int, int], int]:
    """Build a function returning the left-most index of ``segment`` in ``text[start:end]``.

    Returns -1 when absent. ``?`` segments use an escaped, quantifier-free regex.
    """
    if "?" not in segment:

        def find_literal(text: str, start: int, end: int) -> int:
            return text.find(segment, start, end)

        return find_literal

    compiled = re.compile(
        "".join("." if char == "?" else re.escape(char) for char in segment), re.DOTALL
    )

    def find_wild(text: str, start: int, end: int) -> int:
        found = compiled.search(text, start, end)
        return -1 if found is None else found.start()

    return find_wild


def compile_glob(pattern: str) -> Matcher:
    """Compile ``pattern`` into a predicate ``matcher(text) -> bool`` for whole-string matching.

    Common shapes (``*``, ``prefix*``, ``*suffix``, literal) get dedicated fast paths because the
    policy index calls matchers on the hot path of every evaluation.
    """
    if not is_glob(pattern):
        return pattern.__eq__
    segments = pattern.split("*")
    if len(segments) == 1:  # only '?' wildcards: fixed length
        length = len(pattern)

        def match_fixed(text: str) -> bool:
            return len(text) == length and _segment_equals(text, 0, pattern)

        return match_fixed

    head, tail, middle = segments[0], segments[-1], [s for s in segments[1:-1] if s]
    if not middle and "?" not in head and "?" not in tail:
        if not tail:
            if not head:
                return _match_anything
            return _prefix_matcher(head)
        if not head:
            return _suffix_matcher(tail)
        minimum = len(head) + len(tail)

        def match_head_tail(text: str) -> bool:
            return len(text) >= minimum and text.startswith(head) and text.endswith(tail)

        return match_head_tail

    finders = [(_segment_finder(segment), len(segment)) for segment in middle]
    minimum = len(head) + len(tail) + sum(length for _, length in finders)

    def match_general(text: str) -> bool:
        if len(text) < minimum:
            return False
        if not _segment_equals(text, 0, head):
            return False
        end = len(text) - len(tail)
        if not _segment_equals(text, end, tail):
            return False
        position = len(head)
        for find, length in finders:
            found = find(text, position, end)
            if found < 0:
                return False
            position = found + length
        return True

    return match_general


def _match_anything(text: str) -> bool:
    return True


def _prefix_matcher(prefix: str) -> Matcher:
    def match_prefix(text: str) -> bool:
        return text.startswith(prefix)

    return match_prefix


def _suffix_matcher(suffix: str) -> Matcher:
    def match_suffix(text: str) -> bool:
        return text.endswith(suffix)

    return match_suffix
