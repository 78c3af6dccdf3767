# Indexes for the EU AI Act figures (apps.monitoring, ADR 0022) and the responsibility record kind
# of an Art. 14 intervention.
#
# Both indexes are partial, so /decide pays nothing for decisions that name no AI system and for its
# own automated responsibility record. On PostgreSQL they are built CONCURRENTLY (the migration is
# not atomic), so a deployment with millions of decisions keeps answering /decide meanwhile.

from django.db import migrations, models

DECISION_INDEX = models.Index(
    condition=models.Q(("ai_system", ""), _negated=True),
    fields=["ai_system", "created_at"],
    name="decisions_ai_system_time",
)
RECORD_INDEX = models.Index(
    condition=models.Q(("kind", "decision"), _negated=True),
    fields=["created_at"],
    name="decisions_human_records_time",
)
INDEXES = (("decision", DECISION_INDEX), ("responsibilityrecord", RECORD_INDEX))


def create(apps, schema_editor):
    for model_name, index in INDEXES:
        model = apps.get_model("decisions", model_name)
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(index.create_sql(model, schema_editor, concurrently=True))
        else:
            schema_editor.add_index(model, index)


def drop(apps, schema_editor):
    for model_name, index in INDEXES:
        model = apps.get_model("decisions", model_name)
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(index.remove_sql(model, schema_editor, concurrently=True))
        else:
            schema_editor.remove_index(model, index)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("decisions", "0007_decision_ai_system_registered"),
    ]

    operations = [
        migrations.AlterField(
            model_name="responsibilityrecord",
            name="kind",
            field=models.CharField(
                choices=[
                    ("decision", "Automated decision"),
                    ("approval", "Four-eyes approval"),
                    ("resolution", "Escalation resolved"),
                    ("expiry", "Escalation expired (SLA)"),
                    ("override", "Override"),
                    ("stop", "Agent stopped"),
                    ("intervention", "Human intervention (Art. 14)"),
                ],
                max_length=16,
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(model_name="decision", index=DECISION_INDEX),
                migrations.AddIndex(model_name="responsibilityrecord", index=RECORD_INDEX),
            ],
            database_operations=[migrations.RunPython(create, drop)],
        ),
    ]
