"""Six-dimension risk scoring: weights, levels, sources only raise, API."""

from __future__ import annotations

import pytest
from hypothesis import given
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
