"""Erasure of the words people wrote in oversight (EU AI Act Art. 12/19 record-keeping, ADR 0021).

Only the retention sweep (``apps.retention``) calls these, inside its batch transactions, for
decisions past their retention and under no legal hold. IRREVERSIBLE: each text is blanked with
its salt, so the commitment on the ledger entry that recorded it can no longer be opened; the
entries themselves are untouched and the chain verifies as before. What the engine wrote (the
reason of an escalation it opened, a copy of the decision's own reason) stays.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import F, Q

from apps.escalations.models import AgentStop, Escalation, EscalationApproval, Override

# Per table: the decision lookup, the fields blanked, and the filter that says there is still
# something to blank.
_TEXTS: tuple[tuple[Any, str, dict[str, str], Q], ...] = (
    (
        Escalation,
        "decision",
        {"reason": "", "reason_salt": ""},
        ~Q(reason=F("decision__reason")) & (~Q(reason="") | ~Q(reason_salt="")),
    ),
    (
        Escalation,
        "decision",
        {"resolution_note": "", "note_salt": ""},
        ~Q(resolution_note="") | ~Q(note_salt=""),
    ),
    (
        EscalationApproval,
        "escalation__decision",
        {"note": "", "note_salt": ""},
        ~Q(note="") | ~Q(note_salt=""),
    ),
    (
        Override,
        "decision",
        {"justification": "", "justification_salt": ""},
        ~Q(justification="") | ~Q(justification_salt=""),
    ),
    (AgentStop, "decision", {"reason": "", "reason_salt": ""}, ~Q(reason="") | ~Q(reason_salt="")),
)
# Every oversight row names its decision directly, except approvals (through their escalation,
# which always exists beside them).
_BY_DECISION = (Escalation, Override, AgentStop)


def oversight_texts_erase(*, decision_ids: list[Any]) -> int:
    """Blank what people wrote about these decisions; the number of rows changed."""
    erased = 0
    for model, lookup, values, remaining in _TEXTS:
        rows = model.objects.filter(**{f"{lookup}_id__in": decision_ids}).filter(remaining)
        erased += rows.update(**values)
    return erased


def oversight_decision_ids(*, decision_ids: list[Any]) -> set[Any]:
    """The decisions among these with any oversight row (most have none): one query, the ids as
    one array parameter on PostgreSQL."""
    if not decision_ids:
        return set()
    if connection.vendor == "postgresql":
        # Table names come from model metadata; the ids are the one bound parameter.
        selects = " UNION ".join(
            f"SELECT decision_id FROM {m._meta.db_table} WHERE decision_id IN (SELECT id FROM b)"  # noqa: S608 # nosec B608
            for m in _BY_DECISION
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH b AS (SELECT unnest(%s::uuid[]) AS id) {selects}",
                [[str(pk) for pk in decision_ids]],
            )
            return {row[0] for row in cursor.fetchall()}
    found: set[Any] = set()
    for model in _BY_DECISION:
        rows = model.objects.filter(decision_id__in=decision_ids)
        found.update(rows.values_list("decision_id", flat=True))
    return found


def oversight_changed_since(*, since: datetime) -> set[Any]:
    """The decisions whose escalation, approvals, overrides or stops were written or changed
    from ``since`` on (where words written after a decision was anonymised come from)."""
    sources: Iterable[tuple[Any, str]] = (
        (Escalation, "decision_id"),
        (EscalationApproval, "escalation__decision_id"),
        (Override, "decision_id"),
        (AgentStop, "decision_id"),
    )
    found: set[Any] = set()
    for model, lookup in sources:
        found.update(model.objects.filter(updated_at__gte=since).values_list(lookup, flat=True))
    return found
