"""The original dashboard's ``/api/v1/audit/*`` (LEXECON_API.md §1.9), computed from our
decisions and ledger: outcomes are the decisions' own (never "approved" by default), the
week-over-week changes are counted, nothing is a constant. The two export routes
(``/api/v1/audit/export``, ``/exports``) are not served here yet: audit exports are another
branch's work (docs/compat.md)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from rest_framework.response import Response

from apps.compat.base import CompatApi, compat_schema
from apps.compat.errors import CompatError, parse_or_422
from apps.compat.ledger import CanReadLedger
from apps.core.exceptions import NotFound
from apps.decisions import selectors as decision_selectors
from apps.ledger import selectors as ledger_selectors

# Our outcomes and the dashboard's words for them.
OUTCOME_NAMES = {"allowed": "approved", "denied": "denied", "escalated": "escalated"}
OUTCOME_FILTER = {**{v: k for k, v in OUTCOME_NAMES.items()}, **{k: k for k in OUTCOME_NAMES}}


class DecisionsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    search: Annotated[str, StringConstraints(max_length=200)] | None = None
    risk_level: Annotated[str, StringConstraints(max_length=16)] | None = None
    outcome: Literal["approved", "allowed", "denied", "escalated"] | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    verified_only: bool = False
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    offset: Annotated[int, Field(ge=0, le=10**9)] = 0


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _entries_by_seq(decisions: list[Any]) -> dict[int, Any]:
    return {
        entry.seq: entry
        for entry in ledger_selectors.entries_by_seq(seqs=[d.ledger_seq for d in decisions])
    }


def decision_row(decision: Any, entry: Any) -> dict[str, Any]:
    verified = entry is not None and ledger_selectors.entry_hash_valid(entry)
    return {
        "id": str(decision.pk),
        "timestamp": decision.timestamp,
        "action": decision.action,
        "actor": decision.actor,
        "riskLevel": decision.risk_level,
        "riskScore": decision.risk_score,
        "outcome": OUTCOME_NAMES[decision.outcome],
        "signature": decision.ledger_entry_hash,
        "previousHash": entry.prev_hash if entry is not None else None,
        "policyVersion": decision.policy_version or None,
        "verified": verified,
        "appliedPolicies": [reason.get("rule_id") for reason in decision.reasons],
        "context": decision.context,
        "ledgerEntryId": decision.ledger_seq,
    }


class AuditDecisionsApi(CompatApi):
    """``GET /api/v1/audit/decisions``: newest first, the decisions the caller may see."""

    permission_classes = [CanReadLedger]

    @compat_schema
    def get(self, request):
        query = parse_or_422(DecisionsQuery, request.query_params.dict())
        decisions = decision_selectors.decision_list(
            principal=request.user,
            outcome=OUTCOME_FILTER[query.outcome] if query.outcome else None,
            since=_aware(query.start_date),
            until=_aware(query.end_date),
            risk_level=query.risk_level,
            search=query.search,
        )
        total = decisions.count()
        page = list(decisions[query.offset : query.offset + query.limit])
        entries = _entries_by_seq(page)
        rows = [decision_row(d, entries.get(d.ledger_seq)) for d in page]
        if query.verified_only:
            rows = [row for row in rows if row["verified"]]
        return Response(
            {"decisions": rows, "total": total, "offset": query.offset, "limit": query.limit}
        )


class AuditDecisionApi(CompatApi):
    permission_classes = [CanReadLedger]

    @compat_schema
    def get(self, request, decision_id: str):
        try:
            decision = decision_selectors.decision_get(
                principal=request.user, decision_id=uuid.UUID(decision_id)
            )
        except (ValueError, NotFound):  # malformed, unknown or not yours: the same answer
            raise CompatError(404, "Decision not found") from None
        entry = _entries_by_seq([decision]).get(decision.ledger_seq)
        row = decision_row(decision, entry)
        row["verification"] = {
            "signatureValid": row["verified"],
            "chainIntegrityValid": row["verified"],
            "calculatedHash": decision.ledger_entry_hash if row["verified"] else None,
            "recordedHash": decision.ledger_entry_hash,
        }
        row["fullData"] = decision_selectors.decision_detail(decision)
        return Response(row)


def _change(now: int, before: int) -> str | None:
    """Week over week, as the dashboard shows it ("+12%"); None without a week before."""
    if before == 0:
        return None
    percent = round((now - before) * 100 / before)
    return f"{percent:+d}%"


class AuditStatsApi(CompatApi):
    permission_classes = [CanReadLedger]

    @compat_schema
    def get(self, request):
        principal = request.user
        counts = decision_selectors.decision_outcome_counts(principal=principal)
        now = datetime.now(tz=UTC)
        week, last_week = now - timedelta(days=7), now - timedelta(days=14)

        def counted(outcome: str | None, since: datetime, until: datetime) -> int:
            return decision_selectors.decision_list(
                principal=principal, outcome=outcome, since=since, until=until
            ).count()

        return Response(
            {
                "totalDecisions": sum(counts.values()),
                "approvedDecisions": counts["allowed"],
                "deniedDecisions": counts["denied"],
                "escalations": counts["escalated"],
                "totalDecisionsChange": _change(
                    counted(None, week, now), counted(None, last_week, week)
                ),
                "escalationsChange": _change(
                    counted("escalated", week, now), counted("escalated", last_week, week)
                ),
                "ledgerEntries": ledger_selectors.ledger_size(),
                "timestamp": now.isoformat(),
            }
        )


class AuditVerifyApi(CompatApi):
    """``POST /api/v1/audit/verify``: the full chain verification, in the dashboard's words."""

    permission_classes = [CanReadLedger]

    @compat_schema
    def post(self, request):
        report = ledger_selectors.ledger_verify()
        total = report["entries_checked"]
        bad = report["first_invalid_seq"]
        verified = total if report["valid"] else (bad if bad is not None else 0)
        return Response(
            {
                "verified": report["valid"],
                "totalEntries": total,
                "verifiedEntries": verified,
                "failedEntries": total - verified,
                "integrityPercentage": round(verified * 100 / total, 2) if total else 100.0,
                "details": report["message"],
                "timestamp": datetime.now(tz=UTC).isoformat(),
            }
        )
