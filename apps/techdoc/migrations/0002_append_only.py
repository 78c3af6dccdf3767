"""On PostgreSQL the database refuses UPDATE, DELETE and TRUNCATE (of a non-empty table) of
narrative versions and generated-document records, with the ledger's own trigger functions
(ledger migration 0002), as for evidence (evidence migration 0002).

The application has no update or delete path for these rows; the triggers are the guard rail
under it. A new narrative version is a new row; the ledger keeps every version's SHA-256.
"""

from django.db import migrations

TABLES = ("techdoc_narrative", "techdoc_generateddocument")

CREATE = "\n".join(
    f"""
CREATE TRIGGER {table}_no_update_delete
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION lexecon_ledger_append_only();
CREATE TRIGGER {table}_no_truncate
    BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION lexecon_ledger_no_truncate();
"""
    for table in TABLES
)
DROP = "\n".join(
    f"""
DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table};
DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};
"""
    for table in TABLES
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("techdoc", "0001_initial"), ("ledger", "0002_append_only")]
    operations = [migrations.RunPython(forwards, backwards)]
