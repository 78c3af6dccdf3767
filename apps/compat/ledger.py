"""``/ledger/entries``, ``/ledger/verify`` and ``/ledger/report`` in the original's shapes
(LEXECON_API.md §1.3). The native views call :func:`entries_answer` and :func:`verify_answer`;
``/ledger/report`` is the original's own path (:class:`LedgerReportApi`)."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response

from apps.compat.base import CompatApi, compat_schema
from apps.compat.decisions import original_entry
from apps.core.api.permissions import ScopeOrPermission
from apps.ledger import selectors as ledger_selectors
from apps.ledger.entry_types import EntryType

# The original's event types and ours: a filter by either name finds the same entries.
ORIGINAL_EVENT_TYPES = {
    "decision": EntryType.DECISION_MADE.value,
    "policy_loaded": EntryType.POLICY_LOADED.value,
    "genesis": EntryType.GENESIS.value,
}
_NO_SUCH_TYPE = object()


def entry_type_filter(*, entry_type: str | None, event_type: str | None) -> Any:
    """Our ``entry_type`` wins; the original's ``event_type`` may name either vocabulary. A name
    neither knows matches nothing (the original answered an empty list, not an error)."""
    if entry_type or not event_type:
        return entry_type
    name = ORIGINAL_EVENT_TYPES.get(event_type, event_type)
    return name if name in EntryType.values else _NO_SUCH_TYPE


def entries_answer(*, offset: int, limit: int, entry_type: Any, verify: bool) -> dict[str, Any]:
    """Our ``/ledger/entries`` body with the original's names beside ours."""
    if entry_type is _NO_SUCH_TYPE:
        entries, total = [], 0
    else:
        entries, total = ledger_selectors.entries_list(
            offset=offset, limit=limit, entry_type=entry_type
        )
    chain_valid = ledger_selectors.ledger_verify()["valid"] if verify else None
    return {
        "entries": [original_entry(entry) for entry in entries],
        "total": total,
        "offset": offset,
        "limit": limit,
        "chain_valid": chain_valid,
    }


_ORIGINAL_ERRORS = {"hash_mismatch": "Hash mismatch", "broken_link": "Chain break"}


def verify_answer(report: dict[str, Any]) -> dict[str, Any]:
    """The original's fields of ``/ledger/verify`` from our report."""
    valid = report["valid"]
    bad = report.get("first_invalid_seq")
    extra: dict[str, Any] = {
        "chain_intact": valid,
        "entries_verified": report["entries_checked"] if valid or bad is None else bad,
        "chain_head_hash": ledger_selectors.ledger_head_summary()["head_hash"],
    }
    if not valid:
        kind = _ORIGINAL_ERRORS.get(report.get("error_code") or "", "Verification failed")
        extra["error"] = f"{kind} at entry {bad}" if bad is not None else report["message"]
        extra["entry_id"] = str(bad) if bad is not None else None
    return extra


CanReadLedger = ScopeOrPermission.of("ledger:read", "accounts.view_audit_logs")


class LedgerReportApi(CompatApi):
    """``GET /ledger/report``: totals per type, integrity (the full verification), head hash."""

    permission_classes = [CanReadLedger]

    @compat_schema
    def get(self, request):
        report = ledger_selectors.ledger_verify()
        first, last = ledger_selectors.entry_timestamp_range()
        head = ledger_selectors.ledger_head_summary()
        return Response(
            {
                "total_entries": head["size"],
                "integrity_valid": report["valid"],
                "event_type_counts": ledger_selectors.entry_type_counts(),
                "first_entry_timestamp": first,
                "last_entry_timestamp": last,
                "chain_head_hash": head["head_hash"],
            }
        )
