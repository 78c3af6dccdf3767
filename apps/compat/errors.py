"""The original Lexecon's error shape, for compat routes only.

The original answered FastAPI's ``{"detail": ...}``: a string for 4xx errors it raised itself, and
for a request body that failed validation a 422 with a list of ``{loc, msg, type}`` items. Clients
written for it read those, so compat routes answer them; native routes keep ``{"error": {...}}``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from rest_framework.response import Response


class CompatError(Exception):
    """Raise from a compat view to answer ``{"detail": detail}`` with ``status``."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def detail(status: int, detail: Any) -> Response:
    return Response({"detail": detail}, status=status)


def validation_detail(exc: PydanticValidationError) -> list[dict[str, Any]]:
    """FastAPI's 422 list: ``loc`` starts with ``"body"``, then the field path."""
    return [
        {"loc": ["body", *error["loc"]], "msg": error["msg"], "type": error["type"]}
        for error in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


def parse_or_422(model: type[BaseModel], data: Any) -> Any:
    """Validate an original-shaped body; ``CompatError(422, [...])`` when it does not fit."""
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        raise CompatError(422, validation_detail(exc)) from None
