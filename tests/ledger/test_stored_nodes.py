"""Stored Merkle nodes and leaf hashes are append-only and checked by ``/ledger/verify``.

Issue 15 §4: ``ledger_merklenode`` had no append-only trigger, and verify recomputed the chain and
the roots but never looked at what proofs are served from, so an UPDATE of a stored node changed
served proofs while ``/ledger/verify`` said valid.
"""

from __future__ import annotations

import base64

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from apps.ledger import selectors, services
from apps.ledger.models import LedgerEntry, MerkleNode
from tests.ledger.conftest import append_many, raw_sql

pytestmark = pytest.mark.django_db

SIZE = 600  # two complete 256-leaf blocks and their parent: nodes (8,0), (8,1), (9,0)


@pytest.fixture
def ledger_with_nodes():
    append_many(SIZE - 1)  # + genesis
    services.ledger_checkpoint_create()
    assert set(MerkleNode.objects.values_list("level", "index")) == {(8, 0), (8, 1), (9, 0)}


def drop_node_guard() -> None:
    """What an attacker owning the database does first (rolled back with the test)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "DROP TRIGGER IF EXISTS ledger_merklenode_no_update_delete ON ledger_merklenode"
            )
        else:
            cursor.execute("DROP TRIGGER IF EXISTS ledger_merklenode_no_update")


def corrupt_node(level: int, index: int) -> None:
    drop_node_guard()
    with connection.cursor() as cursor:
        cursor.execute(
            'UPDATE ledger_merklenode SET hash = %s WHERE level = %s AND "index" = %s',
            [bytes(32), level, index],
        )


def served_proof(seq: int) -> list[str]:
    return selectors.inclusion_proof(seq=seq, tree_size=SIZE)["proof"]


@pytest.mark.usefixtures("ledger_with_nodes")
@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("UPDATE ledger_merklenode SET hash = %s", id="update_hash"),
        pytest.param('UPDATE ledger_merklenode SET "index" = "index" + 100', id="move"),
    ],
)
def test_the_database_refuses_to_update_a_stored_node(statement):
    before = sorted(MerkleNode.objects.values_list("level", "index", "hash"))
    proof = served_proof(3)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, [bytes(32)] if "%s" in statement else None)
    assert sorted(MerkleNode.objects.values_list("level", "index", "hash")) == before
    assert served_proof(3) == proof


@pytest.mark.usefixtures("ledger_with_nodes", "postgres_only")
@pytest.mark.parametrize(
    "statement",
    ["DELETE FROM ledger_merklenode", "TRUNCATE ledger_merklenode"],
)
def test_postgresql_also_refuses_delete_and_truncate_of_nodes(statement):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert MerkleNode.objects.count() == 3


@pytest.mark.usefixtures("ledger_with_nodes")
def test_intact_stored_nodes_verify():
    report = selectors.ledger_verify()
    assert report["valid"] is True, report
    assert report["error_code"] is None


@pytest.mark.usefixtures("ledger_with_nodes")
@pytest.mark.parametrize(("level", "index", "seq"), [(8, 1, 3), (9, 0, 599)])
def test_verify_reports_a_stored_node_corrupted_with_the_trigger_dropped(level, index, seq):
    proof = served_proof(seq)  # a proof whose path holds that node
    corrupt_node(level, index)
    assert served_proof(seq) != proof  # what an auditor would be served has changed
    report = selectors.ledger_verify()
    assert report["valid"] is False
    assert report["error_code"] == "stored_node_mismatch"
    assert report["first_invalid_seq"] is None  # the entries themselves are intact
    error = next(e for e in report["errors"] if e["code"] == "stored_node_mismatch")
    assert (error["level"], error["index"]) == (level, index)
    assert error["leaves"] == [index << level, (index + 1) << level]
    assert error["stored_hash"] == "00" * 32
    assert f"L{level}#{index}" in report["message"]


@pytest.mark.usefixtures("ledger_with_nodes")
def test_verify_reports_the_first_bad_node_only_once_per_node():
    corrupt_node(8, 0)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_merklenode SET hash = %s WHERE level = 9", [bytes(32)])
    errors = [e for e in selectors.ledger_verify()["errors"] if e["code"] == "stored_node_mismatch"]
    assert [(e["level"], e["index"]) for e in errors] == [(8, 0), (9, 0)]


@pytest.mark.usefixtures("ledger_with_nodes")
def test_verify_reports_a_node_stored_beyond_the_ledger():
    drop_node_guard()
    MerkleNode.objects.create(level=8, index=7, hash=bytes(32))
    report = selectors.ledger_verify()
    assert report["error_code"] == "stored_node_mismatch"
    error = next(e for e in report["errors"] if e["code"] == "stored_node_mismatch")
    assert (error["level"], error["index"]) == (8, 7)


@pytest.mark.usefixtures("ledger_with_nodes")
def test_verify_reports_a_stored_leaf_hash_that_differs_from_the_entry():
    """Proofs below level 8 are folded from the stored ``leaf_hash`` column: it is checked too."""
    proof = served_proof(300)
    raw_sql("UPDATE ledger_ledgerentry SET leaf_hash = %s WHERE seq = 257", [bytes(32)])
    assert served_proof(300) != proof
    report = selectors.ledger_verify()
    assert report["valid"] is False
    assert report["error_code"] == "stored_leaf_mismatch"
    assert report["first_invalid_seq"] == 257
    leaf = base64.b64decode(selectors.inclusion_proof(seq=257, tree_size=SIZE)["leaf_hash"])
    assert leaf == bytes(32)
    assert LedgerEntry.objects.count() == SIZE
