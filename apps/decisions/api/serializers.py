"""Request bodies of the decision endpoints, with clear limits (docs/api.md lists them).

``POST /decide`` is declared once, as the pydantic model :class:`DecideInput`: it validates every
body (strict JSON types, limits, the action rule) and drf-spectacular publishes its JSON Schema as
the OpenAPI request schema. The other endpoints use DRF serializers.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticCustomError
from rest_framework import serializers

from apps.core.api.inputs import field_errors
from apps.risk import scoring

MAX_CONTEXT_DEPTH = 8
MAX_CONTEXT_KEYS = 256
MAX_STRING = 4096
MAX_LIST = 256


def context_problem(value: dict[str, Any]) -> str | None:
    """What makes ``context`` unacceptable, or None: depth ≤ 8, ≤ 256 keys in all, keys ≤ 200
    characters, strings ≤ 4096 characters without NUL, lists ≤ 256 items, finite numbers."""
    keys = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > MAX_CONTEXT_DEPTH:
                return f"context nests deeper than {MAX_CONTEXT_DEPTH}"
            keys += len(item)
            if keys > MAX_CONTEXT_KEYS:
                return f"context has more than {MAX_CONTEXT_KEYS} keys"
            for key, child in item.items():
                if len(key) > 200 or "\x00" in key:
                    return "context keys are at most 200 characters"
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            if depth > MAX_CONTEXT_DEPTH:
                return f"context nests deeper than {MAX_CONTEXT_DEPTH}"
            if len(item) > MAX_LIST:
                return f"context lists hold at most {MAX_LIST} items"
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            if len(item) > MAX_STRING or "\x00" in item:
                return f"context strings are at most {MAX_STRING} characters, without NUL"
        elif isinstance(item, float) and not math.isfinite(item):
            return "context numbers must be finite"
    return None


def _refuse(code: str, message: str) -> PydanticCustomError:
    # A message is a template to pydantic: our messages hold no braces except the list of names.
    return PydanticCustomError(code, message.replace("{", "{{").replace("}", "}}"))


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise _refuse("null_character", "Null characters are not allowed.")
    return value


def _context(value: dict[str, Any]) -> dict[str, Any]:
    problem = context_problem(value)
    if problem:
        raise _refuse("context_limits", problem)
    return value


def _known_dimensions(value: dict[str, float]) -> dict[str, float]:
    unknown = sorted(set(value) - set(scoring.DIMENSIONS))
    if unknown:
        raise _refuse("unknown_dimensions", f"unknown dimensions {unknown}")
    return value


def _whole_number(value: Any) -> Any:
    """JSON has one number type: ``3.0`` is the integer 3. Strings and booleans stay refused."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Length limits first (on the trimmed string), then the NUL check.
Name = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_no_nul)]
OptionalName = Annotated[str, StringConstraints(max_length=200), AfterValidator(_no_nul)]
Resource = Annotated[str, StringConstraints(min_length=1, max_length=500), AfterValidator(_no_nul)]
DataClass = Annotated[str, StringConstraints(min_length=1, max_length=100), AfterValidator(_no_nul)]
Intent = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_no_nul)]


class DecideInput(BaseModel):
    """The body of ``POST /decide``: ``{actor, action, resource?, context?, data_classes?,
    ai_system?, request_id?}`` plus the original Lexecon fields (``proposed_action`` as action,
    ``tool``, ``user_intent``, ``risk_level`` 1-5, ``policy_mode``) and ``risk_dimensions``.

    JSON types are part of the contract: a number where a string is expected is refused, never
    converted (``strict``). Strings are trimmed before their limits apply; fields not declared
    here are ignored. Optional fields may be left out but not sent as ``null`` (except
    ``resource``)."""

    model_config = ConfigDict(strict=True, str_strip_whitespace=True, frozen=True)

    actor: Name
    action: Name = Field(default=None, description="required unless proposed_action is sent")
    proposed_action: Name = Field(default=None, description="Lexecon alias of action")
    resource: Resource | None = None
    context: Annotated[
        dict[str, Any],
        AfterValidator(_context),
        Field(
            description=f"nested at most {MAX_CONTEXT_DEPTH} levels, at most {MAX_CONTEXT_KEYS} "
            f"keys in all, lists of at most {MAX_LIST} items, keys of at most 200 and strings "
            f"of at most {MAX_STRING} characters without NUL, finite numbers"
        ),
    ] = Field(default_factory=dict)
    data_classes: Annotated[list[DataClass], Field(max_length=50)] = Field(default_factory=list)
    ai_system: OptionalName = ""
    request_id: OptionalName = ""
    tool: OptionalName = Field(default=None)
    user_intent: Intent = Field(default=None)
    risk_level: Annotated[int, Field(ge=1, le=5), BeforeValidator(_whole_number)] = Field(
        default=None
    )
    policy_mode: Literal["permissive", "strict", "paranoid"] = Field(
        default=None, description="can only make the active policy stricter"
    )
    risk_dimensions: Annotated[
        dict[str, Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]],
        AfterValidator(_known_dimensions),
        Field(description="raise (never lower) risk dimensions: " + ", ".join(scoring.DIMENSIONS)),
    ] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_action(self) -> DecideInput:
        if self.action and self.proposed_action and self.action != self.proposed_action:
            raise _refuse("action", "action and proposed_action differ; send one of them")
        if not (self.action or self.proposed_action):
            raise _refuse("action", "This field is required.")
        return self

    @property
    def requested_action(self) -> str:
        """``action``, or its Lexecon alias ``proposed_action``."""
        return self.action or self.proposed_action


# pydantic's error types → the messages of the error shape's ``details``


def decide_input(data: Any) -> DecideInput:
    """Validate a ``/decide`` body. Raises DRF's ``ValidationError`` with the problems per field
    (``{"actor": ["Not a valid string."]}``), which the API answers as 400 ``validation_error``."""
    try:
        return DecideInput.model_validate(data)
    except PydanticValidationError as exc:
        raise serializers.ValidationError(field_errors(exc)) from None


class Identifier(serializers.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 200)
        kwargs.setdefault("trim_whitespace", True)
        super().__init__(**kwargs)


class VerifyInput(serializers.Serializer):
    capability_token = serializers.CharField(max_length=4096, required=False, trim_whitespace=False)
    decision_id = serializers.UUIDField(required=False)
    actor = Identifier(required=False)
    action = Identifier(required=False)
    resource = serializers.CharField(max_length=500, required=False, allow_null=True)

    def validate(self, attrs):
        if bool(attrs.get("capability_token")) == bool(attrs.get("decision_id")):
            raise serializers.ValidationError(
                "Send exactly one of capability_token or decision_id."
            )
        return attrs


class RevokeInput(serializers.Serializer):
    capability_token = serializers.CharField(max_length=4096, required=False, trim_whitespace=False)
    jti = serializers.CharField(max_length=64, required=False)
    reason = serializers.CharField(max_length=500)

    def validate(self, attrs):
        if bool(attrs.get("capability_token")) == bool(attrs.get("jti")):
            raise serializers.ValidationError("Send exactly one of capability_token or jti.")
        return attrs
