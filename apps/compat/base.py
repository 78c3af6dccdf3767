"""The base view of the compat areas 1.4-1.6 and 1.8: our authentication and permissions, the
original's error shape.

Every error a compat view meets answers ``{"detail": ...}`` with the status our own view would give,
except that a state conflict (our 409) answers 400 as the original did. A body that does not fit
the original's request model is a 422 with FastAPI's ``detail`` list (``errors.parse_or_422``).
"""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView, set_rollback

from apps.compat.errors import CompatError, detail
from apps.core.api.exception_handler import error_parts


def compat_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """``{"detail": ...}`` for every exception of a compat view (the transaction rolls back)."""
    set_rollback()
    if isinstance(exc, CompatError):
        return detail(exc.status, exc.detail)
    status, body, headers = error_parts(exc)
    error = body["error"]
    message = error["message"]
    if error["code"] == "validation_error" and error["details"]:
        message = f"{message} {error['details']}"
    if status == 409:
        status = 400
    return Response({"detail": message}, status=status, headers=headers)


class FormatIsOurs(DefaultContentNegotiation):
    """``?format=`` names a document's format (json, markdown, text …), not a DRF renderer:
    answers, errors included, are rendered as JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


@extend_schema(exclude=True)  # the original's routes are documented in docs/compat.md, not OpenAPI
class CompatView(APIView):
    """An API view answering the original's error shape; subclasses set ``permission_classes``."""

    def get_exception_handler(self):
        return compat_exception_handler


class OriginalFormMixin:
    """For a native view whose path the original shares: a request in the original's form
    (``is_original_form(request)``, decided before authentication) gets the original's error
    shape, refusals included; native requests keep ours."""

    original_form = False

    def is_original_form(self, request) -> bool:
        return False

    def initial(self, request, *args, **kwargs):
        self.original_form = self.is_original_form(request)
        return super().initial(request, *args, **kwargs)  # type: ignore[misc]

    def get_exception_handler(self):
        if self.original_form:
            return compat_exception_handler
        return super().get_exception_handler()  # type: ignore[misc]


def as_uuid(value: Any, *, what: str = "Decision") -> uuid.UUID:
    """Our ids are UUIDs; anything else names nothing we hold (404 in the original's words)."""
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        raise CompatError(404, f"{what} {value} not found") from None


def query_params(request, model) -> Any:
    """Validate query parameters against a pydantic model; FastAPI answered 422 with ``query``."""
    from pydantic import ValidationError

    try:
        return model.model_validate(dict(request.query_params.items()))
    except ValidationError as exc:
        raise CompatError(
            422,
            [
                {"loc": ["query", *e["loc"]], "msg": e["msg"], "type": e["type"]}
                for e in exc.errors(include_url=False, include_context=False, include_input=False)
            ],
        ) from None
