"""Stored Merkle nodes + the database provider give exactly the proofs of an in-memory tree."""

from __future__ import annotations

import pytest

from apps.ledger import merkle, services, tree
from apps.ledger.models import LedgerEntry, MerkleNode
from apps.ledger.services import nodes
from tests.ledger.conftest import append_many
from tools.verify_bundle import verify_consistency, verify_inclusion

SIZE = 600  # crosses two 256-leaf blocks and ends inside a third


@pytest.fixture
def ledger600(db):
    append_many(SIZE - 1)  # + genesis
    assert LedgerEntry.objects.count() == SIZE
    leaves = [
        bytes(v) for v in LedgerEntry.objects.order_by("seq").values_list("leaf_hash", flat=True)
    ]
    return merkle.InMemoryProvider(leaves)


def test_fill_is_incremental_and_matches_memory(ledger600):
    assert services.merkle_nodes_fill(size=300) == 1  # block 0 only
    assert services.merkle_nodes_fill(size=300) == 0
    assert services.merkle_nodes_fill(size=SIZE) == 2  # block 1 and its parent (level 9, index 0)
    stored = {(n.level, n.index): bytes(n.hash) for n in MerkleNode.objects.all()}
    assert stored == {
        (8, 0): ledger600.get_perfect(8, 0),
        (8, 1): ledger600.get_perfect(8, 1),
        (9, 0): ledger600.get_perfect(9, 0),
    }


@pytest.mark.parametrize("batch", [1, 2])
def test_fill_batches_store_the_same_nodes(ledger600, monkeypatch, batch):
    """Blocks are read and stored ``_FILL_BATCH`` at a time; the compact range that completes
    parents carries across batches."""
    monkeypatch.setattr(nodes, "_FILL_BATCH", batch)
    assert services.merkle_nodes_fill(size=SIZE) == 3
    stored = {(n.level, n.index): bytes(n.hash) for n in MerkleNode.objects.all()}
    assert stored == {key: ledger600.get_perfect(*key) for key in ((8, 0), (8, 1), (9, 0))}


def test_roots_and_proofs_match_memory(ledger600):
    services.merkle_nodes_fill(size=SIZE)
    for size in (1, 2, 255, 256, 257, 511, 512, 513, 600):
        check_size(ledger600, size)


def check_size(ledger600, size):
    memory = merkle.InMemoryProvider([ledger600.get_perfect(0, i) for i in range(size)])
    database = tree.DatabaseProvider(size)
    root = merkle.root(size, memory)
    assert merkle.root(size, database) == root
    assert tree.root(size) == root  # the prefetching root checkpoints use
    for index in {0, size // 2, size - 1, min(300, size - 1)}:
        proof = merkle.inclusion_proof(index, size, database)
        assert proof == merkle.inclusion_proof(index, size, memory)
        assert verify_inclusion(memory.get_perfect(0, index), index, size, proof, root)
    for first in {1, size // 3 or 1, size}:
        proof = merkle.consistency_proof(first, size, database)
        assert proof == merkle.consistency_proof(first, size, memory)
        assert verify_consistency(first, size, proof, merkle.root(first, memory), root)


def test_provider_works_without_stored_nodes(ledger600):
    assert MerkleNode.objects.count() == 0
    database = tree.DatabaseProvider(SIZE)
    assert merkle.root(SIZE, database) == merkle.root(SIZE, ledger600)
