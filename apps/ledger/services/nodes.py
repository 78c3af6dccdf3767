"""Stored Merkle nodes: every complete perfect subtree of level >= 8, written once, kept for ever."""

from __future__ import annotations

from django.db.models import Max

from apps.ledger import merkle, tree
from apps.ledger.models import MerkleNode

_FILL_BATCH = 64


def merkle_nodes_fill(*, size: int) -> int:
    """Store every complete perfect subtree of level >= 8 inside the first ``size`` entries.

    Idempotent and incremental: it resumes after the last stored 256-leaf block. Returns how many
    nodes it wrote. Complete subtrees never change, so stored nodes stay valid for ever.
    """
    base = merkle.STORED_MIN_LEVEL
    done = MerkleNode.objects.filter(level=base).aggregate(top=Max("index"))["top"]
    next_block = 0 if done is None else done + 1
    last_block = size // tree.CHUNK  # blocks [0, last_block) are complete
    if next_block >= last_block:
        return 0
    # The compact range over 256-leaf blocks resumes from stored nodes (peaks of next_block blocks).
    positions = merkle.CompactRange.peak_positions(next_block)
    stored = {
        (level, index): bytes(value)
        for level, index, value in MerkleNode.objects.filter(
            level__in={level + base for level, _ in positions}
        ).values_list("level", "index", "hash")
    }
    peaks = [stored[(level + base, index)] for level, index in positions]
    blocks = merkle.CompactRange.from_peaks(next_block, peaks)
    written = 0
    # Up to _FILL_BATCH blocks per query and per insert: a checkpoint every 1,000 entries covers
    # about four blocks, a first fill of a million entries about four thousand.
    for first in range(next_block, last_block, _FILL_BATCH):
        stop = min(first + _FILL_BATCH, last_block)
        leaves = tree.leaf_hashes(first * tree.CHUNK, stop * tree.CHUNK)
        rows = []
        for block in range(first, stop):
            offset = (block - first) * tree.CHUNK
            block_hash = merkle.InMemoryProvider(leaves[offset : offset + tree.CHUNK]).get_perfect(
                base, 0
            )
            completed: list[tuple[int, int, bytes]] = []
            blocks.append(block_hash, completed)
            rows.append(MerkleNode(level=base, index=block, hash=block_hash))
            rows += [MerkleNode(level=base + lvl, index=idx, hash=h) for lvl, idx, h in completed]
        MerkleNode.objects.bulk_create(rows, ignore_conflicts=True)
        written += len(rows)
    return written
