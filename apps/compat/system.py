"""The original's system routes (LEXECON_API.md §1.1): fields for ``/status``, ``GET /`` for API
clients, ``GET /storage/stats`` and the ``/dashboard`` redirects."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponseRedirect
from rest_framework.response import Response

from apps.accounts import views as account_views
from apps.compat.base import CompatApi, compat_schema
from apps.compat.ledger import CanReadLedger
from apps.core import status_probes
from apps.ledger import selectors as ledger_selectors
from apps.policies import selectors as policy_selectors


def status_fields() -> dict:
    """The original's ``/status`` fields (registered with ``core.status_probes`` at start-up)."""
    active = policy_selectors.active_version()
    terms = len(active.document.get("terms", [])) if active else 0
    return {
        "policy_loaded": active is not None and terms > 0,
        "policies_loaded": policy_selectors.versions_count(),
        "policy_hash": active.version_hash if active else None,
        "ledger_entries": ledger_selectors.ledger_size(),
    }


# The original listed its routes; these are ours that a client of it would look for.
ENDPOINTS = {
    "health": "/health",
    "status": "/status",
    "decide": "/decide",
    "decide_verify": "/decide/verify",
    "policies": "/policies",
    "policies_load": "/policies/load",
    "ledger_entries": "/ledger/entries",
    "ledger_verify": "/ledger/verify",
    "ledger_report": "/ledger/report",
    "storage_stats": "/storage/stats",
    "auth_login": "/auth/login",
    "audit_decisions": "/api/v1/audit/decisions",
    "docs": "/docs",
    "openapi": "/api/schema/",
}


def _wants_json(request) -> bool:
    """An API client: it asks for JSON first, sends an ``Authorization`` header, or accepts
    ``*/*`` alone (curl, requests, httpx) without holding our session cookie. Browsers ask for
    HTML; a request without ``Accept`` is treated as a browser, as before."""
    accept = request.META.get("HTTP_ACCEPT", "").strip().lower()
    if accept.split(",")[0].strip().startswith("application/json"):
        return True
    if request.META.get("HTTP_AUTHORIZATION"):
        return True
    return accept == "*/*" and settings.SESSION_COOKIE_NAME not in request.COOKIES


def root(request):
    """``GET /``: the staff home page (or the sign-in redirect) to browsers, service info to API
    clients. The info is what ``/health`` and the public ``/docs`` already show: no data."""
    if _wants_json(request):
        return ServiceInfoApi.as_view()(request)
    return account_views.home(request)


class ServiceInfoApi(CompatApi):
    authentication_classes: list = []
    permission_classes: list = []
    rate_limit_exempt = False

    @compat_schema
    def get(self, request):
        fields = status_probes.process_fields()
        return Response(
            {
                "service": "Lexecon",
                "description": "Governance decisions for AI agents, a verifiable ledger, and "
                "human oversight.",
                "status": "operational",
                "version": fields["version"],
                "node_id": fields["node_id"],
                "timestamp": fields["timestamp"],
                "endpoints": ENDPOINTS,
            }
        )


class StorageStatsApi(CompatApi):
    """``GET /storage/stats``: the ledger's size, types, time range, database size and integrity
    (the full verification, as the original's ``chain_integrity``)."""

    permission_classes = [CanReadLedger]

    @compat_schema
    def get(self, request):
        first, last = ledger_selectors.entry_timestamp_range()
        return Response(
            {
                "storage_enabled": True,
                "total_entries": ledger_selectors.ledger_size(),
                "entries_by_type": ledger_selectors.entry_type_counts(),
                "oldest_entry": first,
                "newest_entry": last,
                "database_size_bytes": ledger_selectors.database_size_bytes(),
                "database_path": None,  # never disclosed: the DSN holds credentials
                "chain_integrity": ledger_selectors.ledger_verify()["valid"],
            }
        )


def dashboard(request):
    """``/dashboard`` and ``/dashboard/governance``: our dashboard (staff sign-in applies)."""
    return HttpResponseRedirect("/dashboard/")
