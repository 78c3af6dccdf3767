"""On PostgreSQL the database refuses UPDATE, DELETE and TRUNCATE of attestations, with the
ledger's own trigger functions (ledger migration 0002): an attestation is superseded by a newer
one or expires, it is never edited."""

from django.db import migrations

from apps.ledger.guards import append_only


class Migration(migrations.Migration):
    dependencies = [("compliance", "0001_initial"), ("ledger", "0002_append_only")]
    operations = [append_only("compliance_attestation")]
