"""Merkle proofs as properties (T09): generation, verification, mutations, independent oracles.

Oracles: (1) a literal transcription of the recursive RFC 9162 definitions MTH, PATH and
SUBPROOF over a list of leaf hashes, for byte-for-byte proof equality; (2) ``pymerkle``, an
independent implementation whose default hashing uses the RFC 9162 prefixes (0x00 leaves, 0x01
nodes), for roots and inclusion paths. Verification is then attacked with single-bit mutations
of proof, root, index and sizes, and with random bytes and garbage, which must never raise.
"""

from __future__ import annotations

import functools
import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymerkle import InmemoryTree

from apps.ledger.merkle import (
    CompactRange,
    InMemoryProvider,
    consistency_proof,
    inclusion_proof,
    range_hash,
    root,
)
from tools.verify_bundle import (
    EMPTY_ROOT,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)

MAX_LEAVES = 2000
LEAF_DATA = [b"entry-%d" % position for position in range(2048)]
LEAVES = [leaf_hash(data) for data in LEAF_DATA]
PROVIDER = InMemoryProvider(LEAVES)


# --- the RFC 9162 section 2.1 definitions, transcribed literally (the reference model) ---------


def _split(width: int) -> int:
    k = 1
    while k * 2 < width:
        k *= 2
    return k


@functools.cache
def reference_mth(start: int, end: int) -> bytes:
    """MTH(D[start:end]) over ``LEAVES`` exactly as RFC 9162 section 2.1.1 defines it."""
    if end == start:
        return hashlib.sha256(b"").digest()
    if end - start == 1:
        return LEAVES[start]
    k = _split(end - start)
    return node_hash(reference_mth(start, start + k), reference_mth(start + k, end))


def reference_path(m: int, start: int, end: int) -> list[bytes]:
    """PATH(m, D[start:end]) of RFC 9162 section 2.1.3.1 (``m`` relative to ``start``)."""
    n = end - start
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*reference_path(m, start, start + k), reference_mth(start + k, end)]
    return [*reference_path(m - k, start + k, end), reference_mth(start, start + k)]


def reference_subproof(m: int, start: int, end: int, known: bool) -> list[bytes]:
    """SUBPROOF(m, D[start:end], b) of RFC 9162 section 2.1.4.1."""
    n = end - start
    if m == n:
        return [] if known else [reference_mth(start, end)]
    k = _split(n)
    if m <= k:
        return [*reference_subproof(m, start, start + k, known), reference_mth(start + k, end)]
    return [*reference_subproof(m - k, start + k, end, False), reference_mth(start, start + k)]


# --- what a claim looks like to the verifier, independent of hash values -----------------------


def inclusion_shape(index: int, size: int, length: int) -> tuple[str, ...] | None:
    """The sequence of hash operations RFC 9162 2.1.3.2 performs, or None if it must reject.

    Two claims with the same shape compute the very same hash from the same leaf and proof,
    so a verifier cannot (and need not) tell them apart; any other mutation must be rejected.
    """
    if index < 0 or size <= index:
        return None
    fn, sn, shape = index, size - 1, []
    for _ in range(length):
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            shape.append("sibling-left")
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            shape.append("sibling-right")
        fn, sn = fn >> 1, sn >> 1
    return tuple(shape) if sn == 0 else None


def consistency_shape(size1: int, size2: int, length: int) -> tuple[object, ...] | None:
    """Like ``inclusion_shape`` for RFC 9162 2.1.4.2 consistency verification."""
    if size1 <= 0 or size2 < size1:
        return None
    if size1 == size2:
        return ("equal",) if length == 0 else None
    if length == 0:
        return None
    seeded_by_root1 = size1 & (size1 - 1) == 0
    steps = length + (1 if seeded_by_root1 else 0) - 1
    fn, sn, shape = size1 - 1, size2 - 1, [seeded_by_root1]
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    for _ in range(steps):
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            shape.append("both-left")
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            shape.append("second-right")
        fn, sn = fn >> 1, sn >> 1
    return tuple(shape) if sn == 0 else None


