"""On PostgreSQL, the database itself refuses UPDATE, DELETE and TRUNCATE of ledger rows.

Triggers are guard rails, not the trust anchor: a table owner can disable them (RELIABILITY finding 2).
Deployments that run the app under a separate role also REVOKE those privileges
(``manage.py ledger_harden --role NAME``); detection of tampering comes from signed checkpoints.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION lexecon_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only (% refused on %)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

-- TRUNCATE of an EMPTY table is harmless (test suites flush empty tables); with rows it is refused.
CREATE OR REPLACE FUNCTION lexecon_ledger_no_truncate() RETURNS trigger AS $$
DECLARE
    has_rows boolean;
BEGIN
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', TG_TABLE_NAME) INTO has_rows;
    IF has_rows THEN
        RAISE EXCEPTION 'ledger entries are append-only (TRUNCATE refused on %)', TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_entry_no_update_delete
    BEFORE UPDATE OR DELETE ON ledger_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION lexecon_ledger_append_only();
CREATE TRIGGER ledger_entry_no_truncate
    BEFORE TRUNCATE ON ledger_ledgerentry
    FOR EACH STATEMENT EXECUTE FUNCTION lexecon_ledger_no_truncate();
CREATE TRIGGER ledger_checkpoint_no_update_delete
    BEFORE UPDATE OR DELETE ON ledger_checkpoint
    FOR EACH ROW EXECUTE FUNCTION lexecon_ledger_append_only();
CREATE TRIGGER ledger_checkpoint_no_truncate
    BEFORE TRUNCATE ON ledger_checkpoint
    FOR EACH STATEMENT EXECUTE FUNCTION lexecon_ledger_no_truncate();
"""

DROP = """
DROP TRIGGER IF EXISTS ledger_entry_no_update_delete ON ledger_ledgerentry;
DROP TRIGGER IF EXISTS ledger_entry_no_truncate ON ledger_ledgerentry;
DROP TRIGGER IF EXISTS ledger_checkpoint_no_update_delete ON ledger_checkpoint;
DROP TRIGGER IF EXISTS ledger_checkpoint_no_truncate ON ledger_checkpoint;
DROP FUNCTION IF EXISTS lexecon_ledger_append_only();
DROP FUNCTION IF EXISTS lexecon_ledger_no_truncate();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
