"""Decisions keep their agent key without a database foreign key (ADR 0007).

The deferred foreign-key check ran at every decision's commit, while the ledger's chain-head lock
was still held, and locked the agent key's row ``FOR KEY SHARE`` (two concurrent decisions of one
key made a MultiXact of it): about a fifth of the serialised append's throughput. What the
constraint protected, no decision pointing at a deleted key, is kept by Django's ``PROTECT`` and,
on PostgreSQL, by a trigger that refuses to delete (or re-key) an agent key any decision names.
"""

import django.db.models.deletion
from django.db import migrations, models

CREATE = """
CREATE OR REPLACE FUNCTION lexecon_agent_key_in_use() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM decisions_decision WHERE agent_key_id = OLD.id) THEN
        RAISE EXCEPTION 'agent key % is named by decisions and cannot be % (revoke it instead)',
            OLD.id, lower(TG_OP) || 'd'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER agent_key_in_use_by_decisions
    BEFORE DELETE OR UPDATE OF id ON accounts_agentkey
    FOR EACH ROW EXECUTE FUNCTION lexecon_agent_key_in_use();
"""

DROP = """
DROP TRIGGER IF EXISTS agent_key_in_use_by_decisions ON accounts_agentkey;
DROP FUNCTION IF EXISTS lexecon_agent_key_in_use();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_roles"),
        ("decisions", "0003_time_ordered_ids"),
    ]

    operations = [
        migrations.AlterField(
            model_name="decision",
            name="agent_key",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.agentkey",
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
