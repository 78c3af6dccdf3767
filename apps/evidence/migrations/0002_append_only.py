"""On PostgreSQL the database refuses UPDATE, DELETE and TRUNCATE (of a non-empty table) of
evidence artifacts and links, with the ledger's own trigger functions (ledger migration 0002).

The application has no update or delete path for these rows; the triggers are the guard rail
under it (a database owner can drop them; the ledger entries keep each artifact's hash).
"""

from django.db import migrations

from apps.ledger.guards import append_only


class Migration(migrations.Migration):
    dependencies = [("evidence", "0001_initial"), ("ledger", "0002_append_only")]
    operations = [append_only("evidence_evidenceartifact", "evidence_evidencedecisionlink", "evidence_evidencecontrollink")]
