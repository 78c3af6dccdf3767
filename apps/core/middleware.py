"""Request id propagation, the security headers every response carries, and agent routing."""

from __future__ import annotations

import functools
import re
import uuid

from django.conf import settings
from django.urls import Resolver404, ResolverMatch, resolve

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


class AgentRouteMiddleware:
    """Route agent calls to views that take them without the browser middleware.

    Sits after the middleware every response needs (metrics, request id, security headers) and
    before the browser-only ones (static files, sessions, CSRF, staff authentication, OTP,
    messages, lockout), which have nothing to do for a request authenticated by an agent key and
    cost about a fifth of a ``/decide`` call's CPU. A request qualifies when it carries an
    ``Authorization`` header and its URL resolves to a class-based view that declares
    ``agent_route = True`` (``DecideApi``); it is answered by that same view, which authenticates
    the key itself (DRF: a present but wrong header is a 401, never a session fall-through). This
    is routing only: no check, parsing or answer of its own.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.META.get("HTTP_AUTHORIZATION"):
            match = _agent_route(settings.ROOT_URLCONF, request.path_info)
            if match is not None:
                request.resolver_match = match
                response = match.func(request, *match.args, **match.kwargs)
                response.render()
                # What XFrameOptionsMiddleware and CommonMiddleware, further down, would add.
                # With a length the server sends the body as it is, not chunked.
                response.headers.setdefault("X-Frame-Options", settings.X_FRAME_OPTIONS)
                if not response.has_header("Content-Length"):
                    response.headers["Content-Length"] = str(len(response.content))
                return response
        return self.get_response(request)


@functools.lru_cache(maxsize=256)
def _agent_route(urlconf: str, path: str) -> ResolverMatch | None:
    """The URL match of ``path`` if its view takes agent calls directly (a bounded cache: a
    URLconf does not change while the process runs)."""
    try:
        match = resolve(path, urlconf)
    except Resolver404:
        return None
    return match if getattr(getattr(match.func, "view_class", None), "agent_route", False) else None
