"""What every compat view shares: the original's error shape and who may call.

A compat view is a DRF view like any native one (the same permission classes, rate limits and
request id); it differs in two ways only. Errors are FastAPI's ``{"detail": ...}`` (errors.py),
and besides agent keys and our browser session it accepts the original's ``session_id`` (cookie
or ``Authorization: Bearer``) — a session of ours issued by ``POST /auth/login``, which still
needs the one-time code before any permission check admits it.
"""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from pydantic import ValidationError as PydanticValidationError
from rest_framework import exceptions as drf
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView, set_rollback

from apps.accounts.authentication import AgentKeyAuthentication, StaffSessionAuthentication
from apps.compat.auth.authentication import OriginalSessionAuthentication
from apps.compat.errors import CompatError
from apps.core.api.exception_handler import error_parts

# The original session first: it steps aside for agent keys (``lxk_...``), which the agent key
# authentication then checks (a wrong key is a 401, never a fall-through).
AUTHENTICATION = [
    OriginalSessionAuthentication,
    AgentKeyAuthentication,
    StaffSessionAuthentication,
]


# The original's routes are documented in docs/compat.md; the schema lists them as JSON objects.
def compat_schema(view_method):
    name = view_method.__qualname__.split(".")[0].removesuffix("Api")
    operation_id = "compat_" + "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip(
        "_"
    )
    return extend_schema(
        operation_id=f"{operation_id}_{view_method.__name__}",
        request=OpenApiTypes.OBJECT,
        responses=OpenApiTypes.OBJECT,
        tags=["original Lexecon API"],
    )(view_method)


def detail_parts(exc: Exception) -> tuple[int, Any, dict[str, str]]:
    """``(status, detail, headers)`` for any exception: a ``CompatError`` as raised, everything
    else through our one error mapping (``error_parts``), keeping its status and message."""
    if isinstance(exc, CompatError):
        return exc.status, exc.detail, {}
    if isinstance(exc, drf.ValidationError):
        return 422, _validation_items(exc.detail), {}
    status, body, headers = error_parts(exc)
    return status, body["error"]["message"], headers


def _validation_items(detail: Any, location: tuple = ("body",)) -> list[dict[str, Any]]:
    """A DRF validation error as FastAPI's list of ``{loc, msg, type}``."""
    if isinstance(detail, dict):
        items: list[dict[str, Any]] = []
        for name, value in detail.items():
            where = location if name == "non_field_errors" else (*location, name)
            items.extend(_validation_items(value, where))
        return items
    if isinstance(detail, list):
        return [item for value in detail for item in _validation_items(value, location)]
    return [{"loc": list(location), "msg": str(detail), "type": getattr(detail, "code", "invalid")}]


def detail_response(exc: Exception) -> Response:
    set_rollback()
    status, detail, headers = detail_parts(exc)
    return Response({"detail": detail}, status=status, headers=headers)


class CompatApi(APIView):
    """Base of the views that serve the original's own paths."""

    authentication_classes = AUTHENTICATION

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
            exc.auth_header = self.get_authenticate_header(self.request)  # type: ignore[attr-defined]
        return detail_response(exc)


# --- Areas 1.4-1.6 and 1.8 (compatb): their base view, shared paths, ids, queries -------------


@extend_schema(exclude=True)  # the routes of 1.4-1.6 and 1.8 are documented in docs/compat.md
class CompatView(CompatApi):
    """Base of the views of 1.4-1.6 and 1.8: ``CompatApi``, and a state conflict (our 409:
    already resolved, already escalated …) answers 400 as the original did."""

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        if response.status_code == 409:
            response.status_code = 400
        return response


class FormatIsOurs(DefaultContentNegotiation):
    """``?format=`` names a document's format (json, markdown, text …), not a DRF renderer:
    answers, errors included, are rendered as JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def _original_form_handler(exc: Exception, context: dict[str, Any]) -> Response:
    response = detail_response(exc)
    if response.status_code == 409:
        response.status_code = 400
    return response


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
            return _original_form_handler
        return super().get_exception_handler()  # type: ignore[misc]


def as_uuid(value: Any, *, what: str = "Decision") -> uuid.UUID:
    """Our ids are UUIDs; anything else names nothing we hold (404 in the original's words)."""
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        raise CompatError(404, f"{what} {value} not found") from None


def query_params(request, model) -> Any:
    """Validate query parameters against a pydantic model; FastAPI answered 422 with ``query``."""
    try:
        return model.model_validate(dict(request.query_params.items()))
    except PydanticValidationError as exc:
        raise CompatError(
            422,
            [
                {"loc": ["query", *e["loc"]], "msg": e["msg"], "type": e["type"]}
                for e in exc.errors(include_url=False, include_context=False, include_input=False)
            ],
        ) from None
