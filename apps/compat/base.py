"""What every compat view shares: the original's error shape and who may call.

A compat view is a DRF view like any native one (the same permission classes, rate limits and
request id); it differs in two ways only. Errors are FastAPI's ``{"detail": ...}`` (errors.py),
and besides agent keys and our browser session it accepts the original's ``session_id`` (cookie
or ``Authorization: Bearer``) — a session of ours issued by ``POST /auth/login``, which still
needs the one-time code before any permission check admits it.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions as drf
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
