"""The original's forms of the Art. 12 routes our ``apps.retention`` API already serves
(docs/compat.md, "1.4 EU AI Act"). The native views call these when a request is in the
original's form; the work is done by the retention services and selectors, as for ours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone
from pydantic import BaseModel, Field
from rest_framework.response import Response

from apps.compat.base import as_uuid, query_params
from apps.compat.errors import CompatError
from apps.retention import reports, selectors, services
from apps.retention.constants import REQUESTED_BY_MAX_LENGTH

# --- status -------------------------------------------------------------------------------------


def status_fields(status: dict[str, Any]) -> dict[str, Any]:
    """The original's fields of ``article-12/status``, from our status (added beside ours).

    ``expiring_within_30_days`` counts what expires within our expiring window
    (``LEXECON_RETENTION_EXPIRING_DAYS``, 30 by default); nothing is ever ``archived`` here."""
    decisions = status["decisions"]
    per_class = {
        name: sum(counts[state] for state in ("active", "expiring", "legal_hold", "anonymised"))
        for name, counts in decisions.items()
    }
    oldest, newest = selectors.decision_time_range()
    return {
        "total_records": sum(per_class.values()),
        "by_classification": per_class,
        "by_status": {
            "active": sum(c["active"] for c in decisions.values()),
            "expiring": sum(c["expiring"] for c in decisions.values()),
            "legal_hold": sum(c["legal_hold"] for c in decisions.values()),
            "anonymized": sum(c["anonymised"] for c in decisions.values()),
            "archived": 0,
        },
        "expiring_within_30_days": sum(c["expiring"] for c in decisions.values()),
        "legal_holds_active": status["legal_holds"]["active"],
        "oldest_record": selectors.iso(oldest),
        "newest_record": selectors.iso(newest),
    }


# --- regulatory package -------------------------------------------------------------------------


def is_original_package_query(request) -> bool:
    """The original named the period ``start_date``/``end_date`` (both optional); ours
    ``from``/``to`` (both required). A query with neither ``from`` nor ``to`` but with
    ``start_date``, ``end_date`` or ``format`` is the original's; one with no parameter at all
    keeps our answer (400: the period is required)."""
    params = request.query_params
    if "from" in params or "to" in params:
        return False
    return any(name in params for name in ("start_date", "end_date", "format"))


class PackageQuery(BaseModel):
    format: str = "json"
    start_date: datetime | None = None
    end_date: datetime | None = None


def regulatory_package(request) -> Response:
    """json: the package itself; csv / markdown: ``{format, content}``; else 400. Without
    ``end_date`` the period ends now; without ``start_date`` it starts 30 days before its end."""
    query = query_params(request, PackageQuery)
    if query.format not in ("json", "csv", "markdown"):
        raise CompatError(400, f"Unsupported format: {query.format}. Use json, markdown, or csv")
    end = _as_utc(query.end_date) or timezone.now()
    start = _as_utc(query.start_date) or end - timedelta(days=30)
    package = reports.regulatory_package(period_from=start, period_to=end)
    if query.format == "json":
        return Response(package)
    if query.format == "csv":
        return Response({"format": "csv", "content": reports.package_csv(package)})
    return Response({"format": "markdown", "content": reports.package_markdown(package)})


def _as_utc(value: datetime | None) -> datetime | None:
    """The original sent naive ISO times, meaning UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


# --- legal hold ---------------------------------------------------------------------------------


def is_original_hold_request(request) -> bool:
    """The original sent a legal hold as query parameters and no body."""
    return not request.data and "reason" in request.query_params


class HoldQuery(BaseModel):
    hold_id: str | None = Field(default=None, max_length=200)
    reason: str
    requester: str = "system"
    entry_ids: str | None = None


#: Where the original held "everything" (no ``entry_ids``): every record made up to now.
EVERYTHING_FROM = datetime(2000, 1, 1, tzinfo=UTC)


def legal_hold(request) -> Response:
    """``?hold_id=&reason=&requester=&entry_ids=a,b``: a decision_ids hold for the named
    decisions (our ids), or without ``entry_ids`` a time_range hold of everything made until now.
    ``hold_id`` is the caller's label and is kept in ``requested_by``; the hold's id is ours."""
    query = query_params(request, HoldQuery)
    ids = [part.strip() for part in (query.entry_ids or "").split(",") if part.strip()]
    if ids:
        scope = services.HoldScope(
            scope="decision_ids", decision_ids=tuple(str(as_uuid(i)) for i in ids)
        )
    else:
        scope = services.HoldScope(
            scope="time_range", period_from=EVERYTHING_FROM, period_to=timezone.now()
        )
    requested_by = query.requester if not query.hold_id else f"{query.requester} ({query.hold_id})"
    hold = services.legal_hold_place(
        user=request.user,
        scope=scope,
        reason=query.reason,
        requested_by=requested_by[:REQUESTED_BY_MAX_LENGTH],
    )
    return Response(
        {
            **selectors.hold_as_dict(hold),
            "hold_id": str(hold.pk),
            "records_affected": selectors.hold_decisions_covered(hold),
            "status": "applied",  # the original's word; the hold is active (GET legal-hold/{id})
        }
    )
