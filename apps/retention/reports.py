"""The Art. 12/19 regulatory package: what record-keeping did over a period, for an authority or
an auditor (``GET .../article-12/regulatory-package?from&to&format=json|csv|markdown``).

One dict, built from live data when asked, rendered three ways. It names no person (people are
``user:<id>``) and holds no decision context or free text: hold reasons appear only as the
commitments on the ledger. The ledger entries it cites can be checked offline in an exported
bundle (docs/ledger-formats.md).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from apps.core.exceptions import InvalidInput
from apps.decisions.models import Decision
from apps.evidence.models import EvidenceArtifact
from apps.ledger.entry_types import EntryType
from apps.ledger.models import LedgerEntry
from apps.retention import holds as hold_rules
from apps.retention.constants import MAX_PACKAGE_DAYS
from apps.retention.models import LegalHold, RetentionRun
from apps.retention.selectors import CLASSES, configuration, iso, ledger_state, run_as_dict

#: The ledger entry types of record-keeping itself.
RECORD_KEEPING_TYPES = (
    EntryType.LEGAL_HOLD_PLACED,
    EntryType.LEGAL_HOLD_RELEASED,
    EntryType.RETENTION_SWEEP_COMPLETED,
    EntryType.EVIDENCE_EXPIRED,
)
FORMAT = "lexecon-art12-package/1"


def _stamp(moment: datetime) -> str:
    """The ledger's own timestamp text of a moment (fixed width: compares as text)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _hold_row(hold: LegalHold) -> dict[str, Any]:
    """A hold without its free texts (their commitments are on the ledger entries cited)."""
    return {
        "id": str(hold.pk),
        "scope": hold.scope,
        "ai_system": hold.ai_system or None,
        "actor": hold.actor or None,
        "decisions": len(hold.decision_ids),
        "from": iso(hold.period_from),
        "to": iso(hold.period_to),
        "placed_by": f"user:{hold.placed_by_id}",
        "placed_at": iso(hold.placed_at),
        "placed_ledger_entry_id": hold.placed_ledger_seq,
        "released_by": f"user:{hold.released_by_id}" if hold.released_by_id else None,
        "released_at": iso(hold.released_at),
        "released_ledger_entry_id": hold.released_ledger_seq,
    }


def regulatory_package(*, period_from: datetime, period_to: datetime) -> dict[str, Any]:
    """The package for ``[period_from, period_to]`` (bounds included)."""
    if period_from >= period_to:
        raise InvalidInput("from must be before to.", details={"from": iso(period_from)})
    if (period_to - period_from).days > MAX_PACKAGE_DAYS:
        raise InvalidInput(
            f"A package covers at most {MAX_PACKAGE_DAYS} days; ask for several.",
            details={"days": (period_to - period_from).days},
        )
    now = timezone.now()
    in_period = Q(created_at__gte=period_from, created_at__lte=period_to)
    holds_now = hold_rules.holds_in_force()
    held_q = hold_rules.decisions_q(holds_now)

    made = Decision.objects.filter(in_period).order_by()
    aggregates: dict[str, Any] = {
        "made": Count("pk"),
        "anonymised": Count("pk", filter=Q(anonymised_at__isnull=False)),
    }
    if held_q is not None:
        aggregates["held"] = Count("pk", filter=Q(anonymised_at__isnull=True) & held_q)
    rows = {r["retention_class"]: r for r in made.values("retention_class").annotate(**aggregates)}
    decisions = {
        name: {
            "made": int(rows.get(name, {}).get("made", 0)),
            "anonymised": int(rows.get(name, {}).get("anonymised", 0)),
            "legal_hold_now": int(rows.get(name, {}).get("held", 0)),
        }
        for name in CLASSES
    }
    by_system = [
        {
            "ai_system": row["ai_system"] or None,
            "retention_class": row["retention_class"],
            "made": row["made"],
            "anonymised": row["anonymised"],
        }
        for row in made.values("ai_system", "retention_class")
        .annotate(made=Count("pk"), anonymised=Count("pk", filter=Q(anonymised_at__isnull=False)))
        .order_by("ai_system", "retention_class")
    ]

    holds = LegalHold.objects.filter(placed_at__lte=period_to).filter(
        Q(released_at__isnull=True) | Q(released_at__gte=period_from)
    )
    runs = RetentionRun.objects.filter(started_at__gte=period_from, started_at__lte=period_to)
    artifacts = EvidenceArtifact.objects.order_by()
    registered = {
        r["retention_class"]: r["n"]
        for r in artifacts.filter(in_period).values("retention_class").annotate(n=Count("pk"))
    }
    expired = {
        r["retention_class"]: r["n"]
        for r in artifacts.filter(expired_at__gte=period_from, expired_at__lte=period_to)
        .values("retention_class")
        .annotate(n=Count("pk"))
    }
    entries = LedgerEntry.objects.filter(
        timestamp__gte=_stamp(period_from), timestamp__lte=_stamp(period_to)
    )
    by_type = {
        r["entry_type"]: r["n"]
        for r in entries.filter(entry_type__in=RECORD_KEEPING_TYPES)
        .order_by()
        .values("entry_type")
        .annotate(n=Count("seq"))
    }
    seqs = entries.order_by("seq").values_list("seq", flat=True)
    first_seq, last_seq = (
        seqs.first(),
        entries.order_by("-seq").values_list("seq", flat=True).first(),
    )

    return {
        "format": FORMAT,
        "generated_at": iso(now),
        "period": {"from": iso(period_from), "to": iso(period_to)},
        "configuration": configuration(),
        "decisions": decisions,
        "decisions_by_ai_system": by_system,
        "evidence": {
            name: {"registered": registered.get(name, 0), "expired": expired.get(name, 0)}
            for name in CLASSES
        },
        "legal_holds": [_hold_row(hold) for hold in holds.order_by("placed_at", "id")],
        "sweep_runs": [run_as_dict(run) for run in runs.order_by("started_at", "id")],
        "ledger": {
            **ledger_state(),
            "entries_in_period": {"first_seq": first_seq, "last_seq": last_seq},
            "record_keeping_entries": {
                str(t): by_type.get(str(t), 0) for t in RECORD_KEEPING_TYPES
            },
        },
    }


