"""The human-readable export: one context, rendered as HTML, Markdown and PDF.

HTML and PDF come from the same template (``templates/audit/report.html``; the PDF is WeasyPrint
over that HTML with the offline fetcher of ``apps.core.pdf``), Markdown from the same context. The
report has a cover (scope, period, requester, the ledger size and root it was made against), the
summary figures, the evidence grouped by framework control, the decisions, escalations and
overrides tables, and an integrity section (the checkpoint, the key fingerprints, how to verify).

Tables are bounded: each lists its first ``LEXECON_EXPORT_REPORT_ROWS`` rows and says how many
were left out; the JSON and CSV formats carry every row.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from itertools import islice
from typing import Any

from django.conf import settings
from django.db.models import Count
from django.template.loader import render_to_string

from apps.audit import selectors
from apps.audit.constants import RecordType, Scope
from apps.audit.selectors import Selection
from apps.compliance import selectors as compliance
from apps.compliance.models import Framework
from apps.evidence.models import EvidenceControlLink
from apps.ledger import selectors as ledger
from apps.ledger import tree
from apps.ledger.models import Checkpoint

TEMPLATE = "audit/report.html"

#: Columns each bounded table of the report shows (a subset of ``selectors.COLUMNS``).
TABLES: dict[str, tuple[str, ...]] = {
    RecordType.DECISIONS: (
        "created_at",
        "decision_id",
        "agent",
        "action",
        "ai_system",
        "outcome",
        "risk_level",
        "ledger_seq",
    ),
    RecordType.ESCALATIONS: (
        "created_at",
        "escalation_id",
        "decision_id",
        "priority",
        "status",
        "resolution",
        "resolved_by",
        "created_ledger_seq",
    ),
    RecordType.OVERRIDES: (
        "created_at",
        "override_id",
        "decision_id",
        "override_type",
        "previous_outcome",
        "outcome",
        "executed_by",
        "ledger_seq",
    ),
}
ARTIFACTS_PER_CONTROL = 10


def ledger_state(tree_size: int) -> dict[str, Any]:
    """The ledger the export is made against: size, RFC 9162 root, the newest signed checkpoint
    at or below that size, and every checkpoint key with its fingerprint."""
    root = tree.root(tree_size) if tree_size else None
    checkpoint = Checkpoint.objects.filter(tree_size__lte=tree_size).order_by("-tree_size").first()
    keys = []
    for key in ledger.keys_list():
        public = bytes(key.public_key)
        keys.append(
            {
                "kid": key.kid,
                "algorithm": key.algorithm,
                "status": key.status,
                "note_key": ledger.key_note_key(key),
                "fingerprint": hashlib.sha256(public).hexdigest(),
            }
        )
    return {
        "tree_size": tree_size,
        "root_hash": base64.b64encode(root).decode() if root else None,
        "root_hash_hex": root.hex() if root else None,
        "checkpoint": (
            {
                "tree_size": checkpoint.tree_size,
                "root_hash": base64.b64encode(bytes(checkpoint.root_hash)).decode(),
                "created_at": selectors.rfc3339(checkpoint.created_at),
                "note": checkpoint.note,
            }
            if checkpoint
            else None
        ),
        "keys": keys,
    }


def _figures(sel: Selection, totals: dict[str, int]) -> list[tuple[str, Any]]:
    figures: list[tuple[str, Any]] = [
        (RecordType(kind).label, count) for kind, count in totals.items()
    ]
    if RecordType.DECISIONS in totals:
        outcomes = Counter(
            dict(
                selectors.decisions_in(sel)
                .order_by()
                .values("outcome")
                .annotate(n=Count("pk"))
                .values_list("outcome", "n")
            )
        )
        figures += [(f"Decisions {outcome}", n) for outcome, n in sorted(outcomes.items())]
    if RecordType.ESCALATIONS in totals:
        statuses = Counter(
            dict(
                selectors.escalations_in(sel)
                .order_by()
                .values("status")
                .annotate(n=Count("pk"))
                .values_list("status", "n")
            )
        )
        figures += [(f"Escalations {status}", n) for status, n in sorted(statuses.items())]
    return figures


def control_groups(sel: Selection) -> list[dict[str, Any]]:
    """Evidence grouped by framework control: per framework (the scope's, or every loaded one),
    the controls that have evidence — computed status, the count of ledger entries that evidence
    it, the artifacts linked to it — and how many controls have none."""
    frameworks = (
        Framework.objects.filter(pk=sel.framework)
        if sel.scope == Scope.FRAMEWORK
        else Framework.objects.order_by("position", "id")
    )
    groups = []
    for framework in frameworks:
        links: dict[str, list[dict[str, Any]]] = {}
        for link in (
            EvidenceControlLink.objects.filter(framework=framework.id, ledger_seq__lt=sel.tree_size)
            .select_related("artifact")
            .order_by("control_id", "ledger_seq")
        ):
            shown = links.setdefault(link.control_id, [])
            if len(shown) < ARTIFACTS_PER_CONTROL:
                shown.append(
                    {
                        "artifact_id": str(link.artifact_id),  # type: ignore[attr-defined]
                        "title": link.artifact.title,
                        "sha256": link.artifact.sha256,
                    }
                )
        controls = compliance.controls_list(framework)["controls"]
        evidenced = [
            {**control, "artifacts": links.get(control["control_id"], [])}
            for control in controls
            if control["evidence_count"] or control["control_id"] in links
        ]
        groups.append(
            {
                "id": framework.id,
                "name": framework.name,
                "version": framework.version,
                "controls": evidenced,
                "without_evidence": len(controls) - len(evidenced),
                "total": len(controls),
            }
        )
    return groups


def _table(sel: Selection, record_type: str, total: int, limit: int) -> dict[str, Any]:
    columns = TABLES[record_type]
    shown = [
        [row[column] for column in columns]
        for row in islice(selectors.rows(sel, record_type), limit)
    ]
    return {
        "kind": record_type,
        "title": RecordType(record_type).label,
        "columns": columns,
        "rows": shown,
        "total": total,
        "left_out": max(total - len(shown), 0),
    }


def report_context(sel: Selection, *, header: dict[str, Any]) -> dict[str, Any]:
    """Everything the report shows. ``header`` is the export's header (``services.header_of``)."""
    limit = settings.LEXECON_EXPORT_REPORT_ROWS
    totals = {kind: selectors.row_count(sel, kind) for kind in sel.record_types}
    tables = [
        _table(sel, kind, totals[kind], limit)
        for kind in (RecordType.DECISIONS, RecordType.ESCALATIONS, RecordType.OVERRIDES)
        if kind in totals
    ]
    return {
        "header": header,
        "scope_label": Scope(sel.scope).label,
        "figures": _figures(sel, totals),
        "totals": totals,
        "groups": control_groups(sel),
        "tables": tables,
        "limit": limit,
        "ledger": header["ledger"],
    }


def render_html(context: dict[str, Any], *, for_pdf: bool = False) -> str:
    """The report as one self-contained HTML page (inline CSS, no script, no external URL)."""
    return render_to_string(TEMPLATE, {**context, "for_pdf": for_pdf})


def render_pdf(context: dict[str, Any]) -> bytes:
    """The report as PDF, from the same template, offline."""
    # Imported here: WeasyPrint costs ~0.5 s to import, paid only by processes that make a PDF.
    from apps.core.pdf import write_pdf

    return write_pdf(render_html(context, for_pdf=True))


def _md(value: Any) -> str:
    """One Markdown table cell: pipes and line breaks escaped, nothing else interpreted."""
    if value is None:
        return "—"
    text = str(value).replace("\\", "\\\\").replace("|", "\\|")
    return " ".join(text.split())


def render_markdown(context: dict[str, Any]) -> str:
    """The report as Markdown (the same sections as the HTML)."""
    header, state = context["header"], context["ledger"]
    lines = [
        "# Lexecon audit export",
        "",
        f"- Export: `{header['export_id']}`",
        f"- Scope: {context['scope_label']} (`{header['scope']}`)",
        f"- Period: {header['period']['from'] or 'beginning'} to {header['period']['to'] or 'now'}",
    ]
    for name in ("ai_system", "framework"):
        if header["filters"].get(name):
            lines.append(f"- {name.replace('_', ' ').capitalize()}: `{header['filters'][name]}`")
    lines += [
        f"- Requested by: `{header['requested_by']}`",
        f"- Generated at: {header['generated_at']} by {header['generator']}",
        f"- Ledger: {state['tree_size']} entries, root `{state['root_hash'] or '—'}`",
        "",
        "## Summary",
        "",
        "| Figure | Value |",
        "|---|---|",
        *(f"| {_md(label)} | {_md(value)} |" for label, value in context["figures"]),
        "",
        "## Evidence by framework control",
        "",
    ]
    for group in context["groups"]:
        lines += [f"### {_md(group['name'])} ({group['id']} {group['version']})", ""]
        if group["controls"]:
            lines += [
                "| Control | Title | Status | Evidence | Artifacts |",
                "|---|---|---|---|---|",
            ]
            for control in group["controls"]:
                artifacts = ", ".join(
                    f"{a['title']} (sha256 {a['sha256'][:16]}…)" for a in control["artifacts"]
                )
                lines.append(
                    f"| {_md(control['control_id'])} | {_md(control['title'])} | "
                    f"{_md(control['status'])} | {control['evidence_count']} | {_md(artifacts)} |"
                )
            lines.append("")
        lines += [f"{group['without_evidence']} of {group['total']} controls have no evidence.", ""]
    for table in context["tables"]:
        lines += [f"## {table['title']}", ""]
        lines.append("| " + " | ".join(table["columns"]) + " |")
        lines.append("|" + "---|" * len(table["columns"]))
        lines += ["| " + " | ".join(_md(v) for v in row) + " |" for row in table["rows"]]
        if table["left_out"]:
            lines += [
                "",
                f"{table['left_out']} more rows left out (the first {len(table['rows'])} of "
                f"{table['total']} are shown; the JSON and CSV formats carry every row).",
            ]
        lines.append("")
    lines += ["## Integrity", ""]
    checkpoint = state["checkpoint"]
    if checkpoint:
        lines += [
            f"Signed checkpoint at tree size {checkpoint['tree_size']} "
            f"(root `{checkpoint['root_hash']}`, {checkpoint['created_at']}):",
            "",
            "```",
            checkpoint["note"].rstrip("\n"),
            "```",
            "",
        ]
    else:
        lines += ["No signed checkpoint covers this ledger size yet.", ""]
    lines += ["| Key | Algorithm | Status | SHA-256 fingerprint |", "|---|---|---|---|"]
    lines += [
        f"| {_md(k['kid'])} | {k['algorithm']} | {k['status']} | `{k['fingerprint']}` |"
        for k in state["keys"]
    ]
    lines += ["", *VERIFY_STEPS_MD, ""]
    return "\n".join(lines)


VERIFY_STEPS = (
    "Compare the SHA-256 of this file with the sha256 of its export.created ledger entry "
    "(GET /ledger/entries, or the package's entries.jsonl).",
    "Check the checkpoint's signature with the published key (GET /ledger/keys, note_key) and "
    "that its root equals the root named on the cover for that tree size.",
    "For an evidence package: unzip it, run python verify_bundle.py . and read the verdict.",
)
VERIFY_STEPS_MD = (
    "How to verify:",
    "",
    *(f"{n}. {step}" for n, step in enumerate(VERIFY_STEPS, 1)),
)
