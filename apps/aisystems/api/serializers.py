"""Bodies and answers of the AI system registry API.

Request bodies are pydantic models (strict JSON types, unknown fields refused): the model validates
and drf-spectacular publishes the same declaration as the request schema (``apps.core.api.schema``).
The classification rules that need several fields (Annex III ⇒ high-risk unless exempt, what an
exemption must state) are the model's ``clean()``, applied by the services to the whole system.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from rest_framework import serializers

from apps.aisystems.constants import (
    NAME_MAX_LENGTH,
    SYSTEM_ID,
    TEXT_MAX_LENGTH,
    VERSION_MAX_LENGTH,
    AnnexIIIPoint,
    Art63Condition,
    RiskClass,
    Role,
    Status,
)
from apps.core.api.inputs import parse as parse_input


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("Null characters are not allowed.")
    return value


SystemId = Annotated[
    str,
    StringConstraints(pattern=SYSTEM_ID.pattern),
    Field(description="lower-case letters, digits, '.', '_', '-'; at most 100; chosen once"),
]
Name = Annotated[
    str, StringConstraints(min_length=1, max_length=NAME_MAX_LENGTH), AfterValidator(_no_nul)
]
Version = Annotated[
    str, StringConstraints(min_length=1, max_length=VERSION_MAX_LENGTH), AfterValidator(_no_nul)
]
Purpose = Annotated[
    str, StringConstraints(min_length=1, max_length=TEXT_MAX_LENGTH), AfterValidator(_no_nul)
]
Reasoning = Annotated[str, StringConstraints(max_length=TEXT_MAX_LENGTH), AfterValidator(_no_nul)]
OwnerRef = Annotated[
    str, StringConstraints(pattern=r"^user:\d{1,18}$"), Field(description="user:<id>")
]
RoleValue = Literal[tuple(Role.values)]  # type: ignore[valid-type]  # built from the choices
PointValue = Literal[tuple(AnnexIIIPoint.values)]  # type: ignore[valid-type]
ConditionValue = Literal[tuple(Art63Condition.values)]  # type: ignore[valid-type]
RiskValue = Literal[tuple(RiskClass.values)]  # type: ignore[valid-type]
StatusValue = Literal[tuple(Status.values)]  # type: ignore[valid-type]

_CONFIG = ConfigDict(strict=True, str_strip_whitespace=True, frozen=True, extra="forbid")


class AISystemRegisterInput(BaseModel):
    """``POST /compliance/ai-systems``. ``annex_iii_point`` and ``art_6_3_condition`` are null
    (or left out) for none; ``art_6_3_reasoning`` is required (≥ 20 characters) with an
    exemption."""

    model_config = _CONFIG

    id: SystemId
    name: Name
    version: Version
    role: RoleValue
    intended_purpose: Purpose
    annex_iii_point: PointValue | None = None
    art_6_3_exempt: bool = False
    art_6_3_condition: ConditionValue | None = None
    art_6_3_reasoning: Reasoning = ""
    risk_class: RiskValue
    owner: OwnerRef | None = None
    status: StatusValue = Status.DEVELOPMENT.value


class AISystemPatchInput(BaseModel):
    """``PATCH /compliance/ai-systems/{id}``: any of the registration's fields except ``id``;
    the ones sent are changed. ``annex_iii_point``, ``art_6_3_condition`` and ``owner`` may be
    null (none); the others may be left out but not sent as null."""

    model_config = _CONFIG

    name: Name = Field(default=None)
    version: Version = Field(default=None)
    role: RoleValue = Field(default=None)
    intended_purpose: Purpose = Field(default=None)
    annex_iii_point: PointValue | None = None
    art_6_3_exempt: bool = Field(default=None)
    art_6_3_condition: ConditionValue | None = None
    art_6_3_reasoning: Reasoning = Field(default=None)
    risk_class: RiskValue = Field(default=None)
    owner: OwnerRef | None = None
    status: StatusValue = Field(default=None)

    def sent(self) -> dict[str, Any]:
        """The fields present in the body, with their values."""
        return {name: getattr(self, name) for name in self.model_fields_set}


def parse(model: type[BaseModel], data: Any) -> Any:
    """Validate ``data`` against ``model`` (apps.core.api.inputs), naming the fields a
    request may not set."""
    return parse_input(model, data, not_settable=_NOT_SETTABLE)


_NOT_SETTABLE = {
    "id": "The id is chosen at registration and never changes.",
    "created_by": "Set by the registration itself.",
    "created_at": "Set by the registration itself.",
    "updated_at": "Set by each change itself.",
    "ledger_entry_ids": "Set by each change itself.",
}


class AISystemOutput(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    version = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.values)
    intended_purpose = serializers.CharField()
    annex_iii_point = serializers.ChoiceField(choices=AnnexIIIPoint.values, allow_null=True)
    art_6_3_exempt = serializers.BooleanField()
    art_6_3_condition = serializers.ChoiceField(choices=Art63Condition.values, allow_null=True)
    art_6_3_reasoning = serializers.CharField(allow_blank=True)
    risk_class = serializers.ChoiceField(choices=RiskClass.values)
    owner = serializers.CharField(allow_null=True, help_text="user:<id>")
    status = serializers.ChoiceField(choices=Status.values)
    created_by = serializers.CharField(help_text="user:<id> or agent:<key prefix>")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    ledger_entry_ids = serializers.ListField(
        child=serializers.IntegerField(), help_text="seq of each ledger entry of its history"
    )


class AISystemListOutput(serializers.Serializer):
    ai_systems = AISystemOutput(many=True)
    total = serializers.IntegerField()


class AISystemListQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.values, required=False)
    risk_class = serializers.ChoiceField(choices=RiskClass.values, required=False)
    offset = serializers.IntegerField(min_value=0, max_value=10**9, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=500, default=100)
