"""``/responsibility/*``: the original's read routes over our responsibility records
(docs/compat.md, "1.6 Responsibility"). Who may read them is who may read the native
``/responsibility/{decision_id}``: staff with ``view_dashboard``; records are keyed by our decision
id (the original keyed them by the request id)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from rest_framework.response import Response

from apps.compat.base import CompatView, as_uuid, query_params
from apps.compat.errors import CompatError
from apps.decisions import selectors as decisions
from apps.escalations import selectors as escalations
from apps.escalations.api.views import CanView

#: Our actor kinds → the original's ``decision_maker`` words.
MAKERS = {"agent": "AI_SYSTEM", "system": "AI_SYSTEM", "user": "HUMAN_OPERATOR"}


def _iso(value: datetime | None) -> str | None:
    return escalations.rfc3339(value)


def record_out(record) -> dict[str, Any]:
    maker = "AI_SYSTEM" if record.kind == "decision" else MAKERS.get(record.actor_kind, "HUMAN")
    return {
        "record_id": str(record.pk),
        "decision_id": str(record.decision_id),
        "timestamp": _iso(record.created_at),
        "decision_maker": maker,
        "responsible_party": (
            record.user.get_username() if record.user is not None else record.actor_label
        ),
        "role": record.role or record.actor_kind,
        "reasoning": record.reason,
        "responsibility_level": record.level.upper(),
        "kind": record.kind,
        "ai_recommendation": record.ai_recommendation,
        "human_decision": record.human_decision or None,
        "override_ai": record.kind == "override",
        "ledger_entry_id": record.ledger_seq,
    }


class Period(BaseModel):
    start_date: datetime | None = None
    end_date: datetime | None = None


class ReportView(CompatView):
    permission_classes = [CanView]

    def get(self, request):
        period = query_params(request, Period)
        records = list(
            decisions.responsibility_records(
                principal=request.user, since=period.start_date, until=period.end_date
            )
        )
        makers = Counter(record_out(r)["decision_maker"] for r in records)
        levels = Counter(r.level.upper() for r in records)
        automated = sum(1 for r in records if r.kind == "decision")
        overrides = sum(1 for r in records if r.kind == "override")
        return Response(
            {
                "period": {
                    "start": _iso(period.start_date),
                    "end": _iso(period.end_date),
                },
                "total_records": len(records),
                "decisions": automated,
                "by_decision_maker": dict(makers),
                "by_responsibility_level": dict(levels),
                "overrides": overrides,
                "override_rate": round(overrides / automated, 4) if automated else 0.0,
                "pending_reviews": escalations.escalation_list(user=request.user)
                .filter(status__in=["pending", "acknowledged"])
                .count(),
            }
        )


class ChainView(CompatView):
    permission_classes = [CanView]

    def get(self, request, decision_id):
        key = as_uuid(decision_id)
        records = list(
            decisions.responsibility_records(principal=request.user).filter(decision_id=key)
        )
        if not records:
            raise CompatError(404, f"No responsibility records for decision {decision_id}")
        return Response(
            {
                "decision_id": str(key),
                "count": len(records),
                "chain": [record_out(r) for r in records],
            }
        )


class PartyView(CompatView):
    permission_classes = [CanView]

    def get(self, request, party):
        records = decisions.responsibility_records(principal=request.user, party=party)
        rows = [record_out(r) for r in records]
        return Response({"party": party, "count": len(rows), "records": rows})


class OverridesView(CompatView):
    permission_classes = [CanView]

    def get(self, request):
        records = decisions.responsibility_records(principal=request.user, kind="override")
        rows = [record_out(r) for r in records]
        return Response({"count": len(rows), "overrides": rows})


class PendingReviewsView(CompatView):
    permission_classes = [CanView]

    def get(self, request):
        queryset = escalations.escalation_list(user=request.user).filter(
            status__in=["pending", "acknowledged"]
        )
        rows = [
            {
                "decision_id": row["decision_id"],
                "escalation_id": row["id"],
                "status": row["status"],
                "priority": row["priority"],
                "reason": row["reason"],
                "created_at": row["created_at"],
                "sla_deadline": row["sla_deadline"],
            }
            for row in (escalations.escalation_as_dict(e) for e in queryset[:500])
        ]
        return Response({"count": queryset.count(), "pending_reviews": rows})


class LegalView(CompatView):
    permission_classes = [CanView]

    def get(self, request, decision_id):
        decision = decisions.decision_get(principal=request.user, decision_id=as_uuid(decision_id))
        chain = [
            record_out(r)
            for r in decisions.responsibility_records(principal=request.user).filter(
                decision=decision
            )
        ]
        humans = [r for r in chain if r["decision_maker"] == "HUMAN_OPERATOR"]
        accountable = humans[-1] if humans else (chain[-1] if chain else None)
        state = escalations.decision_effective_state(decision)
        return Response(
            {
                "decision_id": str(decision.pk),
                "original_outcome": decision.outcome,
                "effective_outcome": state["outcome"],
                "human_oversight": bool(humans),
                "accountable_party": accountable["responsible_party"] if accountable else None,
                "accountable_role": accountable["role"] if accountable else None,
                "responsibility_chain": chain,
                "ledger_entry_ids": decisions.decision_ledger_seqs(decision=decision),
            }
        )


class StorageStatsView(CompatView):
    permission_classes = [CanView]

    def get(self, request):
        records = decisions.responsibility_records(principal=request.user)
        kinds = Counter(records.values_list("kind", flat=True))
        first = records.first()
        last = records.last()
        return Response(
            {
                "storage_enabled": True,
                "total_records": sum(kinds.values()),
                "by_kind": dict(kinds),
                "oldest_record": _iso(first.created_at) if first else None,
                "newest_record": _iso(last.created_at) if last else None,
            }
        )
