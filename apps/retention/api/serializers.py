"""Bodies and queries of the Art. 12 record-keeping API.

Request bodies are pydantic models (strict JSON types, unknown fields refused; the OpenAPI
request schema is the same declaration, ``apps.core.api.schema``). The period of a regulatory
package is a query: ``from``/``to`` as a date (``from``: its start, ``to``: its end, UTC) or an
RFC 3339 time with its offset.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from rest_framework import serializers

from apps.retention.constants import (
    MAX_HOLD_DECISIONS,
    REASON_MIN_LENGTH,
    REQUESTED_BY_MAX_LENGTH,
    TEXT_MAX_LENGTH,
)

_CONFIG = ConfigDict(strict=True, str_strip_whitespace=True, frozen=True, extra="forbid")

Reason = Annotated[str, StringConstraints(min_length=REASON_MIN_LENGTH, max_length=TEXT_MAX_LENGTH)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
DecisionId = Annotated[
    str,
    StringConstraints(
        pattern=r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$",
        to_lower=True,
    ),
]
# JSON has no datetime type: an RFC 3339 string with an offset, parsed here (not strict).
Moment = Annotated[AwareDatetime, Field(strict=False)]


class LegalHoldInput(BaseModel):
    """``POST /compliance/eu-ai-act/article-12/legal-hold``. ``scope`` says which of
    ``ai_system``, ``actor``, ``decision_ids`` or ``from``+``to`` (``time_range``) is sent;
    ``ai_system`` and ``actor`` holds may add ``from``/``to`` to bound the period."""

    model_config = ConfigDict(**_CONFIG, populate_by_name=True)

    scope: Literal["ai_system", "actor", "decision_ids", "time_range"]
    ai_system: Name | None = None
    actor: Name | None = None
    decision_ids: (
        Annotated[list[DecisionId], Field(min_length=1, max_length=MAX_HOLD_DECISIONS)] | None
    ) = None
    period_from: Moment | None = Field(default=None, alias="from")
    period_to: Moment | None = Field(default=None, alias="to")
    reason: Reason
    requested_by: Annotated[
        str, StringConstraints(min_length=1, max_length=REQUESTED_BY_MAX_LENGTH)
    ] = Field(description="who asked for the hold (e.g. legal counsel, an authority's reference)")


class LegalHoldReleaseInput(BaseModel):
    """``DELETE /compliance/eu-ai-act/article-12/legal-hold/{id}``: why it ends."""

    model_config = _CONFIG

    reason: Reason


class HoldsQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=["active", "released", "all"], default="all")
    offset = serializers.IntegerField(min_value=0, max_value=10**9, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=500, default=100)


class MomentField(serializers.Field):
    """A date (``YYYY-MM-DD``; ``end_of_day``: its last moment) or an RFC 3339 time with its
    offset, as an aware ``datetime``."""

    def __init__(self, *, end_of_day: bool = False, **kwargs: Any) -> None:
        self.end_of_day = end_of_day
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> datetime:
        text = data.strip() if isinstance(data, str) else ""
        try:
            if not 10 <= len(text) <= 40:
                raise ValueError(text)
            if len(text) == 10:
                day = date.fromisoformat(text)
                return datetime.combine(day, time.max if self.end_of_day else time.min, tzinfo=UTC)
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise serializers.ValidationError(
                "A date (YYYY-MM-DD) or an RFC 3339 time with its offset."
            ) from None
        if moment.utcoffset() is None:
            raise serializers.ValidationError("Give the time with its offset (Z or +hh:mm).")
        return moment

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()


class PackageQuery(serializers.Serializer):
    # ``from`` is a Python keyword: the view renames the query parameters.
    period_from = MomentField()
    period_to = MomentField(end_of_day=True)
    format = serializers.ChoiceField(choices=["json", "csv", "markdown"], default="json")
