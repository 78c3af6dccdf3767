"""Reads for audit exports: which rows and which ledger entries an export covers, and who may see
an export.

An export is made *against* one ledger size (``Selection.tree_size``, the chain head when it
starts): every row and every ledger ``seq`` it carries is below that size, so the file, the root it
names and the package's proofs describe the same tree whatever is appended meanwhile.

Everything here streams: rows and seqs come from server-side cursors (``.iterator(chunk_size=…)``,
a named cursor on PostgreSQL) and are yielded one at a time, so an export of a million entries
holds one chunk in memory. The seqs of a scope made of several record types are merged in
ascending order with ``heapq.merge`` from one ascending query per source.

Free text written by people (escalation reasons and notes, override justifications, decision
contexts) is not exported in clear: rows carry its salted commitment, as the ledger does; the
oversight pages show the text to those allowed to read it.
"""

from __future__ import annotations

import heapq
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from apps.audit.constants import CHUNK_SIZE, SCOPE_RECORDS, Format, RecordType, Scope, Status
from apps.audit.models import Export
from apps.compliance import selectors as compliance
from apps.compliance.models import ControlEvidence, Framework
from apps.core.exceptions import NotFound
from apps.decisions.models import Decision
from apps.escalations.models import Escalation, EscalationApproval, EscalationAssignment, Override
from apps.evidence.models import EvidenceArtifact, EvidenceControlLink, EvidenceDecisionLink
from apps.ledger.models import LedgerEntry
from apps.policies.models import PolicyActivation, PolicyVersion

# --- Who may see an export ------------------------------------------------------------------------


def _key_id(principal: Any) -> str | None:
    """The agent key id of an agent principal (``AgentPrincipal.key_id``), else None."""
    key_id = getattr(principal, "key_id", None)
    return str(key_id) if key_id else None


def exports_visible_to(principal: Any) -> QuerySet[Export]:
    """An agent key sees the exports it requested; staff with ``accounts.export_evidence`` see
    every export; anyone else none."""
    key_id = _key_id(principal)
    if key_id is not None:
        return Export.objects.filter(requested_by_key_id=key_id)
    if getattr(principal, "is_authenticated", False) and principal.has_perm(
        "accounts.export_evidence"
    ):
        return Export.objects.all()
    return Export.objects.none()


def export_get(*, principal: Any, export_id: Any) -> Export:
    """One export the principal may see; NotFound otherwise (existence is not revealed)."""
    try:
        pk = uuid.UUID(str(export_id))
    except ValueError as exc:
        raise NotFound(f"No export {str(export_id)[:80]!r}.") from exc
    export = exports_visible_to(principal).filter(pk=pk).first()
    if export is None:
        raise NotFound(f"No export {export_id!r}.")
    return export


def export_list(
    *, principal: Any, limit: int = 100, offset: int = 0, status: str | None = None
) -> tuple[list[Export], int]:
    """The exports the principal may see (of one ``status`` if given), newest first, and how
    many there are."""
    queryset = exports_visible_to(principal).order_by("-created_at", "-id")
    if status is not None:
        queryset = queryset.filter(status=status)
    return list(queryset[offset : offset + limit]), queryset.count()


def export_statistics(*, principal: Any) -> dict[str, Any]:
    """Counts over the exports the principal may see: in all, per status and per format, and
    the rows and bytes of the finished ones."""
    visible = exports_visible_to(principal).order_by()
    by_status = dict(visible.values_list("status").annotate(n=Count("pk")))
    by_format = dict(visible.values_list("format").annotate(n=Count("pk")))
    done = visible.filter(status=Status.DONE).aggregate(rows=Sum("rows"), bytes=Sum("bytes"))
    return {
        "total": sum(by_status.values()),
        "by_status": {name: int(by_status.get(name, 0)) for name in Status.values},
        "by_format": {name: int(by_format.get(name, 0)) for name in Format.values},
        "rows_exported": int(done["rows"] or 0),
        "bytes_exported": int(done["bytes"] or 0),
    }


