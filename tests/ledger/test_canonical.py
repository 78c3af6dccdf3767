"""Canonical entry bytes: the fast JCS path is byte-identical to ``rfc8785.dumps`` (or raises
exactly when it does), and entry/leaf hashes follow DESIGN section 7.
"""

from __future__ import annotations

import hashlib

import pytest
import rfc8785
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from tools.verify_bundle import (
    GENESIS_PREV_HASH,
    _fast_path_safe,
    canonical_bytes,
    canonical_entry_bytes,
    entry_hash,
    entry_hashes,
    leaf_hash,
)

SPECIAL_CHARACTERS = [
    "\x00", "\x01", "\x08", "\t", "\n", "\x0b", "\x0c", "\r", "\x1f", " ", '"', "\\", "/",
    "\x7f", "\x80", "\u00e9", "\u2028", "\u2029", "\ud7ff", "\ue000", "\uff61", "\ufeff",
    "\uffff", "\U00010000", "\U0001f600", "\U0010ffff", "\ud800", "\udbff", "\udc00", "\udfff",
]  # fmt: skip
characters = st.one_of(st.characters(), st.sampled_from(SPECIAL_CHARACTERS))
texts = st.text(alphabet=characters, max_size=12)
bmp_texts = st.text(
    alphabet=st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",)), max_size=12
)
SAFE = 2**53 - 1
integers = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from([SAFE, -SAFE, SAFE + 1, -SAFE - 1, 0, -1]),
)
scalars = st.one_of(st.none(), st.booleans(), integers, st.floats(), texts)
keys = st.one_of(texts, texts, texts, st.integers(0, 9), st.none(), st.booleans())
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(keys, children, max_size=5),
    ),
    max_leaves=25,
)
fast_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-SAFE, SAFE), bmp_texts),
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(bmp_texts, children, max_size=5)
    ),
    max_leaves=25,
)


def _outcome(function, value):
    """Return ``("ok", bytes)`` or ``("error", exception type)`` without letting it escape."""
    try:
        return "ok", function(value)
    except (ValueError, TypeError, RecursionError) as error:
        return "error", type(error)


@settings(max_examples=3000, deadline=None)
@given(json_values)
@example({"\U0001f600": 1, "\uff61": 2})  # JCS sorts by UTF-16: the emoji (D83D) comes first
@example({"a": 1.0, "b": -0.0, "c": 1e21, "d": 1e-7, "e": 5e-324})
@example({"big": 2**53, "neg": -(2**53)})
@example(["\ud800"])
@example({"\udfff": 1})
@example({1: "int key"})
@example({"nan": float("nan")})
@example("\u2028\u2029\x7f\x00\x1f\x0b")
def test_canonical_bytes_equals_rfc8785_or_fails_alike(value):
    assert _outcome(canonical_bytes, value) == _outcome(rfc8785.dumps, value)


@settings(max_examples=2000, deadline=None)
@given(fast_values)
def test_fast_path_applies_to_plain_json_and_matches(value):
    assert _fast_path_safe(value) is True
    assert canonical_bytes(value) == rfc8785.dumps(value)


@pytest.mark.parametrize(
    "value",
    [
        1e-5,
        {"a": [1, 1e16]},
        {"a": [1, 2.0**53]},
        float("inf"),
        2**53,
        -(2**53),
        {1: "x"},
        {"k": {None: 1}},
        True.__class__.__mro__,  # tuple of types: unsupported
    ],
)
def test_fast_path_refuses_what_json_would_render_differently(value):
    assert _fast_path_safe(value) is False


@settings(max_examples=5000, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True))
@example(1e-4)
@example(9.999999999999999e-05)
@example(1e16)
@example(9999999999999998.0)
@example(9007199254740991.0)
@example(9007199254740992.0)
@example(0.1 + 0.2)
@example(-0.0)
@example(5e-324)
def test_every_float_matches_rfc8785_or_fails_alike(number):
    value = {"score": number, "list": [number, {"x": number}]}
    assert _outcome(canonical_bytes, value) == _outcome(rfc8785.dumps, value)


@settings(max_examples=2000, deadline=None)
@given(
    st.floats(min_value=1e-4, max_value=1e16, exclude_max=True)
    | st.floats(min_value=-1e16, max_value=-1e-4, exclude_min=True)
    | st.integers(-SAFE, SAFE).map(float)
)
def test_floats_in_the_positional_range_take_the_fast_path(number):
    assume(not number.is_integer() or abs(number) <= SAFE)  # larger integral floats: rfc8785
    assert _fast_path_safe({"risk": {"score": number}}) is True
    assert canonical_bytes({"risk": {"score": number}}) == rfc8785.dumps(
        {"risk": {"score": number}}
    )