def flip(value: bytes, bit: int) -> bytes:
    data = bytearray(value)
    data[bit // 8] ^= 1 << (bit % 8)
    return bytes(data)


sizes = st.integers(min_value=1, max_value=MAX_LEAVES)


@st.composite
def index_and_size(draw):
    size = draw(sizes)
    return draw(st.integers(min_value=0, max_value=size - 1)), size


@st.composite
def two_sizes(draw):
    size2 = draw(sizes)
    return draw(st.integers(min_value=1, max_value=size2)), size2


# --- generation -------------------------------------------------------------------------------


@settings(max_examples=1000, deadline=None)
@given(index_and_size())
def test_inclusion_proof_is_rfc_path_and_verifies(case):
    index, size = case

    proof = inclusion_proof(index, size, PROVIDER)

    assert proof == reference_path(index, 0, size)
    assert root(size, PROVIDER) == reference_mth(0, size)
    assert verify_inclusion(LEAVES[index], index, size, proof, root(size, PROVIDER)) is True


@settings(max_examples=1000, deadline=None)
@given(two_sizes())
def test_consistency_proof_is_rfc_subproof_and_verifies(case):
    first, second = case

    proof = consistency_proof(first, second, PROVIDER)

    assert proof == (reference_subproof(first, 0, second, True) if first < second else [])
    assert (
        verify_consistency(first, second, proof, root(first, PROVIDER), root(second, PROVIDER))
        is True
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=1, max_value=MAX_LEAVES), st.binary(max_size=8), st.data())
def test_roots_and_paths_agree_with_pymerkle(size, salt, data):
    leaves = [salt + position.to_bytes(4, "big") for position in range(size)]
    oracle = InmemoryTree(algorithm="sha256")  # security on: 0x00 leaf and 0x01 node prefixes
    oracle.append_entries(leaves)
    provider = InMemoryProvider.from_leaves(leaves)
    earlier = data.draw(st.integers(min_value=0, max_value=size), label="earlier size")
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")

    assert root(size, provider) == oracle.get_root()
    assert root(earlier, provider) == oracle.get_root(earlier)
    oracle_path = [bytes.fromhex(h) for h in oracle.prove_inclusion(index + 1).serialize()["path"]]
    oracle_path.remove(leaf_hash(leaves[index]))  # pymerkle includes the leaf itself
    assert inclusion_proof(index, size, provider) == oracle_path


def test_compact_range_matches_provider_at_every_size_and_reports_completed_nodes():
    compact = CompactRange()
    assert compact.root() == EMPTY_ROOT
    completed: list[tuple[int, int, bytes]] = []
    for size, leaf in enumerate(LEAVES[:600], start=1):
        compact.append(leaf, completed)
        assert compact.root() == reference_mth(0, size)
        assert compact.size == size
    assert len(completed) == 600 - bin(600).count("1")  # a binary counter's carries
    for level, index, value in completed:
        assert (
            value
            == PROVIDER.get_perfect(level, index)
            == reference_mth(index << level, (index + 1) << level)
        )


@pytest.mark.parametrize("size", [0, 1, 2, 3, 255, 256, 257, 1000, 2047])
def test_compact_range_resumes_from_stored_peaks(size):
    positions = CompactRange.peak_positions(size)
    peaks = [PROVIDER.get_perfect(level, index) for level, index in positions]

    resumed = CompactRange.from_peaks(size, peaks)
    resumed.append(LEAVES[size])

    assert resumed.root() == reference_mth(0, size + 1)
    assert [1 << level for level, _ in positions] == sorted(
        (1 << level for level, _ in positions), reverse=True
    )
    assert sum(1 << level for level, _ in positions) == size


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=MAX_LEAVES - 1), st.integers(min_value=1, max_value=300))
def test_range_hash_handles_unaligned_ranges(start, width):
    end = min(start + width, MAX_LEAVES)
    assert range_hash(start, end, PROVIDER) == reference_mth(start, end)


@pytest.mark.parametrize(
    ("call", "args"),
    [
        (inclusion_proof, (0, 0)),
        (inclusion_proof, (5, 5)),
        (inclusion_proof, (-1, 5)),
        (consistency_proof, (0, 5)),
        (consistency_proof, (6, 5)),
        (consistency_proof, (-1, 5)),
        (root, (-1,)),
        (range_hash, (5, 5)),
    ],
)
def test_generation_rejects_impossible_requests(call, args):
    with pytest.raises(ValueError, match=r"must|needs"):
        call(*args, PROVIDER)


def test_generation_rejects_non_integer_positions():
    with pytest.raises(TypeError):
        inclusion_proof(True, 5, PROVIDER)
    with pytest.raises(TypeError):
        consistency_proof(1.0, 5, PROVIDER)


# --- verification under mutation -------------------------------------------------------------


@settings(max_examples=1000, deadline=None)
@given(index_and_size(), st.data())
def test_single_bit_mutations_of_inclusion_claims_are_rejected(case, data):
    index, size = case
    proof = inclusion_proof(index, size, PROVIDER)
    good_root = root(size, PROVIDER)
    target = data.draw(st.sampled_from(["proof", "root", "leaf", "index", "size"]))

    if target == "proof" and proof:
        position = data.draw(st.integers(0, len(proof) - 1))
        bit = data.draw(st.integers(0, 255))
        mutated = [*proof[:position], flip(proof[position], bit), *proof[position + 1 :]]
        assert verify_inclusion(LEAVES[index], index, size, mutated, good_root) is False
    elif target in ("root", "leaf", "proof"):
        bit = data.draw(st.integers(0, 255))
        # An empty proof (size 1) has nothing to flip: mutate the root instead.
        bad_root = flip(good_root, bit) if target in ("root", "proof") else good_root
        bad_leaf = flip(LEAVES[index], bit) if target == "leaf" else LEAVES[index]
        assert verify_inclusion(bad_leaf, index, size, proof, bad_root) is False
    else:
        # RFC 9162 inclusion proofs do not bind the tree size by themselves: leaf 32 has the same
        # path (and the same hash computation) in trees of 260 and 276 leaves. Only the signed
        # checkpoint binds size and root together, so a size flip must be rejected exactly when
        # it changes the computation; about a third of random flips do, the rest cannot.
        bit = data.draw(st.integers(0, 12))
        new_index = index ^ (1 << bit) if target == "index" else index
        new_size = size ^ (1 << bit) if target == "size" else size
        original_shape = inclusion_shape(index, size, len(proof))
        indistinguishable = inclusion_shape(new_index, new_size, len(proof)) == original_shape
        verified = verify_inclusion(LEAVES[index], new_index, new_size, proof, good_root)
        assert verified is indistinguishable
        if target == "index":  # a leaf's position is always bound by its proof
            assert verified is False


