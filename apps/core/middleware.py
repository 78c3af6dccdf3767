"""Request id propagation and the security headers every response carries."""

from __future__ import annotations

import re
import uuid

from apps.core.logging import request_id_var

_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class RequestIdMiddleware:
    """Use a well-formed ``X-Request-ID`` from the client or mint one; echo it on the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # request.headers would parse every META key into a new mapping first (~10 µs).
        supplied = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = supplied if _CLIENT_ID.match(supplied) else uuid.uuid4().hex
        request.request_id = request_id
        # Not reset afterwards: Django logs 4xx/5xx responses after the middleware chain returns,
        # and those records should still carry this id. The next request overwrites it.
        request_id_var.set(request_id)
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


# Swagger UI needs inline styles of its own; everything is served from our origin.
_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; "
    "form-action 'self'"
)


class SecurityHeadersMiddleware:
    """Content-Security-Policy and a no-store cache policy for authenticated pages and API answers."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", _CSP)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=()"
        )
        if not request.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