def test_fast_form_copies_instead_of_changing_the_callers_value():
    value = {"dims": {"privacy": 70.0}, "list": [1.0, "a"]}
    assert canonical_bytes(value) == b'{"dims":{"privacy":70},"list":[1,"a"]}'
    assert value == {"dims": {"privacy": 70.0}, "list": [1.0, "a"]}
    assert type(value["dims"]["privacy"]) is float
    assert type(value["list"][0]) is float


def test_non_bmp_and_surrogates_are_decided_by_rfc8785():
    ordered = canonical_bytes({"\uff61": 2, "\U0001f600": 1})
    assert ordered == '{"\U0001f600":1,"\uff61":2}'.encode()
    with pytest.raises(rfc8785.CanonicalizationError):
        canonical_bytes({"k": "\ud800"})
    with pytest.raises(rfc8785.IntegerDomainError):
        canonical_bytes({"k": 2**53})
    assert canonical_bytes([1.0, 100.0, 1e21, 0.1]) == b"[1,100,1e+21,0.1]"


TYPICAL_ENTRY = {
    "seq": 42,
    "entry_type": "decision.made",
    "timestamp": "2026-11-29T06:30:00.123456Z",
    "payload": {
        "decision_id": "5f0c7a4e-1b2c-4d3e-8f9a-0b1c2d3e4f50",
        "outcome": "allowed",
        "actor_label": "agent-42",
        "actor_kind": "agent",
        "reasons": ["policy:allow-read", "risk:low"],
        "risk_score": 37,
        "escalated": False,
        "note": 'caf\u00e9 \u2028 "quoted"\n',
    },
    "prev_hash": "ab" * 32,
    "entry_hash": "ignored: not part of the canonical bytes",
    "id": "ignored too",
}
# Written out by hand from RFC 8785: keys sorted, no whitespace, UTF-8, minimal escapes.
TYPICAL_CANONICAL = (
    '{"entry_type":"decision.made","payload":{"actor_kind":"agent","actor_label":"agent-42",'
    '"decision_id":"5f0c7a4e-1b2c-4d3e-8f9a-0b1c2d3e4f50","escalated":false,'
    '"note":"caf\u00e9 \u2028 \\"quoted\\"\\n","outcome":"allowed",'
    '"reasons":["policy:allow-read","risk:low"],"risk_score":37},'
    '"prev_hash":"' + "ab" * 32 + '","seq":42,"timestamp":"2026-11-29T06:30:00.123456Z"}'
).encode()


def test_entry_canonical_bytes_are_jcs_of_exactly_five_fields():
    assert canonical_entry_bytes(TYPICAL_ENTRY) == TYPICAL_CANONICAL
    assert _fast_path_safe(dict(TYPICAL_ENTRY)) is True


def test_entry_hash_and_leaf_hash():
    expected_entry_hash = hashlib.sha256(TYPICAL_CANONICAL).hexdigest()
    expected_leaf = hashlib.sha256(b"\x00" + TYPICAL_CANONICAL).digest()

    assert entry_hash(TYPICAL_ENTRY) == expected_entry_hash
    assert leaf_hash(TYPICAL_CANONICAL) == expected_leaf
    assert entry_hashes(TYPICAL_ENTRY) == (expected_entry_hash, expected_leaf)


def test_every_field_is_covered_by_the_hash():
    reference = entry_hash(TYPICAL_ENTRY)
    for field, replacement in [
        ("seq", 43),
        ("entry_type", "decision.denied"),
        ("timestamp", "2026-11-29T06:30:00.123457Z"),
        ("payload", {**TYPICAL_ENTRY["payload"], "outcome": "denied"}),
        ("prev_hash", "ac" * 32),
    ]:
        assert entry_hash({**TYPICAL_ENTRY, field: replacement}) != reference, field


def test_missing_field_is_an_error_and_genesis_links_to_zeros():
    entry = dict(TYPICAL_ENTRY)
    del entry["timestamp"]
    with pytest.raises(KeyError):
        canonical_entry_bytes(entry)
    assert GENESIS_PREV_HASH == "0" * 64