def package_filename(package: dict[str, Any], extension: str) -> str:
    start = package["period"]["from"][:10]
    end = package["period"]["to"][:10]
    return f"art12-package_{start}_{end}.{extension}"


def _flat(prefix: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        rows: list[tuple[str, str]] = []
        for key, child in value.items():
            rows.extend(_flat(f"{prefix}.{key}" if prefix else str(key), child))
        return rows
    if isinstance(value, list):
        if all(not isinstance(item, dict | list) for item in value):
            return [(prefix, json.dumps(value))]
        rows = []
        for index, child in enumerate(value):
            rows.extend(_flat(f"{prefix}[{index}]", child))
        return rows
    return [(prefix, "" if value is None else str(value))]


def package_csv(package: dict[str, Any]) -> str:
    """Two columns, ``field,value``: every figure of the package under its dotted path."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["field", "value"])
    for key, value in _flat("", package):
        # A value starting with a formula character is quoted for spreadsheets (CSV injection).
        writer.writerow([key, f"'{value}" if value[:1] in ("=", "+", "-", "@") else value])
    return out.getvalue()


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    def cell(value: Any) -> str:
        text = "—" if value is None else str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines.extend("| " + " | ".join(cell(v) for v in row) + " |" for row in rows)
    return lines


def package_markdown(package: dict[str, Any]) -> str:
    """A readable document: configuration, decisions, evidence, holds, sweeps, ledger."""
    period = package["period"]
    config = package["configuration"]
    ledger = package["ledger"]
    verification = ledger["verification"] or {}
    checkpoint = ledger["latest_checkpoint"] or {}
    lines = [
        "# EU AI Act Art. 12/19 — record-keeping package",
        "",
        f"Period: {period['from']} to {period['to']}. Generated {package['generated_at']} "
        f"({package['format']}).",
        "",
        "## Retention configuration",
        "",
        *_table(
            ["Class", "Days"],
            [[name, days] for name, days in config["retention_days"].items()],
        ),
        "",
        f"Personal-data classes: {', '.join(config['personal_data_classes']) or '—'}. "
        f"Sweep every {config['sweep_interval_seconds']:g} s.",
        "",
        "## Decisions made in the period",
        "",
        *_table(
            ["Class", "Made", "Anonymised", "Under legal hold now"],
            [
                [name, row["made"], row["anonymised"], row["legal_hold_now"]]
                for name, row in package["decisions"].items()
            ],
        ),
        "",
        "### By AI system",
        "",
        *_table(
            ["AI system", "Class", "Made", "Anonymised"],
            [
                [row["ai_system"], row["retention_class"], row["made"], row["anonymised"]]
                for row in package["decisions_by_ai_system"]
            ],
        ),
        "",
        "## Evidence artifacts",
        "",
        *_table(
            ["Class", "Registered in the period", "Expired in the period"],
            [
                [name, row["registered"], row["expired"]]
                for name, row in package["evidence"].items()
            ],
        ),
        "",
        "## Legal holds in force during the period",
        "",
        *_table(
            ["Hold", "Scope", "Covers", "Placed", "Released", "Ledger entries"],
            [
                [
                    hold["id"],
                    hold["scope"],
                    hold["ai_system"]
                    or hold["actor"]
                    or (f"{hold['decisions']} decisions" if hold["decisions"] else None)
                    or f"{hold['from']} to {hold['to']}",
                    f"{hold['placed_at']} by {hold['placed_by']}",
                    hold["released_at"],
                    ", ".join(
                        str(s)
                        for s in (hold["placed_ledger_entry_id"], hold["released_ledger_entry_id"])
                        if s is not None
                    ),
                ]
                for hold in package["legal_holds"]
            ],
        ),
        "",
        "## Retention sweeps",
        "",
        *_table(
            ["Run", "Status", "As of", "Anonymised", "Held", "Artifacts expired", "Ledger entry"],
            [
                [
                    run["run_id"],
                    run["status"],
                    run["as_of"],
                    sum(run["decisions_anonymised"].values()),
                    run["decisions_held"],
                    run["artifacts_expired"],
                    run["ledger_entry_id"],
                ]
                for run in package["sweep_runs"]
            ],
        ),
        "",
        "## Ledger",
        "",
        f"Entries {ledger['entries_in_period']['first_seq']} to "
        f"{ledger['entries_in_period']['last_seq']} fall in the period; the ledger holds "
        f"{ledger['size']} entries. Latest full verification: "
        + (
            f"{'valid' if verification.get('valid') else 'INVALID'} at "
            f"{verification.get('finished_at')} ({verification.get('entries_checked')} entries)"
            if verification
            else "none recorded"
        )
        + ". Latest signed checkpoint: "
        + (
            f"tree size {checkpoint.get('tree_size')} at {checkpoint.get('created_at')}"
            if checkpoint
            else "none"
        )
        + ".",
        "",
        *_table(
            ["Entry type", "Entries in the period"],
            [[name, count] for name, count in ledger["record_keeping_entries"].items()],
        ),
        "",
    ]
    return "\n".join(lines)
