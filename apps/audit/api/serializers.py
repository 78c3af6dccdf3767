"""The body of ``POST /audit/export``: a pydantic model (unknown fields refused), published by
drf-spectacular as the request schema (``apps.core.api.schema``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from apps.audit.constants import Format, Scope

ScopeValue = Literal[tuple(Scope.values)]  # type: ignore[valid-type]  # built from the choices
FormatValue = Literal[tuple(Format.values)]  # type: ignore[valid-type]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]


class ExportInput(BaseModel):
    """``{scope, format, from?, to?, ai_system?, framework?}``; ``from``/``to`` are RFC 3339 times
    with an offset (both ends inclusive)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)

    scope: ScopeValue = Field(description="what to export (framework needs 'framework')")
    format: FormatValue = Field(description="the file's format")
    period_from: AwareDatetime | None = Field(None, alias="from", description="period start")
    period_to: AwareDatetime | None = Field(None, alias="to", description="period end")
    ai_system: Name | None = Field(None, description="only rows of this AI system's decisions")
    framework: Name | None = Field(None, description="framework id or alias (scope framework)")

    def period(self) -> tuple[datetime | None, datetime | None]:
        return self.period_from, self.period_to
