"""``/compliance/eu-ai-act/audit-packet`` (1.4) and the packet's signature routes (1.5):
``/compliance/verify-signature`` and ``/compliance/public-key`` (docs/compat.md).

The packet is built from live data (decisions, responsibility records, the ledger's own
verification) and signed with RSA-4096 PSS by ``apps.ledger.services.documents`` (ADR 0032);
nothing in it is a fixed "COMPLIANT".
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Literal

from django.http import HttpResponse
from django.utils import timezone
from pydantic import BaseModel
from rest_framework.response import Response

from apps.accounts.permissions import CanReadCompliance
from apps.aisystems import selectors as aisystems
from apps.compat.base import CompatView, FormatIsOurs, query_params
from apps.compat.errors import CompatError
from apps.core.api.permissions import ScopeOrPermission
from apps.decisions import selectors as decisions
from apps.escalations import selectors as escalations
from apps.ledger import selectors as ledger
from apps.ledger.services import documents
from apps.techdoc import selectors as techdoc_selectors
from apps.techdoc import services as techdoc

#: Who may take an audit packet: who may export audit evidence natively.
CanExport = ScopeOrPermission.of("audit:export", "accounts.export_evidence")

WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


class PacketQuery(BaseModel):
    time_window: Literal["24h", "7d", "30d", "all"] = "24h"
    format: Literal["json", "text"] = "json"


def _packet(request, window: str) -> dict[str, Any]:
    now = timezone.now()
    since = now - WINDOWS[window] if window in WINDOWS else None
    decided = decisions.decision_list(principal=request.user, since=since)
    records = decisions.responsibility_records(principal=request.user, since=since)
    human = records.exclude(kind="decision")
    verification = ledger.ledger_verify()
    head = ledger.ledger_head_summary()
    outcomes: dict[str, int] = {}
    for outcome in decided.values_list("outcome", flat=True):
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    pending = (
        escalations.escalation_list(user=request.user)
        .filter(status__in=["pending", "acknowledged"])
        .count()
    )
    by_kind: dict[str, int] = {}
    for kind in records.values_list("kind", flat=True):
        by_kind[kind] = by_kind.get(kind, 0) + 1
    return {
        "audit_packet_version": "1.0",
        "generated_at": escalations.rfc3339(now),
        "time_window": window,
        "compliance_summary": {
            "ledger_integrity": "VERIFIED" if verification["valid"] else "FAILED",
            "ledger_anchored": verification["anchored"],
            "decisions_in_window": sum(outcomes.values()),
            "decisions_by_outcome": outcomes,
            "human_interventions_in_window": human.count(),
            "escalations_open": pending,
        },
        "decision_log": [
            {
                "decision_id": str(d.pk),
                "timestamp": escalations.rfc3339(d.created_at),
                "actor": d.actor,
                "action": d.action,
                "outcome": d.outcome,
                "risk_level": d.risk_level,
                "policy_version": d.policy_version,
                "ledger_entry_id": d.ledger_seq,
            }
            for d in decided[:100]
        ],
        "human_oversight_log": [
            {
                "decision_id": str(r.decision_id),
                "kind": r.kind,
                "who": r.actor_label,
                "role": r.role,
                "ai_recommendation": r.ai_recommendation,
                "human_decision": r.human_decision or None,
                "timestamp": escalations.rfc3339(r.created_at),
                "ledger_entry_id": r.ledger_seq,
            }
            for r in human[:100]
        ],
        "cryptographic_verification": {
            "ledger_valid": verification["valid"],
            "entries_checked": verification["entries_checked"],
            "anchored": verification["anchored"],
            "checkpoint_size": verification["checkpoint_size"],
            "root": verification["root"],
            "message": verification["message"],
            "chain_head": head,
        },
        "responsibility_tracking": {"total_records": sum(by_kind.values()), "by_kind": by_kind},
    }


def _text(packet: dict[str, Any]) -> str:
    summary = packet["compliance_summary"]
    lines = [
        f"Lexecon audit packet {packet['audit_packet_version']}",
        f"Generated: {packet['generated_at']}  Window: {packet['time_window']}",
        f"Ledger integrity: {summary['ledger_integrity']} "
        f"({packet['cryptographic_verification']['message']})",
        f"Decisions: {summary['decisions_in_window']} {summary['decisions_by_outcome']}",
        f"Human interventions: {summary['human_interventions_in_window']}; "
        f"open escalations: {summary['escalations_open']}",
        "",
        "Decisions (newest first):",
        *(
            f"  {d['timestamp']} {d['decision_id']} {d['actor']} {d['action']} -> {d['outcome']}"
            for d in packet["decision_log"]
        ),
    ]
    return "\n".join(lines) + "\n"


class AuditPacketView(CompatView):
    permission_classes = [CanExport]
    content_negotiation_class = FormatIsOurs

    def get(self, request):
        query = query_params(request, PacketQuery)
        packet = _packet(request, query.time_window)
        if query.format == "text":
            return HttpResponse(_text(packet), content_type="text/plain; charset=utf-8")
        packet["signature_info"] = documents.document_sign(packet)
        return Response(packet)


class VerifySignatureView(CompatView):
    permission_classes = [CanReadCompliance]

    def post(self, request):
        if not isinstance(request.data, dict) or "signature_info" not in request.data:
            raise CompatError(400, "Body must be a signed packet with signature_info")
        packet = dict(request.data)
        info = packet.pop("signature_info")
        valid, message = documents.document_verify(packet, info)
        return Response(
            {"valid": valid, "message": message, "timestamp": escalations.rfc3339(timezone.now())}
        )


class PublicKeyView(CompatView):
    permission_classes = [CanReadCompliance]

    def get(self, request):
        return Response(documents.document_public_key())


class Article11Query(BaseModel):
    format: Literal["json", "markdown", "md"] = "json"
    ai_system: str | None = None


class Article11View(CompatView):
    """The original's one-system ``article-11``: our Annex IV document of a registered AI system
    (generated, stored as evidence and ledgered by ``apps.techdoc.services``, like the native
    ``article-11/documentation``). ``ai_system`` may be left out when exactly one is registered."""

    permission_classes = [CanReadCompliance]
    content_negotiation_class = FormatIsOurs

    def get(self, request):
        query = query_params(request, Article11Query)
        if query.format != "json":
            raise CompatError(
                400,
                "Unsupported format: the Annex IV document is generated as json here "
                "(html or pdf from /compliance/eu-ai-act/article-11/documentation)",
            )
        system_id = query.ai_system
        if system_id is None:
            systems = list(aisystems.ai_system_list().values_list("id", flat=True)[:2])
            if len(systems) != 1:
                raise CompatError(
                    400,
                    "Name the AI system: ?ai_system=<id> (GET /compliance/ai-systems lists them)",
                )
            system_id = systems[0]
        generated = techdoc.documentation_generate(
            principal=request.user,
            system_id=system_id,
            fmt="json",
            window=techdoc_selectors.window_of(start=None, end=None),
        )
        return Response(
            {
                "format": "json",
                "content": json.loads(generated.content),
                "evidence_artifact_id": str(generated.record.artifact_id),
                "ledger_entry_id": generated.record.ledger_seq,
            }
        )
