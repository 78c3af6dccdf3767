"""One error shape for the whole API: ``{"error": {"code", "message", "details"}}``.

DRF exceptions, Django's ``Http404``/``PermissionDenied``, oversized bodies and our own
``ApplicationError`` tree all end up here. Anything unexpected becomes a generic 500 in the same shape,
logged with the request id, never a stack trace in the body.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

from apps.core.exceptions import ApplicationError
from apps.core.logging import security_logger
from apps.core.ratelimit.client_ip import client_address

logger = logging.getLogger("lexecon.api")

_DRF_CODES: list[tuple[type[drf.APIException], str, str]] = [
    (drf.ParseError, "malformed_request", "The request body could not be parsed."),
    (drf.NotAuthenticated, "not_authenticated", "Authentication credentials were not provided."),
    (drf.AuthenticationFailed, "authentication_failed", "The credentials are not valid."),
    (drf.PermissionDenied, "permission_denied", "You do not have permission to do this."),
    (drf.NotFound, "not_found", "Not found."),
    (drf.MethodNotAllowed, "method_not_allowed", "This method is not allowed here."),
    (drf.NotAcceptable, "not_acceptable", "The requested representation is not available."),
    (drf.UnsupportedMediaType, "unsupported_media_type", "Send the body as application/json."),
    (drf.Throttled, "throttled", "Too many requests."),
    (drf.ValidationError, "validation_error", "The request is not valid."),
]


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The documented error body."""
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(status: int, code: str, message: str, details: Any = None) -> JsonResponse:
    """A plain Django JSON response in the error shape (for views outside DRF)."""
    return JsonResponse(error_body(code, message, details), status=status)


def _drf_details(exc: drf.APIException) -> Any:
    detail = exc.detail
    if isinstance(exc, drf.ValidationError):
        if isinstance(detail, list):
            return {"non_field_errors": [str(item) for item in detail]}
        return _stringify(detail)
    return {}


def _stringify(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _stringify(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_stringify(item) for item in value]
    return str(value)


def error_parts(exc: Exception) -> tuple[int, dict[str, Any], dict[str, str]]:
    """``(status, body, headers)`` of the error shape for any exception (logged when unexpected)."""
    headers: dict[str, str] = {}
    if isinstance(exc, ApplicationError):
        return exc.status, error_body(exc.code, exc.message, exc.details), dict(exc.headers)
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    elif isinstance(exc, OperationalError | InterfaceError):
        logger.exception("database unavailable")
        body = error_body(
            "service_unavailable",
            "The database is unavailable; nothing was decided or written. Retry later.",
        )
        return 503, body, {"Retry-After": "5"}
    elif isinstance(exc, RequestDataTooBig):
        return 413, error_body("payload_too_large", "The request body is too large."), headers
    if isinstance(exc, drf.APIException):
        code, message = "error", "The request failed."
        for klass, klass_code, klass_message in _DRF_CODES:
            if isinstance(exc, klass):
                code, message = klass_code, klass_message
                break
        if not isinstance(exc, drf.ValidationError) and isinstance(exc.detail, str):
            message = str(exc.detail)
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        return exc.status_code, error_body(code, message, _drf_details(exc)), headers
    logger.exception("unhandled error in API view")
    body = error_body("internal_error", "An internal error occurred; nothing was changed.")
    return 500, body, headers


def _log_refusal(request: Any, status: int, code: str) -> None:
    """Authentication failures and authorization denials, with who, what and when (ASVS
    16.2.1, 16.3.2): the principal if known, the client address, the route; never a credential."""
    user = getattr(request, "user", None)
    principal = str(user) if user is not None and user.is_authenticated else "anonymous"
    security_logger.warning(
        "API request refused",
        extra={
            "event": "auth.failed" if status == 401 else "authz.denied",
            "status": status,
            "code": code,
            "principal": principal,
            "client": client_address(request) if request is not None else None,
            "method": getattr(request, "method", None),
            "path": getattr(request, "path", None),
        },
    )


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF ``EXCEPTION_HANDLER``: map every exception to the error shape, roll back the transaction."""
    set_rollback()
    status, body, headers = error_parts(exc)
    if status in (401, 403):
        _log_refusal(context.get("request"), status, body["error"]["code"])
    return Response(body, status=status, headers=headers)