@settings(max_examples=1000, deadline=None)
@given(two_sizes(), st.data())
def test_single_bit_mutations_of_consistency_claims_are_rejected(case, data):
    first, second = case
    proof = consistency_proof(first, second, PROVIDER)
    root1, root2 = root(first, PROVIDER), root(second, PROVIDER)
    target = data.draw(st.sampled_from(["proof", "root1", "root2", "first", "second"]))

    if target == "proof" and proof:
        position = data.draw(st.integers(0, len(proof) - 1))
        mutated = [*proof[:position], flip(proof[position], data.draw(st.integers(0, 255)))]
        mutated += proof[position + 1 :]
        assert verify_consistency(first, second, mutated, root1, root2) is False
    elif target in ("root1", "root2", "proof"):
        bit = data.draw(st.integers(0, 255))
        bad1 = flip(root1, bit) if target == "root1" else root1
        bad2 = flip(root2, bit) if target in ("root2", "proof") else root2  # empty proof
        assert verify_consistency(first, second, proof, bad1, bad2) is False
    else:
        bit = data.draw(st.integers(0, 12))
        new_first = first ^ (1 << bit) if target == "first" else first
        new_second = second ^ (1 << bit) if target == "second" else second
        shape = consistency_shape(first, second, len(proof))
        indistinguishable = consistency_shape(new_first, new_second, len(proof)) == shape
        verified = verify_consistency(new_first, new_second, proof, root1, root2)
        assert verified is indistinguishable


@pytest.mark.parametrize(("index", "size"), [(0, 1), (0, 2), (5, 7), (6, 7), (511, 1000)])
def test_every_bit_of_a_proof_and_root_matters(index, size):
    proof = inclusion_proof(index, size, PROVIDER)
    good_root = root(size, PROVIDER)
    for position, element in enumerate(proof):
        for bit in range(256):
            mutated = [*proof[:position], flip(element, bit), *proof[position + 1 :]]
            assert not verify_inclusion(LEAVES[index], index, size, mutated, good_root)
    for bit in range(256):
        assert not verify_inclusion(LEAVES[index], index, size, proof, flip(good_root, bit))


def test_proof_elements_must_all_be_consumed_and_sizes_covered():
    proof = inclusion_proof(3, 10, PROVIDER)
    good_root = root(10, PROVIDER)
    assert verify_inclusion(LEAVES[3], 3, 10, proof, good_root)
    assert not verify_inclusion(LEAVES[3], 3, 10, [*proof, proof[-1]], good_root)
    assert not verify_inclusion(LEAVES[3], 3, 10, proof[:-1], good_root)
    consistency = consistency_proof(3, 10, PROVIDER)
    root3 = root(3, PROVIDER)
    assert verify_consistency(3, 10, consistency, root3, good_root)
    assert not verify_consistency(3, 10, [*consistency, consistency[-1]], root3, good_root)
    assert not verify_consistency(3, 10, consistency[:-1], root3, good_root)
    assert not verify_consistency(3, 10, [], root3, good_root)
    assert not verify_consistency(0, 10, consistency, EMPTY_ROOT, good_root)


hashes32 = st.binary(min_size=32, max_size=32)
any_bytes = st.binary(max_size=80)
garbage = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | any_bytes,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=8,
)


@settings(max_examples=1000, deadline=None)
@given(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.lists(st.one_of(hashes32, any_bytes), min_size=1, max_size=70),
    st.one_of(hashes32, any_bytes),
    st.one_of(hashes32, any_bytes),
)
def test_random_bytes_as_proofs_are_rejected_without_raising(a, b, proof, root1, root2):
    assert verify_inclusion(root1, a, b, proof, root2) is False
    assert verify_consistency(a, b, proof, root1, root2) is False


@settings(max_examples=500, deadline=None)
@given(garbage, garbage, garbage, garbage, garbage)
def test_garbage_of_any_type_is_answered_never_raised(a, b, c, d, e):
    assert verify_inclusion(a, b, c, d, e) in (True, False)
    assert verify_consistency(a, b, c, d, e) in (True, False)
