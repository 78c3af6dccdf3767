"""Reads of the ledger browser: keyset pages of entries with filters, one entry with its proof and
covering checkpoint, and pages of signed checkpoints with their signature lines.

Why keyset pages: ``OFFSET n`` makes PostgreSQL walk and discard ``n`` rows, so the last page of a
million entries would cost a scan; a page here is ``seq < cursor ORDER BY seq DESC LIMIT n`` on an
index, the same cost at any position (ADR 0029).

Filters and the indexes they use:

- entry type: ``ledger_entry_type_seq`` (entry_type, seq) on the entries.
- time range: resolved to a ``seq`` range by binary search on the primary key, because entries get
  their timestamp under the chain-head lock in ``seq`` order (``clock_timestamp()``), so timestamps
  never decrease along ``seq`` unless the database clock is set back.
- actor and subject: the side table ``LedgerEntryFacet`` (indexes (actor, seq) and (subject_id,
  seq)), filled with each checkpoint; entries after the last filled one (the "tail") are matched by
  reading their payloads, at most ``TAIL_SCAN_MAX`` of them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from apps.core.exceptions import NotFound
from apps.ledger import events, selectors
from apps.ledger.models import Checkpoint, LedgerEntry, LedgerEntryFacet
from apps.ledger.services.append import canonical_entry_text
from apps.ledger.services.facets import entry_facets, facets_high_water
from tools.verify_bundle import (
    NoteFormatError,
    check_checkpoint,
    parse_note_key,
    parse_signed_note,
)

PAGE_SIZE = 50
TAIL_SCAN_MAX = 20_000
_ENTRY_COLUMNS = ("seq", "entry_type", "timestamp", "payload")


@dataclass(frozen=True)
class EntryFilters:
    """What a page of entries is narrowed to; ``None`` means "any". Times are RFC 3339 UTC
    strings (``time_from`` included, ``time_to`` excluded)."""

    entry_type: str | None = None
    actor: str | None = None
    subject_type: str | None = None
    subject_id: str | None = None
    time_from: str | None = None
    time_to: str | None = None

    @property
    def uses_facets(self) -> bool:
        return bool(self.actor or self.subject_type or self.subject_id)

    @property
    def any(self) -> bool:
        return self.uses_facets or bool(self.entry_type or self.time_from or self.time_to)


@dataclass(frozen=True)
class EntryRow:
    """One line of the entries table: the stored fields plus the envelope's actor and subject."""

    seq: int
    entry_type: str
    timestamp: str
    actor: str
    subject_type: str
    subject_id: str


@dataclass(frozen=True)
class EntryPage:
    rows: list[EntryRow]
    #: Cursors: ``after=newer`` shows the next newer page, ``before=older`` the next older one.
    newer: int | None
    older: int | None
    ledger_size: int
    #: ``(first, last)`` seqs not yet indexed for actor/subject and not read either (else None).
    unsearched: tuple[int, int] | None = None


@dataclass
class _Range:
    """Open interval ``low < seq < high``."""

    low: int
    high: int

    @property
    def empty(self) -> bool:
        return self.high - self.low <= 1


# --- Time → seq ---------------------------------------------------------------------------------


# One statement for the whole binary search (about 20 primary-key probes at a million entries)
# instead of a round trip per probe. Each step probes the first entry at or after the middle of
# [low, high): if it lies inside and is older than the timestamp, the answer is after it.
_BISECT_SQL = """
WITH RECURSIVE search(low, high) AS (
    SELECT CAST(0 AS BIGINT), CAST(%(size)s AS BIGINT)
    UNION ALL
    SELECT
        CASE WHEN (
            SELECT CASE WHEN e.seq < search.high AND e.timestamp < %(ts)s THEN 1 ELSE 0 END
            FROM ledger_ledgerentry e WHERE e.seq >= (search.low + search.high) / 2
            ORDER BY e.seq LIMIT 1
        ) = 1
        THEN (
            SELECT e.seq + 1 FROM ledger_ledgerentry e WHERE e.seq >= (search.low + search.high) / 2
            ORDER BY e.seq LIMIT 1
        )
        ELSE search.low END,
        CASE WHEN (
            SELECT CASE WHEN e.seq < search.high AND e.timestamp < %(ts)s THEN 1 ELSE 0 END
            FROM ledger_ledgerentry e WHERE e.seq >= (search.low + search.high) / 2
            ORDER BY e.seq LIMIT 1
        ) = 1
        THEN search.high
        ELSE (search.low + search.high) / 2 END
    FROM search WHERE search.low < search.high
)
SELECT low FROM search WHERE low >= high
"""


