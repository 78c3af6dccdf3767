"""Reads of the ledger: entries, verification, proofs, checkpoints, published keys."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q

from apps.core.exceptions import InvalidInput, NotFound
from apps.ledger import merkle, notes, tree
from apps.ledger.keys import load_public
from apps.ledger.models import ChainHead, Checkpoint, LedgerEntry, MerkleNode, SigningKey
from tools import verify_bundle
from tools.verify_bundle import ChainVerifier, NoteVerifierKey, check_checkpoint, parse_note_key

VERIFY_BATCH = 5000
MAX_STORED_ERRORS = 20  # a wholly corrupted tree table must not make the report unbounded


def ledger_size() -> int:
    head = ChainHead.objects.filter(pk=1).values_list("seq", flat=True).first()
    return 0 if head is None else head + 1


def ledger_head_summary() -> dict[str, Any]:
    """For ``/status``: size, head hash and the latest checkpoint size."""
    head = ChainHead.objects.filter(pk=1).first()
    latest = Checkpoint.objects.order_by("-tree_size").values_list("tree_size", flat=True).first()
    return {
        "size": (head.seq + 1) if head else 0,
        "head_hash": head.entry_hash if head and head.seq >= 0 else None,
        "latest_checkpoint_size": latest,
    }


def entry_as_dict(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "entry_type": entry.entry_type,
        "timestamp": entry.timestamp,
        "payload": json.loads(entry.payload),
        "prev_hash": entry.prev_hash,
        "entry_hash": entry.entry_hash,
    }


def entries_list(
    *, offset: int = 0, limit: int = 100, entry_type: str | None = None
) -> tuple[list[LedgerEntry], int]:
    queryset = LedgerEntry.objects.order_by("seq").defer("leaf_hash")
    if entry_type:
        queryset = queryset.filter(entry_type=entry_type)
        total = queryset.count()  # counted on the (entry_type, seq) index
    else:
        total = ledger_size()  # the chain head, not a count of a table that only grows
    return list(queryset[offset : offset + limit]), total


def database_size_bytes() -> int | None:
    """Size of the whole database on PostgreSQL, of the file on SQLite; None when unknown."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_database_size(current_database())")
        elif connection.vendor == "sqlite":
            cursor.execute(
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
            )
        else:
            return None
        row = cursor.fetchone()
    return int(row[0]) if row else None


def entry_type_counts() -> dict[str, int]:
    """Entries per type (a scan of the ``(entry_type, seq)`` index; for reports)."""
    rows = (
        LedgerEntry.objects.order_by()
        .values_list("entry_type")
        .annotate(n=Count("seq"))
        .order_by("entry_type")
    )
    return dict(rows)


def entry_timestamp_range() -> tuple[str | None, str | None]:
    """Timestamps of the first and the last entry (primary-key look-ups)."""
    ordered = LedgerEntry.objects.order_by("seq").values_list("timestamp", flat=True)
    return ordered.first(), LedgerEntry.objects.order_by("-seq").values_list(
        "timestamp", flat=True
    ).first()


def entry_hash_valid(entry: LedgerEntry) -> bool:
    """Whether the stored ``entry_hash`` is the hash of the entry's own fields (one entry; the
    chain is ``ledger_verify``'s)."""
    recomputed = verify_bundle.entry_hash(
        {
            "seq": entry.seq,
            "entry_type": entry.entry_type,
            "timestamp": entry.timestamp,
            "payload": json.loads(entry.payload),
            "prev_hash": entry.prev_hash,
        }
    )
    return recomputed == entry.entry_hash


def entries_by_seq(*, seqs: list[int]) -> list[LedgerEntry]:
    """The entries with these sequence numbers (one query)."""
    return list(LedgerEntry.objects.filter(seq__in=seqs).defer("leaf_hash"))


def entry_get(*, seq: int) -> LedgerEntry:
    entry = LedgerEntry.objects.filter(seq=seq).first()
    if entry is None:
        raise NotFound(f"No ledger entry with seq {seq}.")
    return entry


# --- Keys ---------------------------------------------------------------------------------------------


def key_note_key(key: SigningKey) -> str:
    name = (
        settings.LEXECON_ORIGIN
        if key.purpose == SigningKey.Purpose.CHECKPOINT
        else (f"{settings.LEXECON_ORIGIN}/tokens")
    )
    return notes.note_key(name, load_public(key.public_key))


