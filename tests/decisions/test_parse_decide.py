"""parse_decide (the hot-path validator) and DecideInput (the documented schema) agree exactly."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework import serializers
from rest_framework.exceptions import ParseError

from apps.core.api.parsers import loads_strict
from apps.decisions.api.serializers import DecideInput, parse_decide
from tests.conftest import DEMO
from tests.decisions.test_malformed import generated_bodies

FIELDS = [
    "actor",
    "action",
    "proposed_action",
    "resource",
    "context",
    "data_classes",
    "ai_system",
    "request_id",
    "tool",
    "user_intent",
    "risk_level",
    "policy_mode",
    "risk_dimensions",
]
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.text(min_size=195, max_size=210),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(
        st.sampled_from(["privacy", "security", "luck", "purpose"]),
        st.one_of(st.integers(-5, 120), st.text(max_size=5)),
        max_size=3,
    ),
    st.sampled_from(["strict", "paranoid", "permissive", "yolo", " ", "\x00"]),
)


def verdicts(body):
    serializer = DecideInput(data=body)
    drf_ok = serializer.is_valid()
    try:
        ours = parse_decide(body)
        ours_ok = True
    except serializers.ValidationError as exc:
        ours_ok, ours = False, exc.detail
    return drf_ok, serializer, ours_ok, ours


def assert_agree(body):
    drf_ok, serializer, ours_ok, ours = verdicts(body)
    assert drf_ok == ours_ok, (body, serializer.errors, ours)
    if drf_ok:
        expected = dict(serializer.validated_data)
        assert {k: ours.get(k) for k in expected} == expected, body
    else:
        assert set(ours) == set(serializer.errors), (body, serializer.errors, ours)


@settings(max_examples=600, deadline=None)
@given(st.dictionaries(st.sampled_from(FIELDS), values, max_size=6))
def test_agree_on_generated_bodies(extra):
    assert_agree({**DEMO, **extra})


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(FIELDS), values, max_size=6))
def test_agree_without_the_demo_base(body):
    assert_agree(body)


def test_agree_on_the_t23_corpus():
    checked = 0
    for raw, content_type in generated_bodies(1000):
        if content_type != "application/json":
            continue
        try:
            body = loads_strict(raw)
        except ParseError:
            body = None  # bodies the parser rejects never reach the validators
        if body is not None:
            assert_agree(body)
            checked += 1
    assert checked > 200


@pytest.mark.parametrize("body", [[], "text", 42, None])
def test_non_objects(body):
    drf_ok, _, ours_ok, _ = verdicts(body)
    assert drf_ok is ours_ok is False


def test_demo_is_accepted_identically():
    assert_agree(json.loads(json.dumps(DEMO)))


@pytest.mark.parametrize(
    "extra",
    [
        {"risk_level": "3"},
        {"risk_level": "3.0"},
        {"risk_level": 3.0},
        {"risk_level": 3.5},
        {"risk_level": "abc"},
        {"risk_level": True},
        {"risk_level": " 2 "},
        {"actor": 12},
        {"actor": 1.5},
        {"actor": "  padded  "},
        {"resource": ""},
        {"resource": None},
        {"resource": 5},
        {"data_classes": ["pii", 3]},
        {"data_classes": [" "]},
        {"ai_system": ""},
        {"request_id": "   "},
        {"action": "", "proposed_action": "x"},
        {"action": "a", "proposed_action": "b"},
        {"risk_dimensions": {"privacy": "50"}},
        {"risk_dimensions": {"privacy": True}},
        {"policy_mode": None},
        {"context": []},
        {"context": {"k": float("inf")}},
        {"user_intent": "x" * 2001},
    ],
)
def test_agree_on_edge_cases(extra):
    assert_agree({**DEMO, **extra})
