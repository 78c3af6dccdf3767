"""The Merkle tree as stored: leaf hashes per entry plus perfect-subtree nodes of level >= 8.

``DatabaseProvider`` answers ``get_perfect(level, index)`` for ``apps.ledger.merkle``'s proof and root
functions: stored nodes for level >= 8 (filled by ``services.merkle_nodes_fill``; a missing one is
folded from its 256-leaf blocks), and for lower levels the 256-leaf block holding the subtree, read
once per request. An inclusion proof at a million entries reads about two blocks and a dozen nodes.
"""

from __future__ import annotations

from django.db import connection

from apps.core.exceptions import ServiceUnavailable
from apps.ledger import merkle
from apps.ledger.models import LedgerEntry, MerkleNode

CHUNK = 1 << merkle.STORED_MIN_LEVEL


def leaf_hashes(start: int, end: int) -> list[bytes]:
    """Leaf hashes of entries ``[start, end)`` in order; a hole means the ledger was damaged."""
    rows = LedgerEntry.objects.filter(seq__gte=start, seq__lt=end).order_by("seq")
    hashes = [bytes(value) for value in rows.values_list("leaf_hash", flat=True)]
    if len(hashes) != end - start:
        raise ServiceUnavailable(
            f"Ledger entries are missing in [{start}, {end}); run verify_ledger."
        )
    return hashes


class DatabaseProvider:
    """Perfect-subtree hashes for a tree of ``size`` entries, read lazily with per-request caching."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._blocks: dict[int, merkle.InMemoryProvider] = {}
        self._nodes: dict[tuple[int, int], bytes] = {}

    def _block(self, block: int) -> merkle.InMemoryProvider:
        provider = self._blocks.get(block)
        if provider is None:
            start = block * CHUNK
            provider = merkle.InMemoryProvider(leaf_hashes(start, min(start + CHUNK, self.size)))
            self._blocks[block] = provider
        return provider

    def prefetch(self, positions: set[tuple[int, int]]) -> None:
        """Load, in two plain SQL queries, every stored node and leaf block ``positions`` need.

        Raw SQL on purpose: this is the hot path of ``/ledger/proof/*`` and building OR-ed ORM
        filters cost more than the queries themselves.
        """
        base = merkle.STORED_MIN_LEVEL
        nodes = sorted(p for p in positions if p[0] >= base and p not in self._nodes)
        blocks = sorted(
            {(index << level) // CHUNK for level, index in positions if level < base}
            - set(self._blocks)
        )
        with connection.cursor() as cursor:
            if nodes:
                where = " OR ".join(['(level = %s AND "index" = %s)'] * len(nodes))
                cursor.execute(
                    f'SELECT level, "index", hash FROM ledger_merklenode WHERE {where}',  # noqa: S608 # nosec B608 - placeholders only
                    [value for node in nodes for value in node],
                )
                for level, index, value in cursor.fetchall():
                    self._nodes[(level, index)] = bytes(value)
            if blocks:
                bounds = [(b * CHUNK, min((b + 1) * CHUNK, self.size)) for b in blocks]
                where = " OR ".join(["(seq >= %s AND seq < %s)"] * len(bounds))
                cursor.execute(
                    f"SELECT seq, leaf_hash FROM ledger_ledgerentry WHERE {where} ORDER BY seq",  # noqa: S608 # nosec B608 - placeholders only
                    [value for bound in bounds for value in bound],
                )
                rows = cursor.fetchall()
        if blocks:
            leaves: dict[int, list[bytes]] = {block: [] for block in blocks}
            for seq, value in rows:
                leaves[seq // CHUNK].append(bytes(value))
            for (start, end), block in zip(bounds, blocks, strict=True):
                if len(leaves[block]) != end - start:
                    raise ServiceUnavailable(
                        f"Ledger entries are missing in [{start}, {end}); run verify_ledger."
                    )
                self._blocks[block] = merkle.InMemoryProvider(leaves[block])

    def get_perfect(self, level: int, index: int) -> bytes:
        if (index + 1) << level > self.size:
            raise ValueError(f"subtree L{level}#{index} is not complete in a tree of {self.size}")
        base = merkle.STORED_MIN_LEVEL
        if level < base:
            block = (index << level) // CHUNK
            local = index - (block << (base - level))
            return self._block(block).get_perfect(level, local)
        key = (level, index)
        value = self._nodes.get(key)
        if value is None:
            row = MerkleNode.objects.filter(level=level, index=index).values_list("hash", flat=True)
            found = row.first()
            if found is not None:
                value = bytes(found)
            elif level == base:
                value = self._block(index).get_perfect(base, 0)
            else:
                value = merkle.node_hash(
                    self.get_perfect(level - 1, 2 * index),
                    self.get_perfect(level - 1, 2 * index + 1),
                )
            self._nodes[key] = value
        return value


class _RecordingProvider:
    """Answers with a placeholder hash and records which subtrees a proof asks for.

    Which subtrees an RFC 9162 proof needs depends only on the index and sizes, never on hash
    values, so one dry run tells ``DatabaseProvider.prefetch`` everything to load.
    """

    def __init__(self) -> None:
        self.positions: set[tuple[int, int]] = set()

    def get_perfect(self, level: int, index: int) -> bytes:
        self.positions.add((level, index))
        return bytes(32)


def root(size: int) -> bytes:
    """The RFC 9162 root of the first ``size`` entries, its stored nodes and blocks read up front."""
    recorder = _RecordingProvider()
    merkle.root(size, recorder)
    provider = DatabaseProvider(size)
    provider.prefetch(recorder.positions)
    return merkle.root(size, provider)


def inclusion_proof(index: int, size: int) -> tuple[bytes, list[bytes]]:
    """``(leaf_hash, proof)`` for entry ``index`` in the tree of ``size`` entries, in ~3 queries."""
    recorder = _RecordingProvider()
    merkle.inclusion_proof(index, size, recorder)
    provider = DatabaseProvider(size)
    provider.prefetch(recorder.positions | {(0, index)})
    return provider.get_perfect(0, index), merkle.inclusion_proof(index, size, provider)


def consistency_proof(first: int, second: int) -> list[bytes]:
    """The RFC 9162 consistency proof between tree sizes ``first`` and ``second``."""
    recorder = _RecordingProvider()
    merkle.consistency_proof(first, second, recorder)
    provider = DatabaseProvider(second)
    provider.prefetch(recorder.positions)
    return merkle.consistency_proof(first, second, provider)