def _first_seq_at_or_after(timestamp: str, size: int) -> int:
    """Smallest ``seq`` whose timestamp is >= ``timestamp`` (``size`` if none)."""
    with connection.cursor() as cursor:
        cursor.execute(_BISECT_SQL, {"size": size, "ts": timestamp})
        row = cursor.fetchone()
    return size if row is None else int(row[0])


def _seq_range(filters: EntryFilters, size: int) -> _Range:
    low, high = -1, size
    if filters.time_from:
        low = _first_seq_at_or_after(filters.time_from, size) - 1
    if filters.time_to:
        high = _first_seq_at_or_after(filters.time_to, size)
    return _Range(low, high)


# --- Matching seqs ------------------------------------------------------------------------------


def _ordered(queryset: QuerySet, descending: bool) -> QuerySet:
    return queryset.order_by("-seq" if descending else "seq")


def _facet_matches(
    filters: EntryFilters, span: _Range, *, descending: bool, limit: int
) -> list[int]:
    queryset = LedgerEntryFacet.objects.filter(seq__gt=span.low, seq__lt=span.high)
    if filters.actor:
        queryset = queryset.filter(actor=filters.actor)
    if filters.subject_id:
        queryset = queryset.filter(subject_id=filters.subject_id)
    if filters.subject_type:
        queryset = queryset.filter(subject_type=filters.subject_type)
    if filters.entry_type:
        queryset = queryset.filter(entry_type=filters.entry_type)
    return list(_ordered(queryset, descending).values_list("seq", flat=True)[:limit])


def _facets_match(filters: EntryFilters, entry_type: str, payload: str) -> bool:
    if filters.entry_type and entry_type != filters.entry_type:
        return False
    actor, subject_type, subject_id = entry_facets(entry_type, json.loads(payload))
    return (
        (not filters.actor or actor == filters.actor)
        and (not filters.subject_type or subject_type == filters.subject_type)
        and (not filters.subject_id or subject_id == filters.subject_id)
    )


# Values whose JSON form is the value in quotes (nothing to escape): for those, the payload text
# must contain it quoted, which the database checks before Python parses anything.
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9 _.:+/@#=-]+")


def _tail_rows(filters: EntryFilters, low: int, high: int) -> QuerySet:
    """Entries in ``low < seq < high`` that may match: narrowed by type and, for plain values,
    by the quoted value appearing in the payload text (exact matching follows in Python)."""
    queryset = LedgerEntry.objects.filter(seq__gt=low, seq__lt=high)
    if filters.entry_type:
        queryset = queryset.filter(entry_type=filters.entry_type)
    for value in (filters.actor, filters.subject_type, filters.subject_id):
        if value and _PLAIN_VALUE.fullmatch(value):
            queryset = queryset.filter(payload__contains=f'"{value}"')
    return queryset.order_by("seq").values_list("seq", "entry_type", "payload")


