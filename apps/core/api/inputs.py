"""Pydantic request models answered like DRF serializers: one place that turns a pydantic
validation error into DRF's ``ValidationError`` per field (400 ``validation_error`` in the error
shape), shared by every API view that validates its body with a pydantic model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from rest_framework import serializers

_MESSAGES = {
    "missing": "This field is required.",
    "string_type": "Not a valid string.",
    "string_too_short": "This field may not be blank.",
    "string_too_long": "Ensure this field has no more than {max_length} characters.",
    "int_type": "A valid integer is required.",
    "float_type": "A valid number is required.",
    "finite_number": "A valid number is required.",
    "dict_type": "Expected a dictionary of items.",
    "list_type": "Expected a list of items.",
    "too_long": "Ensure this field has no more than {max_length} elements.",
    "literal_error": "Must be one of {expected}.",
    "greater_than_equal": "Ensure this value is greater than or equal to {ge}.",
    "less_than_equal": "Ensure this value is less than or equal to {le}.",
}


def field_errors(exc: PydanticValidationError) -> dict[str, list[str]]:
    """``{field: [messages]}`` of a pydantic error: a nested problem (``data_classes[3]``,
    ``risk_dimensions.privacy``) is reported under its top-level field, the action rule under
    ``action``, a body that is not an object under ``non_field_errors``."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        kind, location = error["type"], error["loc"]
        if kind == "model_type":
            name, message = "non_field_errors", "Invalid data. Expected a dictionary."
        else:
            name = str(location[0]) if location else kind
            template = _MESSAGES.get(kind)
            message = template.format(**error.get("ctx", {})) if template else error["msg"]
        if message not in errors.setdefault(name, []):
            errors[name].append(message)
    return errors


UNKNOWN_FIELD = "Unknown field: not part of this request."


def parse(
    model: type[BaseModel], data: Any, *, not_settable: Mapping[str, str] | None = None
) -> Any:
    """Validate ``data`` against ``model``; DRF's ``ValidationError`` per field otherwise. A field
    the model does not declare is named as unknown (or with its ``not_settable`` message)."""
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        errors = field_errors(exc)
        for error in exc.errors(include_url=False):
            if error["type"] == "extra_forbidden" and error["loc"]:
                name = str(error["loc"][0])
                errors[name] = [(not_settable or {}).get(name, UNKNOWN_FIELD)]
        raise serializers.ValidationError(errors) from None
