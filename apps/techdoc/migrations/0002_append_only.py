"""On PostgreSQL the database refuses UPDATE, DELETE and TRUNCATE (of a non-empty table) of
narrative versions and generated-document records, with the ledger's own trigger functions
(ledger migration 0002), as for evidence (evidence migration 0002).

The application has no update or delete path for these rows; the triggers are the guard rail
under it. A new narrative version is a new row; the ledger keeps every version's SHA-256.
"""

from django.db import migrations

from apps.ledger.guards import append_only


class Migration(migrations.Migration):
    dependencies = [("techdoc", "0001_initial"), ("ledger", "0002_append_only")]
    operations = [append_only("techdoc_narrative", "techdoc_generateddocument")]