@dataclass
class _Search:
    """Which seqs match ``filters`` in a range, in either direction, up to a limit.

    The tail (entries after the side table's last row, at most ``TAIL_SCAN_MAX``) is read once per
    page and its matches kept, so the page and its "newer"/"older" probes share one scan.
    """

    filters: EntryFilters
    size: int
    high_water: int = -1
    unsearched: tuple[int, int] | None = field(default=None)
    _tail: list[int] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.filters.uses_facets:
            self.high_water = facets_high_water()
            tail_start = self.high_water + 1
            scan_start = max(tail_start, self.size - TAIL_SCAN_MAX)
            if scan_start > tail_start:
                self.unsearched = (tail_start, scan_start - 1)

    @property
    def tail_low(self) -> int:
        """Exclusive lower bound of the tail that is read."""
        return self.high_water if self.unsearched is None else self.unsearched[1]

    def tail_matches(self) -> list[int]:
        if self._tail is None:
            rows = _tail_rows(self.filters, self.tail_low, self.size)
            self._tail = [
                seq
                # A plain fetch: the tail is short and pre-narrowed (a server-side cursor, which
                # iterator() opens on PostgreSQL, costs more than it saves here).
                for seq, entry_type, payload in rows
                if _facets_match(self.filters, entry_type, payload)
            ]
        return self._tail

    def _from_tail(self, span: _Range, *, descending: bool, limit: int) -> list[int]:
        matches = self.tail_matches()
        inside = matches[bisect_right(matches, span.low) : bisect_left(matches, span.high)]
        return (inside[::-1] if descending else inside)[:limit]

    def seqs(self, span: _Range, *, descending: bool, limit: int) -> list[int]:
        if span.empty or limit <= 0:
            return []
        if not self.filters.uses_facets:
            queryset = LedgerEntry.objects.filter(seq__gt=span.low, seq__lt=span.high)
            if self.filters.entry_type:
                queryset = queryset.filter(entry_type=self.filters.entry_type)
            return list(_ordered(queryset, descending).values_list("seq", flat=True)[:limit])
        indexed = _Range(span.low, min(span.high, self.high_water + 1))
        tail = _Range(max(span.low, self.tail_low), span.high)
        found: list[int] = []
        if descending and not tail.empty:
            found += self._from_tail(tail, descending=True, limit=limit)
        if not indexed.empty and len(found) < limit:
            found += _facet_matches(
                self.filters, indexed, descending=descending, limit=limit - len(found)
            )
        if not descending and not tail.empty and len(found) < limit:
            found += self._from_tail(tail, descending=False, limit=limit - len(found))
        return found


def entries_page(
    *,
    filters: EntryFilters,
    before: int | None = None,
    after: int | None = None,
    limit: int = PAGE_SIZE,
) -> EntryPage:
    """One page of entries, newest first: those just older than ``before`` (default: the newest),
    or, given ``after``, those just newer than it. Cost does not depend on the position."""
    size = selectors.ledger_size()
    bounds = _seq_range(filters, size)
    search = _Search(filters, size)
    if after is not None:
        span = _Range(max(bounds.low, after), bounds.high)
        seqs = search.seqs(span, descending=False, limit=limit)
        seqs.reverse()
    else:
        top = bounds.high if before is None else min(bounds.high, before)
        seqs = search.seqs(_Range(bounds.low, top), descending=True, limit=limit)
    if not seqs and after is not None:
        # Past the newest match: show the newest page rather than nothing.
        return entries_page(filters=filters, limit=limit)
    newer = older = None
    if seqs:
        newest, oldest = seqs[0], seqs[-1]
        if search.seqs(_Range(newest, bounds.high), descending=False, limit=1):
            newer = newest
        if search.seqs(_Range(bounds.low, oldest), descending=True, limit=1):
            older = oldest
    rows = LedgerEntry.objects.filter(seq__in=seqs).values_list(*_ENTRY_COLUMNS)
    by_seq = {row[0]: row for row in rows}
    return EntryPage(
        rows=[_row(*by_seq[seq]) for seq in seqs if seq in by_seq],
        newer=newer,
        older=older,
        ledger_size=size,
        unsearched=search.unsearched,
    )


def _row(seq: int, entry_type: str, timestamp: str, payload: str) -> EntryRow:
    actor, subject_type, subject_id = entry_facets(entry_type, json.loads(payload))
    return EntryRow(seq, entry_type, timestamp, actor, subject_type, subject_id)


# --- One entry ----------------------------------------------------------------------------------


def checkpoint_covering(*, seq: int) -> Checkpoint | None:
    """The first signed checkpoint whose tree contains entry ``seq`` (stable over time)."""
    return Checkpoint.objects.filter(tree_size__gt=seq).order_by("tree_size").first()


def entry_detail(*, seq: int) -> dict[str, Any]:
    """An entry as the browser shows it: its canonical bytes (exactly what was hashed), both
    hashes, the envelope, and, once a checkpoint covers it, the inclusion proof against that
    checkpoint (the ``/ledger/proof/inclusion`` shape) and the checkpoint's signed note."""
    entry = selectors.entry_get(seq=seq)
    canonical = canonical_entry_text(
        seq=entry.seq,
        entry_type=entry.entry_type,
        timestamp=entry.timestamp,
        payload_text=entry.payload,
        prev_hash=entry.prev_hash,
    )
    payload = json.loads(entry.payload)
    actor, subject_type, subject_id = entry_facets(entry.entry_type, payload)
    checkpoint = checkpoint_covering(seq=seq)
    proof = (
        selectors.inclusion_proof(seq=seq, tree_size=checkpoint.tree_size) if checkpoint else None
    )
    leaf = hashlib.sha256(b"\x00" + canonical).digest()
    return {
        "entry": entry,
        "canonical": canonical.decode(),
        "payload_pretty": json.dumps(
            events.read_event(entry.entry_type, payload) if payload else payload,
            indent=2,
            ensure_ascii=False,
        ),
        "entry_hash_matches": hashlib.sha256(canonical).hexdigest() == entry.entry_hash,
        "leaf_hash_hex": leaf.hex(),
        "stored_leaf_matches": bytes(entry.leaf_hash) == leaf,
        "actor": actor,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "checkpoint": checkpoint,
        "proof": proof,
    }


