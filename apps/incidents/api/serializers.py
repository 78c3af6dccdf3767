"""Bodies and queries of the serious-incident API and the regulatory calendar.

Request bodies are pydantic models (strict JSON types, unknown fields refused), published as the
OpenAPI request schema by ``apps.core.api.schema``; queries are DRF serializers. Rules that need
the database (the AI system exists, the decisions and artifacts exist, the state allows it) are
the services'.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from rest_framework import serializers

from apps.incidents.ai_act_calendar import REGIMES
from apps.incidents.constants import (
    DESCRIPTION_MAX_LENGTH,
    DISMISS_REASON_MIN_LENGTH,
    MAX_LINKS,
    MEMBER_STATE_TIMEZONES,
    NOTE_MAX_LENGTH,
    Category,
    ReportKind,
    Status,
)

_UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("Null characters are not allowed.")
    return value


def _aware_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("An RFC 3339 date-time, e.g. 2026-12-01T09:30:00Z.") from None
    if parsed.tzinfo is None:
        raise ValueError("The date-time needs a time zone (Z or +hh:mm).")
    return parsed


AwareTime = Annotated[
    str,
    StringConstraints(min_length=10, max_length=40),
    AfterValidator(_aware_time),
    Field(json_schema_extra={"format": "date-time"}),
]
SystemId = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,99}$"),
    Field(description="an AI system registry id"),
]
Description = Annotated[
    str,
    StringConstraints(min_length=1, max_length=DESCRIPTION_MAX_LENGTH),
    AfterValidator(_no_nul),
]
Note = Annotated[str, StringConstraints(max_length=NOTE_MAX_LENGTH), AfterValidator(_no_nul)]
Reason = Annotated[
    str,
    StringConstraints(min_length=DISMISS_REASON_MIN_LENGTH, max_length=NOTE_MAX_LENGTH),
    AfterValidator(_no_nul),
]
Ids = Annotated[list[Annotated[str, StringConstraints(pattern=_UUID)]], Field(max_length=MAX_LINKS)]
CategoryValue = Literal[tuple(Category.values)]  # type: ignore[valid-type]  # from the choices
StatusValue = Literal[tuple(Status.values)]  # type: ignore[valid-type]
KindValue = Literal[tuple(ReportKind.values)]  # type: ignore[valid-type]
MemberState = Literal[tuple(MEMBER_STATE_TIMEZONES)]  # type: ignore[valid-type]

_CONFIG = ConfigDict(strict=True, str_strip_whitespace=True, frozen=True, extra="forbid")


class IncidentCreateInput(BaseModel):
    """``POST /incidents``: a serious incident of a registered AI system."""

    model_config = _CONFIG

    ai_system: SystemId
    category: CategoryValue
    aware_at: AwareTime = Field(description="when the organisation became aware of it")
    description: Description
    personal_data_involved: bool = Field(description="true starts the GDPR Art. 33 clock")
    decision_ids: Ids = []
    evidence_ids: Ids = []
    member_state: MemberState | None = None


class IncidentPatchInput(BaseModel):
    """``PATCH /incidents/{id}``: move to ``status`` (with an optional ``note``) and/or record
    the GDPR Art. 33 notification (``gdpr_notified: true``)."""

    model_config = _CONFIG

    status: StatusValue | None = None
    note: Note = ""
    gdpr_notified: Literal[True] | None = None


class ReportInput(BaseModel):
    """``POST /incidents/{id}/reports``."""

    model_config = _CONFIG

    kind: KindValue


class SuggestionAcceptInput(BaseModel):
    """``POST /incidents/suggestions/{key}/accept``: the category is a person's judgement;
    the rest defaults to what the suggestion proposes (``aware_at``: now)."""

    model_config = _CONFIG

    category: CategoryValue
    personal_data_involved: bool
    aware_at: AwareTime | None = None
    description: Description | None = None
    ai_system: SystemId | None = None
    member_state: MemberState | None = None
    decision_ids: Ids = []
    evidence_ids: Ids = []


class SuggestionDismissInput(BaseModel):
    """``POST /incidents/suggestions/{key}/dismiss``."""

    model_config = _CONFIG

    reason: Reason


class IncidentListQuery(serializers.Serializer):
    ai_system = serializers.RegexField(r"^[a-z0-9][a-z0-9._-]{0,99}$", required=False)
    status = serializers.ChoiceField(choices=Status.values, required=False)
    category = serializers.ChoiceField(choices=Category.values, required=False)
    offset = serializers.IntegerField(min_value=0, max_value=10**9, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=500, default=100)


class SuggestionsQuery(serializers.Serializer):
    ai_system = serializers.CharField(max_length=200, required=False)


class ReportQuery(serializers.Serializer):
    format = serializers.ChoiceField(choices=["pdf", "html"], default="pdf")


class CalendarQuery(serializers.Serializer):
    ai_system = serializers.RegexField(r"^[a-z0-9][a-z0-9._-]{0,99}$", required=False)
    as_of = serializers.DateField(required=False, help_text="default: today (UTC)")
    regime = serializers.ChoiceField(
        choices=list(REGIMES), required=False, help_text="default: LEXECON_AI_ACT_REGIME"
    )