def rfc3339(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def export_as_dict(export: Export) -> dict[str, Any]:
    """The status document of ``GET /audit/status/{id}`` (and each item of ``/audit/exports``)."""
    data: dict[str, Any] = {
        "export_id": str(export.pk),
        "scope": export.scope,
        "format": export.format,
        "from": rfc3339(export.period_from),
        "to": rfc3339(export.period_to),
        "ai_system": export.ai_system or None,
        "framework": export.framework or None,
        "requested_by": export.requested_by,
        "status": export.status,
        "progress": round(export.progress, 4),
        "rows": export.rows,
        "bytes": export.bytes,
        "sha256": export.sha256 or None,
        "ledger_seq": export.ledger_seq,
        "created_at": rfc3339(export.created_at),
        "finished_at": rfc3339(export.finished_at),
        "file_deleted_at": rfc3339(export.file_deleted_at),
        "status_url": f"/audit/status/{export.pk}",
        "download_url": f"/audit/download/{export.pk}",
    }
    if export.error:
        data["error"] = export.error
    return data


def exports_due_for_deletion(*, before: datetime) -> QuerySet[Export]:
    """Finished exports whose file is still kept and that finished before ``before``."""
    return Export.objects.filter(finished_at__lt=before, file_deleted_at__isnull=True).exclude(
        file_name=""
    )


# --- What an export covers -------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """What one export covers: its scope and filters, and the ledger size it is made against."""

    scope: str
    tree_size: int
    period_from: datetime | None = None
    period_to: datetime | None = None
    ai_system: str = ""
    framework: str = ""

    @classmethod
    def of(cls, export: Export, *, tree_size: int) -> Selection:
        return cls(
            scope=export.scope,
            tree_size=tree_size,
            period_from=export.period_from,
            period_to=export.period_to,
            ai_system=export.ai_system,
            framework=export.framework,
        )

    @property
    def record_types(self) -> tuple[str, ...]:
        return SCOPE_RECORDS[self.scope]

    def period(self, field: str) -> Q:
        """The period filter on a datetime field (both ends inclusive)."""
        q = Q()
        if self.period_from is not None:
            q &= Q(**{f"{field}__gte": self.period_from})
        if self.period_to is not None:
            q &= Q(**{f"{field}__lte": self.period_to})
        return q

    @property
    def whole_ledger(self) -> bool:
        """Whether the entries in scope are simply every entry of the period."""
        return self.scope == Scope.LEDGER or (self.scope == Scope.ALL and not self.ai_system)


def _ledger_time(value: datetime) -> str:
    """A bound in the ledger's timestamp format (``…T12:00:00.000000Z``; compares as text)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _stream(queryset: QuerySet, *fields: str) -> Iterator[tuple]:
    return queryset.values_list(*fields).iterator(chunk_size=CHUNK_SIZE)


def _stream_flat(queryset: QuerySet, field: str) -> Iterator[Any]:
    return queryset.values_list(field, flat=True).iterator(chunk_size=CHUNK_SIZE)


# Querysets of each record type in scope.


def decisions_in(sel: Selection) -> QuerySet[Decision]:
    queryset = Decision.objects.filter(sel.period("created_at"), ledger_seq__lt=sel.tree_size)
    if sel.ai_system:
        queryset = queryset.filter(ai_system=sel.ai_system)
    return queryset.order_by("ledger_seq")


def escalations_in(sel: Selection) -> QuerySet[Escalation]:
    queryset = Escalation.objects.filter(
        sel.period("created_at"),
        Q(created_ledger_seq__lt=sel.tree_size) | Q(created_ledger_seq__isnull=True),
        decision__ledger_seq__lt=sel.tree_size,
    )
    if sel.ai_system:
        queryset = queryset.filter(decision__ai_system=sel.ai_system)
    return queryset.order_by("created_at", "id")


def overrides_in(sel: Selection) -> QuerySet[Override]:
    queryset = Override.objects.filter(sel.period("created_at"), ledger_seq__lt=sel.tree_size)
    if sel.ai_system:
        queryset = queryset.filter(decision__ai_system=sel.ai_system)
    return queryset.order_by("ledger_seq")


def policies_in(sel: Selection) -> QuerySet[PolicyVersion]:
    return PolicyVersion.objects.filter(
        sel.period("created_at"),
        Q(ledger_seq__lt=sel.tree_size) | Q(ledger_seq__isnull=True),
    ).order_by("created_at", "id")


def evidence_in(sel: Selection) -> QuerySet[EvidenceArtifact]:
    queryset = EvidenceArtifact.objects.filter(
        sel.period("created_at"), ledger_seq__lt=sel.tree_size
    )
    if sel.scope == Scope.FRAMEWORK:
        linked = EvidenceControlLink.objects.filter(
            framework=sel.framework, ledger_seq__lt=sel.tree_size
        ).values("artifact_id")
        queryset = queryset.filter(id__in=linked)
    return queryset.order_by("ledger_seq")


def ledger_in(sel: Selection) -> QuerySet[LedgerEntry]:
    """Every entry of the period (the ``ledger`` scope, and ``all`` without an AI system)."""
    queryset = LedgerEntry.objects.filter(seq__lt=sel.tree_size)
    if sel.period_from is not None:
        queryset = queryset.filter(timestamp__gte=_ledger_time(sel.period_from))
    if sel.period_to is not None:
        queryset = queryset.filter(timestamp__lte=_ledger_time(sel.period_to))
    return queryset.order_by("seq")


def framework_get(sel: Selection) -> Framework:
    framework = Framework.objects.filter(pk=sel.framework).first()
    if framework is None:
        raise NotFound(f"No framework {sel.framework!r}.")
    return framework


# Columns and rows of each record type.


def _columns(*items: str | tuple[str, str]) -> tuple[tuple[str, str], ...]:
    """``(column, model field)`` pairs; a bare name is both."""
    return tuple((item, item) if isinstance(item, str) else item for item in items)


#: The columns of the record types read straight from their tables, each with the field it reads.
SOURCES: dict[str, tuple[tuple[str, str], ...]] = {
    RecordType.DECISIONS: _columns(
        ("decision_id", "id"),
        "created_at",
        ("agent", "agent_key__prefix"),
        "actor",
        "action",
        "resource",
        "ai_system",
        "outcome",
        "reason",
        "risk_score",
        "risk_level",
        "policy_version",
        "context_commitment",
        "response_unconfirmed",
        "anonymised_at",
        "ledger_seq",
        "ledger_entry_hash",
    ),
    RecordType.ESCALATIONS: _columns(
        ("escalation_id", "id"),
        "decision_id",
        "created_at",
        "priority",
        "status",
        "resolution",
        "sla_deadline",
        "acknowledged_at",
        "resolved_at",
        ("resolved_by", "resolved_by_id"),
        "reason_commitment",
        "note_commitment",
        "created_ledger_seq",
        "resolved_ledger_seq",
    ),
    RecordType.OVERRIDES: _columns(
        ("override_id", "id"),
        "decision_id",
        "created_at",
        "override_type",
        "previous_outcome",
        "outcome",
        ("executed_by", "executed_by_id"),
        "expires_at",
        "justification_commitment",
        "ledger_seq",
    ),
    RecordType.POLICIES: _columns(
        "version_hash",
        "name",
        "version",
        "mode",
        "dialect",
        ("relations", "relation_count"),
        "loaded_by",
        "created_at",
        "ledger_seq",
    ),
    RecordType.EVIDENCE: _columns(
        ("artifact_id", "id"),
        "artifact_type",
        "title",
        "sha256",
        "size_bytes",
        "media_type",
        "source",
        "registered_by",
        "created_at",
        "retention_until",
        "expired_at",
        "ledger_seq",
    ),
}

COLUMNS: dict[str, tuple[str, ...]] = {
    **{kind: tuple(column for column, _ in pairs) for kind, pairs in SOURCES.items()},
    RecordType.CONTROLS: (
        "framework",
        "control_id",
        "title",
        "category",
        "status",
        "status_reason",
        "evidence_count",
        "last_evidence_at",
        "artifacts",
    ),
    RecordType.LEDGER: ("seq", "entry_type", "timestamp", "payload", "prev_hash", "entry_hash"),
}


def _user(pk: Any) -> str | None:
    return f"user:{pk}" if pk is not None else None


def _records(kind: str, queryset: QuerySet) -> Iterator[dict[str, Any]]:
    """The rows of ``queryset`` as ``{column: value}`` of ``SOURCES[kind]``, streamed."""
    columns = COLUMNS[kind]
    for row in _stream(queryset, *(field for _, field in SOURCES[kind])):
        yield dict(zip(columns, row, strict=True))


def _decision_rows(sel: Selection) -> Iterator[dict[str, Any]]:
    for values in _records(RecordType.DECISIONS, decisions_in(sel)):
        values["decision_id"] = str(values["decision_id"])
        values["created_at"] = rfc3339(values["created_at"])
        values["anonymised_at"] = rfc3339(values["anonymised_at"])
        values["agent"] = f"agent:{values['agent']}" if values["agent"] else None
        values["ai_system"] = values["ai_system"] or None
        yield values


def _escalation_rows(sel: Selection) -> Iterator[dict[str, Any]]:
    for values in _records(RecordType.ESCALATIONS, escalations_in(sel)):
        for key in ("escalation_id", "decision_id"):
            values[key] = str(values[key])
        for key in ("created_at", "sla_deadline", "acknowledged_at", "resolved_at"):
            values[key] = rfc3339(values[key])
        values["resolved_by"] = _user(values["resolved_by"])
        values["resolution"] = values["resolution"] or None
        yield values


def _override_rows(sel: Selection) -> Iterator[dict[str, Any]]:
    for values in _records(RecordType.OVERRIDES, overrides_in(sel)):
        values["override_id"] = str(values["override_id"])
        values["decision_id"] = str(values["decision_id"])
        values["created_at"] = rfc3339(values["created_at"])
        values["expires_at"] = rfc3339(values["expires_at"])
        values["executed_by"] = _user(values["executed_by"])
        yield values


def _policy_rows(sel: Selection) -> Iterator[dict[str, Any]]:
    for values in _records(RecordType.POLICIES, policies_in(sel)):
        values["created_at"] = rfc3339(values["created_at"])
        yield values


def _evidence_rows(sel: Selection) -> Iterator[dict[str, Any]]:
    for values in _records(RecordType.EVIDENCE, evidence_in(sel)):
        values["artifact_id"] = str(values["artifact_id"])
        for key in ("created_at", "retention_until", "expired_at"):
            values[key] = rfc3339(values[key])
        values["source"] = values["source"] or None
        yield values


def _control_rows(sel: Selection) -> Iterator[dict[str, Any]]:
    framework = framework_get(sel)
    linked: dict[str, int] = dict(
        EvidenceControlLink.objects.filter(framework=framework.id, ledger_seq__lt=sel.tree_size)
        .values("control_id")
        .annotate(n=Count("artifact_id", distinct=True))
        .values_list("control_id", "n")
    )
    for control in compliance.controls_list(framework)["controls"]:
        yield {
            "framework": framework.id,
            "control_id": control["control_id"],
            "title": control["title"],
            "category": control["category"] or None,
            "status": control["status"],
            "status_reason": control["status_reason"],
            "evidence_count": control["evidence_count"],
            "last_evidence_at": control["last_evidence_at"],
            "artifacts": linked.get(control["control_id"], 0),
        }


def _entries(sel: Selection) -> Iterator[tuple]:
    fields = ("seq", "entry_type", "timestamp", "payload", "prev_hash", "entry_hash")
    if sel.whole_ledger:
        yield from _stream(ledger_in(sel), *fields)
        return
    # Entries named by the records in scope: fetched a chunk of seqs at a time, in seq order.
    chunk: list[int] = []
    for seq in entry_seqs(sel):
        chunk.append(seq)
        if len(chunk) >= CHUNK_SIZE:
            yield from (
                LedgerEntry.objects.filter(seq__in=chunk).order_by("seq").values_list(*fields)
            )
            chunk = []
    if chunk:
        yield from LedgerEntry.objects.filter(seq__in=chunk).order_by("seq").values_list(*fields)


def ledger_entries(sel: Selection) -> Iterator[tuple[int, str, str, str, str, str]]:
    """The entries in scope as ``(seq, entry_type, timestamp, payload, prev_hash, entry_hash)``,
    the payload as stored: RFC 8785 canonical JSON text (the formats copy it as it is)."""
    return _entries(sel)


def _ledger_rows(sel: Selection) -> Iterator[dict[str, Any]]:
    for seq, entry_type, timestamp, payload, prev_hash, entry_hash in _entries(sel):
        yield {
            "seq": seq,
            "entry_type": entry_type,
            "timestamp": timestamp,
            "payload": json.loads(payload),
            "prev_hash": prev_hash,
            "entry_hash": entry_hash,
        }


_ROWS = {
    RecordType.DECISIONS: _decision_rows,
    RecordType.ESCALATIONS: _escalation_rows,
    RecordType.OVERRIDES: _override_rows,
    RecordType.POLICIES: _policy_rows,
    RecordType.EVIDENCE: _evidence_rows,
    RecordType.CONTROLS: _control_rows,
    RecordType.LEDGER: _ledger_rows,
}


def rows(sel: Selection, record_type: str) -> Iterator[dict[str, Any]]:
    """The rows of ``record_type`` in scope, one dict per row (keys: ``COLUMNS[record_type]``),
    streamed."""
    return _ROWS[record_type](sel)


def row_count(sel: Selection, record_type: str) -> int:
    """How many rows ``rows(sel, record_type)`` yields (one COUNT query, or the catalog size)."""
    if record_type == RecordType.CONTROLS:
        return len(compliance.assessable_controls(framework_get(sel)))
    if record_type == RecordType.LEDGER:
        if sel.whole_ledger:
            return ledger_in(sel).count()
        return sum(1 for _ in entry_seqs(sel))
    queryset = {
        RecordType.DECISIONS: decisions_in,
        RecordType.ESCALATIONS: escalations_in,
        RecordType.OVERRIDES: overrides_in,
        RecordType.POLICIES: policies_in,
        RecordType.EVIDENCE: evidence_in,
    }[record_type](sel)
    return queryset.count()


# The ledger entries in scope.


def _seqs(queryset: QuerySet, field: str, sel: Selection) -> Iterator[int]:
    """One ascending stream of non-null seqs below the export's tree size."""
    filtered = queryset.filter(**{f"{field}__isnull": False, f"{field}__lt": sel.tree_size})
    return _stream_flat(filtered.order_by(field), field)


def _decision_seqs(sel: Selection) -> list[Iterator[int]]:
    return [_seqs(decisions_in(sel), "ledger_seq", sel)]


def _escalation_seqs(sel: Selection) -> list[Iterator[int]]:
    escalations = escalations_in(sel).order_by()
    ids = escalations.values("id")
    return [
        _seqs(escalations, "created_ledger_seq", sel),
        _seqs(escalations, "acknowledged_ledger_seq", sel),
        _seqs(escalations, "resolved_ledger_seq", sel),
        _seqs(EscalationAssignment.objects.filter(escalation_id__in=ids), "ledger_seq", sel),
        _seqs(EscalationApproval.objects.filter(escalation_id__in=ids), "ledger_seq", sel),
    ]


def _override_seqs(sel: Selection) -> list[Iterator[int]]:
    return [_seqs(overrides_in(sel), "ledger_seq", sel)]


def _policy_seqs(sel: Selection) -> list[Iterator[int]]:
    activations = PolicyActivation.objects.filter(sel.period("activated_at"))
    return [_seqs(policies_in(sel), "ledger_seq", sel), _seqs(activations, "ledger_seq", sel)]


def _evidence_seqs(sel: Selection) -> list[Iterator[int]]:
    artifacts = evidence_in(sel).order_by()
    ids = artifacts.values("id")
    control_links = EvidenceControlLink.objects.filter(artifact_id__in=ids)
    if sel.scope == Scope.FRAMEWORK:
        control_links = control_links.filter(framework=sel.framework)
    return [
        _seqs(artifacts, "ledger_seq", sel),
        _seqs(EvidenceDecisionLink.objects.filter(artifact_id__in=ids), "ledger_seq", sel),
        _seqs(control_links, "ledger_seq", sel),
    ]


def _framework_seqs(sel: Selection) -> list[Iterator[int]]:
    named = ControlEvidence.objects.filter(control__framework_id=sel.framework).filter(
        **({"at__gte": _ledger_time(sel.period_from)} if sel.period_from else {}),
        **({"at__lte": _ledger_time(sel.period_to)} if sel.period_to else {}),
    )
    return [_seqs(named, "ledger_seq", sel), *_evidence_seqs(sel)]


def _unique(ascending: Iterable[int]) -> Iterator[int]:
    previous = None
    for seq in ascending:
        if seq != previous:
            yield seq
            previous = seq


def entry_seqs(sel: Selection) -> Iterator[int]:
    """The ascending ``seq`` of every ledger entry in scope (each once), streamed.

    ``ledger`` (and ``all`` without an AI system) is every entry of the period; any other scope
    is the entries that record its rows: a decision's ``decision.made``; an escalation's creation,
    acknowledgement, assignments, approvals and resolution; an override; a policy version's load
    and its activations; an artifact's registration and links; a framework's directly named
    evidence (``ControlEvidence``) and its linked artifacts.
    """
    if sel.whole_ledger:
        return _stream_flat(ledger_in(sel), "seq")
    sources: list[Iterator[int]] = []
    by_record = {
        RecordType.DECISIONS: _decision_seqs,
        RecordType.ESCALATIONS: _escalation_seqs,
        RecordType.OVERRIDES: _override_seqs,
        RecordType.POLICIES: _policy_seqs,
        RecordType.EVIDENCE: _evidence_seqs,
        RecordType.CONTROLS: _framework_seqs,
    }
    for record_type in sel.record_types:
        if record_type == RecordType.LEDGER:  # ``all`` with an AI system: the records' entries
            for other in (RecordType.POLICIES, RecordType.EVIDENCE):
                if other not in sel.record_types:
                    sources.extend(by_record[other](sel))
            continue
        if record_type == RecordType.EVIDENCE and RecordType.CONTROLS in sel.record_types:
            continue  # the framework's sources include its evidence already
        sources.extend(by_record[record_type](sel))
    return _unique(heapq.merge(*sources))


def evidence_ids(sel: Selection) -> Iterator[str]:
    """The ids of the evidence artifacts in scope, ascending by registration: the scope's own
    artifacts, or for decisions, escalations and overrides those linked to their decisions."""
    if RecordType.EVIDENCE in sel.record_types:
        return (str(pk) for pk in _stream_flat(evidence_in(sel), "id"))
    if sel.scope in (Scope.DECISIONS, Scope.ESCALATIONS, Scope.OVERRIDES):
        decisions = {
            Scope.DECISIONS: decisions_in(sel).order_by().values("id"),
            Scope.ESCALATIONS: escalations_in(sel).order_by().values("decision_id"),
            Scope.OVERRIDES: overrides_in(sel).order_by().values("decision_id"),
        }[Scope(sel.scope)]
        artifacts = EvidenceArtifact.objects.filter(
            ledger_seq__lt=sel.tree_size,
            id__in=EvidenceDecisionLink.objects.filter(decision_id__in=decisions).values(
                "artifact_id"
            ),
        ).order_by("ledger_seq")
        return (str(pk) for pk in _stream_flat(artifacts, "id"))
    return iter(())
