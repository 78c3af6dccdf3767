"""The ledger browser's finding aid: actor and subject of each entry, in a side table (ADR 0029).

Filled after the fact (``services.ledger_facets_fill``, with each checkpoint), never inside the
serialised append. Append-only on PostgreSQL with the ledger's own trigger functions: a deleted or
changed row could hide an entry from a filter, and nothing legitimate rewrites one.
"""

from django.db import migrations, models

from apps.ledger.guards import append_only


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0019_entry_types_policy_simulated"),
    ]

    operations = [
        migrations.CreateModel(
            name="LedgerEntryFacet",
            fields=[
                ("seq", models.BigIntegerField(primary_key=True, serialize=False)),
                ("entry_type", models.CharField(max_length=64)),
                ("actor", models.CharField(blank=True, max_length=200)),
                ("subject_type", models.CharField(blank=True, max_length=64)),
                ("subject_id", models.CharField(blank=True, max_length=200)),
            ],
            options={
                "ordering": ["seq"],
                "indexes": [
                    models.Index(fields=["actor", "seq"], name="ledger_facet_actor_seq"),
                    models.Index(fields=["subject_id", "seq"], name="ledger_facet_subject_seq"),
                ],
            },
        ),
        append_only("ledger_ledgerentryfacet"),
    ]
