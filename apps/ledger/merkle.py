"""RFC 9162 Merkle proof generation over stored perfect subtrees.

What: root computation and inclusion/consistency proof generation (RFC 9162 sections 2.1.3.1
PATH and 2.1.4.1 SUBPROOF, byte for byte) on top of a *perfect subtree provider*: any object with
``get_perfect(level, index) -> bytes`` returning the hash of the aligned perfect subtree that
covers leaves ``[index * 2**level, (index + 1) * 2**level)`` (level 0 = leaf hashes). Every
subtree hash an RFC proof needs is either such a perfect subtree or a right-edge range that
splits into O(log n) of them, so a proof costs O(log n) provider reads at any tree size.

Why this shape: the Django layer serves ``/ledger/proof/*`` at a million entries in
milliseconds without rebuilding the tree. Hashing primitives and ``CompactRange`` come from
``tools/verify_bundle.py`` (the standalone verifier), so generation and verification share one
implementation of leaf/node hashing; verification itself lives only there.

What the database layer should store (recommendation):

- per entry: ``entry_hash`` (hex, for the chain) and ``leaf_hash`` (32 bytes,
  ``SHA-256(0x00 || canonical bytes)``), written in the append transaction;
- a ``merkle_node(level, index, hash)`` table holding every perfect subtree with
  ``level >= STORED_MIN_LEVEL`` (8, i.e. 256 leaves and up). ``CompactRange.append(leaf,
  completed=nodes)`` reports exactly the nodes an append completes, so the append transaction
  inserts them (about one row per 256 entries; 1M entries -> ~3,900 rows);
- a database provider answers ``get_perfect(level, index)`` from ``merkle_node`` when
  ``level >= 8`` and otherwise by reading the 256-leaf block ``[b * 256, (b + 1) * 256)`` that
  contains the subtree (one range query, cached per request) and folding it with
  ``InMemoryProvider``. An inclusion proof at 1M entries then reads at most two leaf blocks
  (the leaf's own and the partial last block, <= 2 x 256 leaf hashes) plus ~12 stored nodes; a
  consistency proof reads the same order of rows. To resume appending after a restart, load the
  head with ``CompactRange.from_peaks(size, [provider.get_perfect(l, i) for l, i in
  CompactRange.peak_positions(size)])``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from tools.verify_bundle import EMPTY_ROOT, HASH_SIZE, CompactRange, leaf_hash, node_hash

__all__ = [
    "STORED_MIN_LEVEL",
    "CompactRange",
    "InMemoryProvider",
    "PerfectSubtreeProvider",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "range_hash",
    "root",
]

#: Perfect subtrees of this level and above are stored by the database layer (see above).
STORED_MIN_LEVEL = 8


class PerfectSubtreeProvider(Protocol):
    """Source of perfect-subtree hashes; level 0 is the leaf hash of entry ``index``."""

    def get_perfect(self, level: int, index: int) -> bytes:
        """Hash of the perfect subtree over leaves ``[index * 2**level, (index + 1) * 2**level)``."""
        ...


def _largest_power_of_two_below(width: int) -> int:
    """RFC 9162 split point k: the largest power of two strictly smaller than ``width`` (>= 2)."""
    return 1 << ((width - 1).bit_length() - 1)


def _check_int(name: str, value: object) -> int:
    if type(value) is not int:
        raise TypeError(f"{name} must be an int")
    return value


def range_hash(start: int, end: int, provider: PerfectSubtreeProvider) -> bytes:
    """Return MTH of leaves ``[start, end)`` (RFC 9162 section 2.1.1), from perfect subtrees.

    An aligned power-of-two range is one provider read; otherwise the range splits at the
    largest power of two below its width, exactly as MTH does. Ranges that RFC proofs ask for
    start at a multiple of a power of two at least as large as their width, so they decompose
    into at most ~log2(width) reads; other ranges are still correct, only slower.
    """
    start, end = _check_int("start", start), _check_int("end", end)
    if not 0 <= start < end:
        raise ValueError("range must satisfy 0 <= start < end")
    width = end - start
    if width & (width - 1) == 0 and start % width == 0:
        level = width.bit_length() - 1
        return provider.get_perfect(level, start >> level)
    split = start + _largest_power_of_two_below(width)
    return node_hash(range_hash(start, split, provider), range_hash(split, end, provider))


def root(size: int, provider: PerfectSubtreeProvider) -> bytes:
    """Return the RFC 9162 root of the first ``size`` leaves (``SHA-256(b"")`` when 0)."""
    if _check_int("size", size) < 0:
        raise ValueError("size must be >= 0")
    return EMPTY_ROOT if size == 0 else range_hash(0, size, provider)


def inclusion_proof(index: int, size: int, provider: PerfectSubtreeProvider) -> list[bytes]:
    """Return PATH(index, D[size]) of RFC 9162 section 2.1.3.1, bottom-most sibling first.

    Raises ``ValueError`` unless ``0 <= index < size`` (the API turns that into a 4xx).
    """
    index, size = _check_int("index", index), _check_int("size", size)
    if not 0 <= index < size:
        raise ValueError("inclusion proof needs 0 <= index < size")
    top_down: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        split = start + _largest_power_of_two_below(end - start)
        if index < split:
            top_down.append(range_hash(split, end, provider))
            end = split
        else:
            top_down.append(range_hash(start, split, provider))
            start = split
    top_down.reverse()
    return top_down


def consistency_proof(first: int, second: int, provider: PerfectSubtreeProvider) -> list[bytes]:
    """Return PROOF(first, D[second]) = SUBPROOF(first, D[second], true) of RFC 9162 2.1.4.1.

    Raises ``ValueError`` unless ``0 < first <= second``; equal sizes give the empty proof.
    """
    first, second = _check_int("first", first), _check_int("second", second)
    if not 0 < first <= second:
        raise ValueError("consistency proof needs 0 < first <= second")
    top_down: list[bytes] = []
    start, end = 0, second
    whole_subtree_known = True  # the flag b of SUBPROOF: is D[start:first] a known old root?
    while True:
        if first == end:
            if not whole_subtree_known:
                top_down.append(range_hash(start, end, provider))
            break
        split = start + _largest_power_of_two_below(end - start)
        if first <= split:
            top_down.append(range_hash(split, end, provider))
            end = split
        else:
            top_down.append(range_hash(start, split, provider))
            start = split
            whole_subtree_known = False
    top_down.reverse()
    return top_down


class InMemoryProvider:
    """Perfect-subtree provider over a list of leaf hashes, all levels built once and cached.

    Why: tests, the benchmark, evidence-package exports and the database provider's per-block
    folding all need a provider over hashes already in memory. Building costs one node hash per
    leaf (about 0.5 s per million leaves); every later read is a list lookup.
    """

    def __init__(self, leaf_hashes: Iterable[bytes]) -> None:
        """Build every complete level above ``leaf_hashes`` (each a 32-byte leaf hash)."""
        level = [bytes(value) for value in leaf_hashes]
        if any(len(value) != HASH_SIZE for value in level):
            raise ValueError("leaf hashes must be 32 bytes")
        self._levels = [level]
        while len(level) > 1:
            pairs = iter(level)
            level = [node_hash(left, right) for left, right in zip(pairs, pairs, strict=False)]
            self._levels.append(level)

    @classmethod
    def from_leaves(cls, leaves: Iterable[bytes]) -> InMemoryProvider:
        """Build from leaf *data* (e.g. canonical entry bytes), hashing each with ``leaf_hash``."""
        return cls(leaf_hash(data) for data in leaves)

    @property
    def size(self) -> int:
        """Number of leaves."""
        return len(self._levels[0])

    def get_perfect(self, level: int, index: int) -> bytes:
        """Return the stored perfect-subtree hash; ``IndexError`` if it does not exist."""
        if level < 0 or index < 0 or level >= len(self._levels):
            raise IndexError("no such perfect subtree")
        return self._levels[level][index]
