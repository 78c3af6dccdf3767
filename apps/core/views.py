"""Django-level error handlers (the staff home page is ``apps.accounts.views.home``).

API routes answer errors in the JSON error shape (even for unknown routes); the human pages under
``/admin/``, ``/accounts/`` and ``/oversight/`` get small HTML pages. No page ever shows a stack trace.
"""

from __future__ import annotations

import hmac
import ipaddress
import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.shortcuts import render
from django.template import loader
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from apps.core import metrics as core_metrics
from apps.core.api.exception_handler import error_response
from apps.core.exceptions import ApplicationError
from apps.core.ratelimit.client_ip import client_address

HTML_PREFIXES = ("/admin/", "/accounts/", "/oversight/", "/static/")


def _wants_html(request) -> bool:
    return request.path == "/" or request.path.startswith(HTML_PREFIXES)


def handler400(request, exception=None):
    if _wants_html(request):
        return render(request, "core/error.html", {"title": "Bad request"}, status=400)
    return error_response(400, "bad_request", "The request is not valid.")


def handler403(request, exception=None):
    if _wants_html(request):
        return render(request, "core/error.html", {"title": "Access denied"}, status=403)
    return error_response(403, "permission_denied", "You do not have permission to do this.")


def handler404(request, exception=None):
    if _wants_html(request):
        return render(request, "core/error.html", {"title": "Page not found"}, status=404)
    return error_response(404, "not_found", f"No route matches {request.path!r}.")


def handler500(request):
    # Django calls this inside the ``except`` of the failed request, so the exception is at hand.
    if isinstance(sys.exception(), OperationalError | InterfaceError):
        return _database_unavailable(request)
    if _wants_html(request):
        return render(request, "core/error.html", {"title": "Something went wrong"}, status=500)
    return error_response(500, "internal_error", "An internal error occurred; nothing was changed.")


def _database_unavailable(request):
    """503 with Retry-After, without touching the database again: the page is rendered with no
    request context (the signed-in user would be read from the database), the API answer is the
    same error shape its views give (``apps.core.api.exception_handler``)."""
    if _wants_html(request):
        page = loader.render_to_string("core/unavailable.html")
        response = HttpResponse(page, status=503)
    else:
        response = error_response(
            503,
            "service_unavailable",
            "The database is unavailable; nothing was decided or written. Retry later.",
        )
    response["Retry-After"] = "5"
    return response


_REFUSAL_PAGES = {
    429: ("Too many requests", "Please wait {retry_after} seconds, then try again."),
    503: ("Temporarily unavailable", "Nothing was changed. Please try again in a few seconds."),
}


def refusal_response(request, error: ApplicationError) -> HttpResponse:
    """A request refused before its view (rate limits): the error shape on API routes, a small
    page on the human ones; with the error's headers (``Retry-After``). The page says nothing
    about why beyond the status, so a refused sign-in reveals nothing about the account."""
    if _wants_html(request):
        title, message = _REFUSAL_PAGES.get(error.status, ("Request refused", ""))
        retry_after = error.headers.get("Retry-After", "a few")
        response = render(
            request,
            "core/refused.html",
            {"title": title, "message": message.format(retry_after=retry_after)},
            status=error.status,
        )
    else:
        response = error_response(error.status, error.code, error.message, error.details)
    for name, value in error.headers.items():
        response[name] = value
    return response


def csrf_failure(request, reason=""):
    if _wants_html(request):
        return render(
            request, "core/error.html", {"title": "Form expired, please retry"}, status=403
        )
    return error_response(403, "csrf_failed", "CSRF verification failed.")


def metrics(request):
    """``GET /metrics``: Prometheus text format (ADR 0033).

    Open to a bearer token equal to ``LEXECON_METRICS_TOKEN`` or to a client address inside
    ``LEXECON_METRICS_ALLOWED_NETWORKS`` (the address as the rate limits see it, so behind a
    ``LEXECON_TRUSTED_PROXIES`` proxy it is the real client's). Anyone else gets 401 with
    ``WWW-Authenticate: Bearer`` and learns nothing about the figures."""
    if not _metrics_allowed(request):
        response = error_response(
            401, "not_authenticated", "Metrics need a bearer token or an allowed address."
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body = generate_latest(core_metrics.scrape_registry())
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


def _metrics_allowed(request) -> bool:
    token = settings.LEXECON_METRICS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header[len("Bearer ") :].encode(), token.encode())
    address = client_address(request)
    if address is None:
        return False
    parsed = ipaddress.ip_address(address)
    return any(
        parsed in ipaddress.ip_network(network, strict=False)
        for network in settings.LEXECON_METRICS_ALLOWED_NETWORKS
    )
