"""Bodies and queries of the EU AI Act monitoring API (docs/api.md, "EU AI Act monitoring").

Request bodies are pydantic models (strict JSON types, unknown fields refused), validated by
``apps.aisystems.api.serializers.parse`` (400 ``validation_error`` per field) and published as
the OpenAPI request schema (``apps.core.api.schema``). Rules that need the database (the decision
is visible, an approval agrees with the recommendation, the system is registered) are the
services'.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from rest_framework import serializers

from apps.aisystems.constants import SYSTEM_ID
from apps.monitoring.constants import (
    PLAN_DESCRIPTION_MAX_LENGTH,
    PLAN_WINDOW_DAYS_MAX,
    REASON_MAX_LENGTH,
    REASON_MIN_LENGTH,
    RESPONSE_TIME_MAX_MS,
    Direction,
    HumanDecision,
    InterventionType,
    Metric,
    Recommendation,
)


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("Null characters are not allowed.")
    return value


_CONFIG = ConfigDict(strict=True, str_strip_whitespace=True, frozen=True, extra="forbid")

UuidText = Annotated[
    str,
    StringConstraints(
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    ),
    Field(description="a decision id (UUID)"),
]
Reason = Annotated[
    str,
    StringConstraints(min_length=REASON_MIN_LENGTH, max_length=REASON_MAX_LENGTH),
    AfterValidator(_no_nul),
]
TypeValue = Literal[tuple(InterventionType.values)]  # type: ignore[valid-type]  # from the choices
RecommendationValue = Literal[tuple(Recommendation.values)]  # type: ignore[valid-type]
HumanValue = Literal[tuple(HumanDecision.values)]  # type: ignore[valid-type]
MetricValue = Literal[tuple(Metric.values)]  # type: ignore[valid-type]
DirectionValue = Literal[tuple(Direction.values)]  # type: ignore[valid-type]
RoleName = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,40}$")]
SystemId = Annotated[str, StringConstraints(pattern=SYSTEM_ID.pattern)]
OwnerRef = Annotated[
    str, StringConstraints(pattern=r"^user:\d{1,18}$"), Field(description="user:<id>")
]
Description = Annotated[
    str, StringConstraints(max_length=PLAN_DESCRIPTION_MAX_LENGTH), AfterValidator(_no_nul)
]
WindowDays = Annotated[int, Field(ge=1, le=PLAN_WINDOW_DAYS_MAX)]
MinDecisions = Annotated[int, Field(ge=0, le=1_000_000)]


class InterventionInput(BaseModel):
    """``POST /compliance/eu-ai-act/article-14/intervention``. ``ai_recommendation`` defaults to
    the engine's recommendation for the decision; ``human_decision`` may be left out for an
    escalation (``escalated``) and an emergency stop (``stopped``); ``role`` defaults to all of
    the user's roles."""

    model_config = _CONFIG

    decision_id: UuidText
    intervention_type: TypeValue
    reason: Reason
    human_decision: HumanValue | None = None
    ai_recommendation: RecommendationValue | None = None
    role: RoleName | None = None
    response_time_ms: Annotated[int, Field(ge=0, le=RESPONSE_TIME_MAX_MS)] | None = None


class PlanMetricInput(BaseModel):
    model_config = _CONFIG

    metric: MetricValue
    threshold: Annotated[float, Field(ge=0, le=1_000_000)]
    direction: DirectionValue = Direction.EITHER.value


Metrics = Annotated[list[PlanMetricInput], Field(min_length=1, max_length=len(Metric.values))]


class PlanCreateInput(BaseModel):
    """``POST /compliance/eu-ai-act/article-72/plans``: a plan for a registered AI system that
    has no live plan yet."""

    model_config = _CONFIG

    ai_system: SystemId
    owner: OwnerRef
    metrics: Metrics
    window_days: WindowDays = 7
    min_decisions: MinDecisions = 10
    description: Description = ""


class PlanPatchInput(BaseModel):
    """``PATCH /compliance/eu-ai-act/article-72/plans/{id}``: the fields sent change (none may be
    null); ``ai_system`` cannot (delete the plan and create one for the other system)."""

    model_config = _CONFIG

    owner: OwnerRef = Field(default=None)
    metrics: Metrics = Field(default=None)
    window_days: WindowDays = Field(default=None)
    min_decisions: MinDecisions = Field(default=None)
    description: Description = Field(default=None)

    def sent(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


def metrics_as_dicts(metrics: list[PlanMetricInput]) -> list[dict[str, Any]]:
    return [item.model_dump() for item in metrics]


class PeriodQuery(serializers.Serializer):
    """``ai_system`` (optional: every system), ``from`` and ``to`` (dates or RFC 3339 times)."""

    ai_system = serializers.CharField(max_length=200, required=False)
    from_ = serializers.CharField(max_length=40, required=False)
    to = serializers.CharField(max_length=40, required=False)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


class ReportQuery(PeriodQuery):
    """The Art. 72 report is about one registered system."""

    ai_system = serializers.RegexField(SYSTEM_ID.pattern, max_length=100)


class PlanListQuery(serializers.Serializer):
    ai_system = serializers.CharField(max_length=200, required=False)
