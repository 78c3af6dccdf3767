"""On PostgreSQL the database refuses UPDATE, DELETE and TRUNCATE of attestations, with the
ledger's own trigger functions (ledger migration 0002): an attestation is superseded by a newer
one or expires, it is never edited."""

from django.db import migrations

TABLE = "compliance_attestation"
CREATE = f"""
CREATE TRIGGER {TABLE}_no_update_delete
    BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION lexecon_ledger_append_only();
CREATE TRIGGER {TABLE}_no_truncate
    BEFORE TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION lexecon_ledger_no_truncate();
"""
DROP = f"""
DROP TRIGGER IF EXISTS {TABLE}_no_update_delete ON {TABLE};
DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE};
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("compliance", "0001_initial"), ("ledger", "0002_append_only")]
    operations = [migrations.RunPython(forwards, backwards)]