def inclusion_proof_for_entry(*, seq: int) -> dict[str, Any]:
    """The proof of entry ``seq`` against the checkpoint that covers it (``NotFound`` if none)."""
    selectors.entry_get(seq=seq)
    checkpoint = checkpoint_covering(seq=seq)
    if checkpoint is None:
        raise NotFound(f"No signed checkpoint covers entry {seq} yet.")
    return selectors.inclusion_proof(seq=seq, tree_size=checkpoint.tree_size)


# --- Checkpoints --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignatureLine:
    key_name: str
    key_id: str
    algorithm: str
    kid: str
    signature: str
    verified: bool


@dataclass(frozen=True)
class CheckpointRow:
    tree_size: int
    root_hex: str
    root_base64: str
    created_at: Any
    note: str
    trusted: bool
    message: str
    signatures: list[SignatureLine]


def checkpoint_row(checkpoint: Checkpoint, *, keys: list | None = None) -> CheckpointRow:
    """A checkpoint with each signature line named (key, algorithm) and checked on the server
    against every published checkpoint key."""
    keys = selectors.keys_list() if keys is None else keys
    by_id: dict[tuple[str, bytes], tuple[str, str]] = {}
    verifier_keys = []
    for key in keys:
        parsed = parse_note_key(selectors.key_note_key(key))
        verifier_keys.append(parsed)
        by_id[(parsed.name, parsed.key_id)] = (key.algorithm, key.kid)
    check = check_checkpoint(checkpoint.note, verifier_keys)
    verified = {
        (key.name, key.key_id)
        for key in (check.verification.verified if check.verification else ())
    }
    lines: list[SignatureLine] = []
    try:
        signatures = parse_signed_note(checkpoint.note).signatures
    except NoteFormatError:
        signatures = ()
    for signature in signatures:
        algorithm, kid = by_id.get((signature.name, signature.key_id), ("unknown key", ""))
        lines.append(
            SignatureLine(
                key_name=signature.name,
                key_id=signature.key_id.hex(),
                algorithm=algorithm,
                kid=kid,
                signature=base64.b64encode(signature.signature).decode(),
                verified=(signature.name, signature.key_id) in verified,
            )
        )
    root = bytes(checkpoint.root_hash)
    return CheckpointRow(
        tree_size=checkpoint.tree_size,
        root_hex=root.hex(),
        root_base64=base64.b64encode(root).decode(),
        created_at=checkpoint.created_at,
        note=checkpoint.note,
        trusted=check.trusted,
        message=check.message,
        signatures=lines,
    )


@dataclass(frozen=True)
class CheckpointPage:
    rows: list[CheckpointRow]
    newer: int | None
    older: int | None


def checkpoints_page(
    *, before: int | None = None, after: int | None = None, limit: int = 20
) -> CheckpointPage:
    """Signed checkpoints, largest first, keyset-paged on ``tree_size``."""
    queryset = Checkpoint.objects.all()
    if after is not None:
        items = list(queryset.filter(tree_size__gt=after).order_by("tree_size")[:limit])
        items.reverse()
        if not items:
            return checkpoints_page(limit=limit)
    else:
        if before is not None:
            queryset = queryset.filter(tree_size__lt=before)
        items = list(queryset.order_by("-tree_size")[:limit])
    keys = selectors.keys_list()
    newer = older = None
    if items:
        if Checkpoint.objects.filter(tree_size__gt=items[0].tree_size).exists():
            newer = items[0].tree_size
        if Checkpoint.objects.filter(tree_size__lt=items[-1].tree_size).exists():
            older = items[-1].tree_size
    return CheckpointPage([checkpoint_row(item, keys=keys) for item in items], newer, older)
