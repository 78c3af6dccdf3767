"""Django-level error handlers (the staff home page is ``apps.accounts.views.home``).

API routes answer errors in the JSON error shape (even for unknown routes); the human pages under
``/admin/``, ``/accounts/`` and ``/oversight/`` get small HTML pages. No page ever shows a stack trace.
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.shortcuts import render
from django.template import loader

from apps.core.api.exception_handler import error_response
from apps.core.exceptions import ApplicationError

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
