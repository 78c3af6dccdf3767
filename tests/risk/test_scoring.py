"""Six-dimension risk scoring: weights, levels, sources only raise, API."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from apps.risk import scoring
from apps.risk.models import RiskAssessment

dims = st.dictionaries(st.sampled_from(scoring.DIMENSIONS), st.floats(0, 100), min_size=1)


def test_weights_sum_to_one_and_match_design():
    assert scoring.WEIGHTS == {
        "security": 0.25,
        "privacy": 0.20,
        "compliance": 0.20,
        "operational": 0.15,
        "reputational": 0.10,
        "financial": 0.10,
    }
    assert sum(scoring.WEIGHTS.values()) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("score", "level"),
    [
        (0, "low"),
        (29.99, "low"),
        (30, "medium"),
        (59.99, "medium"),
        (60, "high"),
        (79.99, "high"),
        (80, "critical"),
        (100, "critical"),
    ],
)
def test_level_boundaries(score, level):
    assert scoring.level_for(score) == level


def test_weighted_mean_over_present_dimensions_only():
    assert scoring.score_dimensions({"security": 80, "financial": 20}) == (
        round((0.25 * 80 + 0.10 * 20) / 0.35, 2),
        "high",
    )
    assert scoring.score_dimensions({}) == (0.0, "low")


@given(dims)
def test_score_is_within_the_range_of_its_dimensions(values):
    score, _ = scoring.score_dimensions(values)
    assert min(values.values()) - 0.01 <= score <= max(values.values()) + 0.01


@given(dims, dims)
def test_caller_can_raise_but_never_lower(base, caller):
    plain = scoring.assess(caller_dimensions=base)
    raised = scoring.assess(
        caller_dimensions={**base}, context={}, data_classes=[], term_metadata=[{"risk": caller}]
    )
    for name, value in plain.dimensions.items():
        assert raised.dimensions[name] >= value


values_0_100 = st.integers(0, 100) | st.floats(0, 100)
some_dims = st.dictionaries(st.sampled_from(scoring.DIMENSIONS), values_0_100)
hints = st.fixed_dictionaries(
    {},
    optional={
        "risk_level": st.integers(1, 5),
        "context": st.fixed_dictionaries(
            {"data_sensitivity": st.sampled_from(sorted(scoring.SENSITIVITY_VALUES))}
        ),
        "caller_dimensions": some_dims,
    },
)
base = st.fixed_dictionaries(
    {
        "term_metadata": st.lists(st.fixed_dictionaries({"risk": some_dims}), max_size=3),
        "data_classes": st.lists(
            st.sampled_from(sorted(scoring.DATA_CLASS_DIMENSIONS)), max_size=3
        ),
    }
)
bounded = settings(max_examples=300, derandomize=True, deadline=None)


@bounded
@given(base, hints)
def test_hints_never_lower_the_score_or_a_dimension(request_base, request_hints):
    """Issue 15 §4: with the caller's input, score and every dimension are >= without it."""
    without = scoring.assess(**request_base)
    with_hints = scoring.assess(**request_base, **request_hints)
    assert with_hints.score >= without.score
    for name, value in without.dimensions.items():
        assert with_hints.dimensions[name] >= value


@bounded
@given(base, some_dims, some_dims)
def test_more_caller_input_never_lowers_the_score(request_base, first, more):
    """Adding or raising a caller dimension never lowers the score, whatever was sent before."""
    assume(scoring.assess(**request_base).dimensions)
    merged = {**first, **{name: max(value, first.get(name, 0)) for name, value in more.items()}}
    before = scoring.assess(**request_base, caller_dimensions=first)
    after = scoring.assess(**request_base, caller_dimensions=merged)
    assert after.score >= before.score


