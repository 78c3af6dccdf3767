"""Stored Merkle nodes are append-only too: the database refuses to change one.

Proofs are served from ``ledger_merklenode`` (levels >= 8), so an UPDATE there changed what
auditors are served while the entries stayed intact (issue 15 §4). A stored node is a cache of a
hash that never changes once its subtree is complete, so nothing legitimate ever updates one.

- PostgreSQL: the same trigger functions as entries and checkpoints (0002): UPDATE and DELETE
  refused per row, TRUNCATE of a non-empty table refused.
- SQLite: UPDATE is refused by a trigger. DELETE stays allowed there: a missing node is folded
  again from the leaf hashes, so deleting one cannot change a proof, and Django's test flush
  empties tables with DELETE on SQLite.

Triggers are guard rails (a database owner can drop them); ``/ledger/verify`` recomputes every
stored node from the entries and reports ``stored_node_mismatch``.
"""

from django.db import migrations

POSTGRESQL_CREATE = """
CREATE TRIGGER ledger_merklenode_no_update_delete
    BEFORE UPDATE OR DELETE ON ledger_merklenode
    FOR EACH ROW EXECUTE FUNCTION lexecon_ledger_append_only();
CREATE TRIGGER ledger_merklenode_no_truncate
    BEFORE TRUNCATE ON ledger_merklenode
    FOR EACH STATEMENT EXECUTE FUNCTION lexecon_ledger_no_truncate();
"""

POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS ledger_merklenode_no_update_delete ON ledger_merklenode;
DROP TRIGGER IF EXISTS ledger_merklenode_no_truncate ON ledger_merklenode;
"""

SQLITE_CREATE = """
CREATE TRIGGER ledger_merklenode_no_update
    BEFORE UPDATE ON ledger_merklenode
BEGIN
    SELECT RAISE(ABORT, 'ledger entries are append-only (UPDATE refused on ledger_merklenode)');
END;
"""

SQLITE_DROP = "DROP TRIGGER IF EXISTS ledger_merklenode_no_update;"


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_CREATE, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_CREATE, params=None)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_DROP, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0005_entry_type_response_unconfirmed")]
    operations = [migrations.RunPython(forwards, backwards)]