def key_as_dict(key: SigningKey) -> dict[str, Any]:
    return {
        "kid": key.kid,
        "algorithm": key.algorithm,
        "purpose": key.purpose,
        "public_key": base64.b64encode(bytes(key.public_key)).decode(),
        "note_key": key_note_key(key),
        "status": key.status,
        "not_before": key.not_before.isoformat().replace("+00:00", "Z"),
        "not_after": key.not_after.isoformat().replace("+00:00", "Z") if key.not_after else None,
    }


def keys_list(*, purpose: str = SigningKey.Purpose.CHECKPOINT) -> list[SigningKey]:
    return list(SigningKey.objects.filter(purpose=purpose).order_by("created_at", "kid"))


def checkpoint_verifier_keys() -> list[NoteVerifierKey]:
    """Every checkpoint key ever published (active and retired) as note verifier keys."""
    return [parse_note_key(key_note_key(key)) for key in keys_list()]


# --- Verification -------------------------------------------------------------------------------------


def ledger_verify(*, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Recompute every hash and link, the tree against every stored signed checkpoint, and what
    proofs are served from: each stored ``leaf_hash`` and each stored Merkle node.
    ``progress`` (optional) is called after each batch with the number of entries read so far.

    Streams rows in batches (bounded memory: one batch of entries and the nodes it completes).
    The report names the first bad ``seq`` and the kind of failure (``hash_mismatch,
    broken_link, gap, truncated, root_mismatch, bad_signature, stored_leaf_mismatch,
    stored_node_mismatch`` …).
    """
    keys = checkpoint_verifier_keys()
    checks = [
        check_checkpoint(note, keys) for note in Checkpoint.objects.values_list("note", flat=True)
    ]
    # Rows carry the payload as its stored canonical text: no parse and re-encode per entry.
    verifier = ChainVerifier(
        checks, origin=settings.LEXECON_ORIGIN, payload_as_text=True, keep_leaves=True
    )
    stored = _StoredTreeCheck()
    last = -1
    rows = LedgerEntry.objects.order_by("seq").values_list(
        "seq", "entry_type", "timestamp", "payload", "prev_hash", "entry_hash", "leaf_hash"
    )
    intact = True
    while True:
        batch = list(rows.filter(seq__gt=last)[:VERIFY_BATCH])
        if not batch:
            break
        last = batch[-1][0]
        intact = verifier.feed_many([row[:6] for row in batch])
        stored.check_leaves(batch, verifier.batch_leaves)
        stored.check_nodes(verifier.completed)
        verifier.completed.clear()
        if progress is not None:
            progress(last + 1)
        if not intact:
            break
    if intact:
        stored.check_no_other_nodes(verifier.size)
    return verifier.finish(extra_errors=stored.errors)


class _StoredTreeCheck:
    """Compares the stored leaf hashes and Merkle nodes with those recomputed from the entries.

    Proofs are served from these (``tree.DatabaseProvider``), not from the entries, so a changed
    node or leaf hash would change what an auditor is served while the chain stays intact.
    """

    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []
        self.nodes_checked = 0

    def _add(self, error: dict[str, Any]) -> None:
        if len(self.errors) < MAX_STORED_ERRORS:
            self.errors.append(error)

    def check_leaves(self, rows: list[tuple], computed: list[bytes]) -> None:
        """``computed`` has one leaf per verified row (fewer when the chain failed in this batch)."""
        for row, leaf in zip(rows, computed, strict=False):
            if bytes(row[6]) != leaf:
                self._add(
                    {
                        "code": "stored_leaf_mismatch",
                        "seq": row[0],
                        "message": f"entry {row[0]}: the stored leaf_hash differs from the hash "
                        "of the entry, so proofs served for it are wrong",
                        "stored_hash": bytes(row[6]).hex(),
                        "computed_hash": leaf.hex(),
                    }
                )

    def check_nodes(self, completed: list[tuple[int, int, bytes]]) -> None:
        """Compare the stored nodes among the perfect subtrees ``completed`` by the last batch."""
        wanted = {
            (level, index): value
            for level, index, value in completed
            if level >= merkle.STORED_MIN_LEVEL
        }
        if not wanted:
            return
        spans: dict[int, list[int]] = {}
        for level, index in wanted:
            low, high = spans.setdefault(level, [index, index])
            spans[level] = [min(low, index), max(high, index)]
        query = Q()
        for level, (low, high) in spans.items():
            query |= Q(level=level, index__gte=low, index__lte=high)
        found = MerkleNode.objects.filter(query).order_by("level", "index")
        for level, index, value in found.values_list("level", "index", "hash"):
            expected = wanted.get((level, index))
            if expected is None:  # inside a span but not completed by this batch
                continue
            self.nodes_checked += 1
            if bytes(value) != expected:
                self._node_error(level, index, bytes(value), expected)

    def check_no_other_nodes(self, size: int) -> None:
        """Every stored node was compared, unless some lie outside the complete subtrees."""
        if MerkleNode.objects.count() == self.nodes_checked:
            return
        nodes = MerkleNode.objects.order_by("level", "index").values_list("level", "index", "hash")
        for level, index, value in nodes.iterator(chunk_size=VERIFY_BATCH):
            if level < merkle.STORED_MIN_LEVEL or (index + 1) << level > size:
                self._node_error(level, index, bytes(value), None)

    def _node_error(self, level: int, index: int, value: bytes, computed: bytes | None) -> None:
        leaves = [index << level, (index + 1) << level]
        where = f"stored Merkle node L{level}#{index} (entries [{leaves[0]}, {leaves[1]}))"
        problem = (
            "differs from the hash recomputed from the entries"
            if computed is not None
            else "is not a complete subtree of the ledger's stored levels"
        )
        self._add(
            {
                "code": "stored_node_mismatch",
                "seq": None,
                "message": f"{where} {problem}, so proofs served through it are wrong",
                "level": level,
                "index": index,
                "leaves": leaves,
                "stored_hash": value.hex(),
                "computed_hash": computed.hex() if computed is not None else None,
            }
        )


# --- Proofs -------------------------------------------------------------------------------------------


def _b64(values: list[bytes]) -> list[str]:
    return [base64.b64encode(value).decode() for value in values]


def inclusion_proof(*, seq: int, tree_size: int | None = None) -> dict[str, Any]:
    size = ledger_size()
    tree_size = size if tree_size is None else tree_size
    if tree_size < 1 or tree_size > size:
        raise InvalidInput(
            f"tree_size must be between 1 and the ledger size {size}.",
            details={"tree_size": tree_size, "ledger_size": size},
        )
    if seq < 0 or seq >= tree_size:
        raise InvalidInput(
            f"seq must be in [0, {tree_size}).", details={"seq": seq, "tree_size": tree_size}
        )
    leaf, proof = tree.inclusion_proof(seq, tree_size)
    return {
        "seq": seq,
        "tree_size": tree_size,
        "leaf_hash": base64.b64encode(leaf).decode(),
        "proof": _b64(proof),
    }


def consistency_proof(*, first: int, second: int) -> dict[str, Any]:
    size = ledger_size()
    if not 1 <= first <= second <= size:
        raise InvalidInput(
            f"Need 1 <= first <= second <= ledger size ({size}).",
            details={"first": first, "second": second, "ledger_size": size},
        )
    proof = tree.consistency_proof(first, second)
    return {"first": first, "second": second, "proof": _b64(proof)}


def checkpoint_latest() -> Checkpoint | None:
    return Checkpoint.objects.order_by("-tree_size").first()


def checkpoints_list(*, offset: int = 0, limit: int = 100) -> tuple[list[Checkpoint], int]:
    queryset = Checkpoint.objects.order_by("-tree_size")
    return list(queryset[offset : offset + limit]), queryset.count()


# --- Evidence packages (apps.audit.package) ------------------------------------------------------------

EntryRow = tuple[int, str, str, str, str, str, bytes]


def entry_rows(seqs: list[int]) -> list[EntryRow]:
    """``(seq, entry_type, timestamp, payload text, prev_hash, entry_hash, leaf_hash)`` of the
    entries ``seqs``, in ``seq`` order; the caller batches (a few hundred seqs per call)."""
    rows = (
        LedgerEntry.objects.filter(seq__in=seqs)
        .order_by("seq")
        .values_list(
            "seq", "entry_type", "timestamp", "payload", "prev_hash", "entry_hash", "leaf_hash"
        )
    )
    return [(*row[:6], bytes(row[6])) for row in rows]


def merkle_nodes_within(size: int) -> dict[tuple[int, int], bytes]:
    """Every stored perfect-subtree hash that lies inside the tree of ``size`` entries.

    About one row per 128 entries, so a package over a million entries holds ~8,000 of them.
    """
    nodes: dict[tuple[int, int], bytes] = {}
    rows = MerkleNode.objects.values_list("level", "index", "hash")
    for level, index, value in rows.iterator(chunk_size=VERIFY_BATCH):
        if (index + 1) << level <= size:
            nodes[(level, index)] = bytes(value)
    return nodes


def checkpoint_covering(*, seq: int) -> Checkpoint | None:
    """The smallest signed checkpoint whose tree contains entry ``seq``, if any."""
    return Checkpoint.objects.filter(tree_size__gt=seq).order_by("tree_size").first()