@bounded
@given(some_dims, st.sets(st.sampled_from(scoring.DIMENSIONS), min_size=1))
def test_best_mean_is_the_best_subset_over_the_base(values, base_names):
    assume(base_names & set(values))
    mean, counted = scoring._best_mean(values, base_names)
    optional = [name for name in values if name not in base_names]
    kept = [name for name in values if name in base_names]
    best = max(
        scoring.score_dimensions({name: values[name] for name in (*kept, *extra)})[0]
        for size in range(len(optional) + 1)
        for extra in itertools.combinations(optional, size)
    )
    assert round(mean, 2) == pytest.approx(best, abs=0.011)
    assert set(kept) <= set(counted)


def test_demo_dilution_case_keeps_its_score():
    """The issue's numbers: read_ticket by the support agent on phi at risk_level 5."""
    asked = {
        "term_metadata": [
            {"risk": {"operational": 30, "reputational": 40}},
            {"risk": {"privacy": 20}},
        ],
        "data_classes": ["phi"],
        "risk_level": 5,
    }
    plain = scoring.assess(**asked)
    assert plain.score == 87.78
    diluted = scoring.assess(**asked, caller_dimensions={"financial": 0})
    assert diluted.score == 87.78
    assert diluted.dimensions["financial"] == 0  # shown, but not counted
    assert "financial" not in diluted.counted
    raised = scoring.assess(**asked, caller_dimensions={"financial": 100})
    assert raised.score > plain.score
    assert "financial" in raised.counted


def test_sources_combine_by_maximum():
    result = scoring.assess(
        term_metadata=[{"risk": {"privacy": 40}}, {"risk": {"financial": 55, "bogus": 99}}],
        data_classes=["phi"],
        risk_level=5,
        context={"data_sensitivity": "low"},
        caller_dimensions={"privacy": 10},
    )
    assert result.dimensions["privacy"] == 90  # phi beats term 40, sensitivity 20, caller 10
    assert result.dimensions["financial"] == 55
    assert result.dimensions["security"] == 90  # risk_level 5
    assert "bogus" not in result.dimensions
    assert result.sources["privacy"] == ["data_class:phi"]


@pytest.mark.parametrize("bad", [float("nan"), "90", True, None, [1]])
def test_bad_dimension_values_are_ignored(bad):
    assert scoring.assess(caller_dimensions={"privacy": bad}).dimensions == {}


@pytest.mark.django_db
def test_assess_and_get_api(agent_client):
    client = agent_client("decide")
    response = client.post(
        "/risks/assess", {"dimensions": {"security": 90}, "data_classes": ["pii"]}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["dimensions"] == {"security": 90.0, "privacy": 70.0, "compliance": 60.0}
    assert body["level"] == "high"
    again = client.get(f"/risks/{body['id']}").json()
    assert again["score"] == body["score"]
    assert client.get("/risks/00000000-0000-0000-0000-000000000000").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body", [{"dimensions": {"luck": 5}}, {"dimensions": {"security": 101}}, {"risk_level": 0}]
)
def test_assess_rejects_bad_input_and_writes_nothing(agent_client, body):
    response = agent_client("decide").post("/risks/assess", body, format="json")
    assert response.status_code == 400
    assert RiskAssessment.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({}, "non_field_errors", id="empty_case"),
        pytest.param({"risk_level": 5}, "non_field_errors", id="no_subject_case"),
        pytest.param({"dimensions": {"security": 90}}, "non_field_errors", id="dims_only_case"),
        pytest.param({"actor": "ai_agent:x"}, "non_field_errors", id="no_source_case"),
        pytest.param(
            {"action": "read", "data_classes": ["no_such_class"]},
            "non_field_errors",
            id="nothing_scored_case",
        ),
    ],
)
def test_assess_without_subject_or_source_is_a_400_and_writes_nothing(agent_client, body, field):
    # Issue 15 §4: these answered 500 (the model refused an empty subject or empty dimensions).
    response = agent_client("decide").post("/risks/assess", body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] in {"validation_error", "invalid_input"}
    assert error["message"]
    assert field in error["details"]
    assert RiskAssessment.objects.count() == 0
