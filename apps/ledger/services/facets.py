"""The ledger browser's finding aid: who acted and on what, per entry, in a side table.

Why not in the append: ``ledger_append`` holds the chain-head lock; parsing the payload there and
maintaining two more indexes would be paid by every ``/decide`` (ADR 0029). Facets are filled here
instead, in ``seq`` order from the last filled entry, by every checkpoint (the periodic task, the
inline checkpoint every ``LEXECON_CHECKPOINT_EVERY`` entries and ``manage.py ledger_checkpoint``).
The browser reads the entries past the last filled one from their payloads, so a filter never
misses a recent entry.
"""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Max

from apps.ledger import events
from apps.ledger.models import LedgerEntry, LedgerEntryFacet

FILL_BATCH = 5000
#: At most this many per checkpoint (~1 s), so a checkpoint signed inside a request stays short;
#: ``manage.py ledger_facets_fill`` fills a ledger that predates the table in one go.
FILL_PER_CHECKPOINT = 10_000
FACET_MAX_LENGTH = 200


def entry_facets(entry_type: str, payload: dict[str, Any]) -> tuple[str, str, str]:
    """``(actor id, subject type, subject id)`` of one payload, whichever envelope version wrote
    it (``events.read_event``); empty strings where the entry names none (genesis, tests)."""
    event = events.read_event(entry_type, payload)
    actor = event.get("actor")
    subject = event.get("subject")
    actor_id = actor.get("id") if isinstance(actor, dict) else None
    subject_type = subject.get("type") if isinstance(subject, dict) else None
    subject_id = subject.get("id") if isinstance(subject, dict) else None
    return (
        str(actor_id or "")[:FACET_MAX_LENGTH],
        str(subject_type or "")[:64],
        str(subject_id or "")[:FACET_MAX_LENGTH],
    )


def facets_high_water() -> int:
    """The last ``seq`` whose facets are stored (-1: none)."""
    top = LedgerEntryFacet.objects.aggregate(top=Max("seq"))["top"]
    return -1 if top is None else top


def ledger_facets_fill(*, limit: int | None = None) -> int:
    """Store the facets of every entry after the last stored one (at most ``limit``); how many.

    Idempotent and incremental: it resumes after the highest stored ``seq``, and a concurrent
    fill that wrote the same rows first is ignored (``ignore_conflicts``).
    """
    last = facets_high_water()
    written = 0
    rows = LedgerEntry.objects.order_by("seq").values_list("seq", "entry_type", "payload")
    while limit is None or written < limit:
        size = FILL_BATCH if limit is None else min(FILL_BATCH, limit - written)
        batch = list(rows.filter(seq__gt=last)[:size])
        if not batch:
            break
        facets = []
        for seq, entry_type, payload in batch:
            actor, subject_type, subject_id = entry_facets(entry_type, json.loads(payload))
            facets.append(
                LedgerEntryFacet(
                    seq=seq,
                    entry_type=entry_type,
                    actor=actor,
                    subject_type=subject_type,
                    subject_id=subject_id,
                )
            )
        LedgerEntryFacet.objects.bulk_create(facets, ignore_conflicts=True)
        written += len(facets)
        last = batch[-1][0]
    return written
