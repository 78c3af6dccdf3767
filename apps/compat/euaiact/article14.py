"""The original's Art. 14 routes (docs/compat.md, "1.4 EU AI Act").

``intervention`` and ``effectiveness`` are paths our ``apps.monitoring`` API serves: its views
call ``intervention`` / ``effectiveness_fields`` here for a request in the original's form.
``verify``, ``evidence-package``, ``escalation`` and ``storage/stats`` are compat routes.
An intervention recorded in the original's form is signed (RSA-4096 PSS, ADR 0032) over its facts,
so ``verify`` can check both that signature and the intervention's ledger entry.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from django.utils import timezone
from pydantic import BaseModel, Field
from rest_framework.response import Response

from apps.accounts.permissions import CanReadCompliance
from apps.compat.base import CompatView, FormatIsOurs, as_uuid, query_params
from apps.compat.errors import CompatError, parse_or_422
from apps.escalations import selectors as escalation_selectors
from apps.escalations import services as escalations
from apps.ledger import selectors as ledger
from apps.ledger.services import documents
from apps.monitoring import selectors as monitoring
from apps.monitoring import services as monitoring_services
from apps.monitoring.periods import Window, period, stamp

# --- POST article-14/intervention (original form) ------------------------------------------------


def is_original_intervention(request) -> bool:
    """The original named no decision and sent its recommendation as an object."""
    body = request.data
    return isinstance(body, dict) and (
        "decision_id" not in body
        or "human_role" in body
        or isinstance(body.get("ai_recommendation"), dict)
    )


class Recommendation(BaseModel):
    confidence: float = Field(ge=0, le=1)
    decision: str | None = None


class InterventionIn(BaseModel):
    intervention_type: str = Field(min_length=1, max_length=64)
    ai_recommendation: Recommendation
    human_decision: dict[str, Any] | str
    human_role: str = Field(min_length=1, max_length=64)
    reason: str
    request_context: dict[str, Any] = Field(default_factory=dict)
    response_time_ms: int | None = Field(default=None, ge=0)


#: The original's words for a verdict → ours.
VERDICTS = {
    "allow": "allowed",
    "allowed": "allowed",
    "approve": "allowed",
    "approved": "allowed",
    "permit": "allowed",
    "deny": "denied",
    "denied": "denied",
    "reject": "denied",
    "rejected": "denied",
    "escalate": "escalated",
    "escalated": "escalated",
    "stop": "stopped",
    "stopped": "stopped",
}


def _verdict(value: Any, *, field: str) -> str | None:
    if isinstance(value, dict):
        value = value.get("decision")
    if value is None or value == "":
        return None
    found = VERDICTS.get(str(value).lower())
    if found is None:
        raise CompatError(400, f"{field}: '{value}' is neither an approval nor a denial")
    return found


def signed_intervention(intervention) -> dict[str, Any]:
    facts = monitoring.intervention_as_dict(intervention)
    return {**facts, "signature_info": documents.document_sign(facts)}


def intervention(request) -> Response:
    """Record the original's intervention through ``intervention_record``. The decision is
    ``request_context.decision_id`` (ours); the role recorded is the signed-in person's own,
    not ``human_role``."""
    body = parse_or_422(InterventionIn, request.data)
    decision_id = body.request_context.get("decision_id")
    if not decision_id:
        raise CompatError(
            400, "Name the decision the intervention is about: request_context.decision_id"
        )
    recommendation = _verdict(body.ai_recommendation.decision, field="ai_recommendation")
    if recommendation in ("escalated", "stopped"):
        raise CompatError(400, "ai_recommendation: the AI recommends allow or deny")
    recorded = monitoring_services.intervention_record(
        user=request.user,
        decision_id=as_uuid(decision_id),
        intervention_type=body.intervention_type,
        reason=body.reason,
        human_decision=_verdict(body.human_decision, field="human_decision"),
        ai_recommendation=recommendation,
        response_time_ms=body.response_time_ms,
    )
    signed = signed_intervention(recorded)
    return Response(
        {
            "status": "success",
            "timestamp": signed["recorded_at"],
            "signature": signed["signature_info"]["signature"],
            "ai_confidence": body.ai_recommendation.confidence,
            **signed,
        }
    )


# --- GET article-14/effectiveness?time_period_days= ------------------------------------------------


def is_original_effectiveness(request) -> bool:
    return "time_period_days" in request.query_params


class EffectivenessQuery(BaseModel):
    time_period_days: int = Field(default=30, ge=1, le=3660)


def effectiveness(request) -> Response:
    """Our effectiveness report over the last ``time_period_days`` with the original's fields
    beside ours (counts only; the original's fixed thresholds are not copied: our rubber-stamp
    indicator and SLA figures are in the report)."""
    days = query_params(request, EffectivenessQuery).time_period_days
    now = timezone.now()
    window = period(None, None, default_days=days, now=now)
    report = monitoring.art14_effectiveness(ai_system=None, window=window)
    verdicts = report["override_rate"]
    roles = Counter(
        monitoring.interventions_visible(principal=request.user, window=window).values_list(
            "role", flat=True
        )
    )
    rate = verdicts["rate"]
    return Response(
        {
            **report,
            "article": "Article 14 - Human Oversight Effectiveness",
            "period_days": days,
            "period_start": stamp(window.start),
            "period_end": stamp(window.end),
            "total_interventions": report["interventions"]["total"],
            "intervention_breakdown": {
                "by_type": report["interventions"]["by_type"],
                "by_role": dict(roles),
            },
            "effectiveness_metrics": {
                "total_overrides": verdicts["differing_from_ai"],
                "total_approvals": verdicts["human_verdicts"] - verdicts["differing_from_ai"],
                "override_rate_percent": round(rate * 100, 2) if rate is not None else 0.0,
            },
        }
    )


# --- POST article-14/verify ----------------------------------------------------------------------


class VerifyIn(BaseModel):
    intervention_id: str = Field(min_length=1)
    signature_info: dict[str, Any] | None = None


class VerifyView(CompatView):
    """Is this intervention on the ledger as recorded, and (when a ``signature_info`` is sent)
    is that signature ours over its facts? Writes nothing."""

    permission_classes = [CanReadCompliance]

    def post(self, request):
        body = parse_or_422(VerifyIn, request.data)
        found = monitoring.intervention_get(
            principal=request.user,
            intervention_id=as_uuid(body.intervention_id, what="Intervention"),
        )
        facts = monitoring.intervention_as_dict(found)
        entry = ledger.entry_as_dict(ledger.entry_get(seq=found.ledger_seq))
        payload = entry["payload"]
        on_ledger = entry["entry_type"] == "intervention.recorded" and all(
            payload.get(name) == facts[name]
            for name in (
                "intervention_id",
                "decision_id",
                "intervention_type",
                "ai_recommendation",
                "human_decision",
                "role",
            )
        )
        signature_valid = None
        message = "intervention is on the ledger" if on_ledger else "ledger entry does not match"
        if body.signature_info is not None:
            signature_valid, message = documents.document_verify(facts, body.signature_info)
        return Response(
            {
                "verified": on_ledger and signature_valid is not False,
                "intervention_id": facts["intervention_id"],
                "ledger_entry_id": found.ledger_seq,
                "ledger_entry_hash": entry.get("entry_hash"),
                "on_ledger": on_ledger,
                "signature_valid": signature_valid,
                "message": message,
            }
        )


# --- GET article-14/evidence-package -------------------------------------------------------------


class PackageQuery(BaseModel):
    format: Literal["json", "markdown"] = "json"
    start_date: datetime | None = None
    end_date: datetime | None = None


def _utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class EvidencePackageView(CompatView):
    permission_classes = [CanReadCompliance]
    content_negotiation_class = FormatIsOurs

    def get(self, request):
        if request.query_params.get("format") not in (None, "json", "markdown"):
            raise CompatError(400, "Unsupported format. Use json or markdown")
        query = query_params(request, PackageQuery)
        end = _utc(query.end_date) or timezone.now()
        start = _utc(query.start_date) or end - timedelta(days=3650)
        if start >= end:
            raise CompatError(400, "start_date must be before end_date")
        window = Window(start=start, end=end)
        rows = [
            monitoring.intervention_as_dict(i)
            for i in monitoring.interventions_visible(principal=request.user, window=window)
        ]
        package: dict[str, Any] = {
            "package_type": "EU_AI_ACT_ARTICLE_14_OVERSIGHT_EVIDENCE",
            "generated_at": stamp(timezone.now()),
            "period": {"start": stamp(window.start), "end": stamp(window.end)},
            "summary": {
                "total_interventions": len(rows),
                "by_type": dict(Counter(r["intervention_type"] for r in rows)),
                "all_on_ledger": all(r["ledger_entry_id"] for r in rows),
            },
            "interventions": rows,
            "effectiveness": monitoring.art14_effectiveness(ai_system=None, window=window),
        }
        if query.format == "markdown":
            return Response({"format": "markdown", "content": _markdown(package)})
        package["signature_info"] = documents.document_sign(package)
        return Response(package)


def _markdown(package: dict[str, Any]) -> str:
    lines = [
        "# EU AI Act Article 14: human oversight evidence",
        "",
        f"Period: {package['period']['start']} to {package['period']['end']}",
        f"Interventions: {package['summary']['total_interventions']}",
        "",
        "| recorded at | decision | type | AI | human | role | ledger entry |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {r['recorded_at']} | {r['decision_id']} | {r['intervention_type']} | "
            f"{r['ai_recommendation']} | {r['human_decision']} | {r['role']} | "
            f"{r['ledger_entry_id']} |"
            for r in package["interventions"]
        ),
    ]
    return "\n".join(lines) + "\n"


# --- POST article-14/escalation?decision_class=&current_role= -----------------------------------


class EscalationQuery(BaseModel):
    decision_class: str = Field(min_length=1)
    current_role: str = Field(min_length=1)


PRIORITIES = ("critical", "high", "medium", "low")


class EscalationView(CompatView):
    """Our escalation rules for a priority (the original's ``decision_class``): who may
    resolve, how many approvers, the SLA. Unknown class or role: 200 with ``error``, as the
    original answered."""

    permission_classes = [CanReadCompliance]

    def post(self, request):
        query = query_params(request, EscalationQuery)
        if query.decision_class not in PRIORITIES:
            return Response(
                {
                    "error": f"No escalation path for {query.decision_class}: "
                    f"use a priority, one of {list(PRIORITIES)}"
                }
            )
        path = escalation_selectors.escalation_path(priority=query.decision_class)
        chain = path["roles_that_may_resolve"]
        if query.current_role not in chain:
            return Response(
                {
                    "error": f"Role {query.current_role} not in escalation chain for "
                    f"{query.decision_class}",
                    "full_escalation_chain": chain,
                }
            )
        index = chain.index(query.current_role)
        return Response(
            {
                "decision_class": query.decision_class,
                "current_role": query.current_role,
                "can_approve": True,
                "requires_approval_from": chain,
                "approvals_required": path["approvals_required"],
                "next_escalation": chain[index + 1] if index + 1 < len(chain) else None,
                "max_response_time_minutes": int(
                    escalations.sla_for(query.decision_class).total_seconds() // 60
                ),
                "full_escalation_chain": chain,
            }
        )


# --- GET article-14/storage/stats ----------------------------------------------------------------


class StorageStatsView(CompatView):
    permission_classes = [CanReadCompliance]

    def get(self, request):
        rows = monitoring.interventions_visible(principal=request.user)
        first, last = rows.first(), rows.last()
        return Response(
            {
                "storage_enabled": True,
                "total_interventions": rows.count(),
                "by_type": dict(Counter(rows.values_list("intervention_type", flat=True))),
                "oldest_intervention": stamp(first.created_at) if first else None,
                "newest_intervention": stamp(last.created_at) if last else None,
            }
        )
