"""Retention expiry: ``expired_at`` on artifacts, the index the expiry task scans, and, on
PostgreSQL, an artifact trigger that allows exactly one UPDATE.

The artifact table's trigger used the ledger's ``lexecon_ledger_append_only()`` (migration 0002),
which refuses every UPDATE. It now uses ``lexecon_evidence_artifact_guard()``, which lets one change
through: ``expired_at`` going from NULL to a time, with every other column unchanged (compared as
the whole row's JSON minus ``expired_at``, so a column added later is covered without editing
this function). DELETE stays refused, TRUNCATE keeps its own trigger, and the link tables keep the
ledger's functions. SQLite has no triggers: there, the application's single code path and the
``evidence_expired_after_retention`` check are the guard.
"""

from django.db import migrations, models

TABLE = "evidence_evidenceartifact"

GUARD = f"""
CREATE OR REPLACE FUNCTION lexecon_evidence_artifact_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.expired_at IS NULL
       AND NEW.expired_at IS NOT NULL
       AND (to_jsonb(NEW) - 'expired_at') = (to_jsonb(OLD) - 'expired_at') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION
        'evidence artifacts are append-only (% refused on %); only expired_at may be set, once',
        TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS {TABLE}_no_update_delete ON {TABLE};
CREATE TRIGGER {TABLE}_no_update_delete
    BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION lexecon_evidence_artifact_guard();
"""

UNGUARD = f"""
DROP TRIGGER IF EXISTS {TABLE}_no_update_delete ON {TABLE};
CREATE TRIGGER {TABLE}_no_update_delete
    BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION lexecon_ledger_append_only();
DROP FUNCTION IF EXISTS lexecon_evidence_artifact_guard();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARD, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNGUARD, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_roles'),
        ('evidence', '0002_append_only'),
    ]

    operations = [
        migrations.AddField(
            model_name='evidenceartifact',
            name='expired_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name='evidenceartifact',
            index=models.Index(condition=models.Q(('expired_at__isnull', True)), fields=['retention_until'], name='evidence_due_for_expiry'),
        ),
        migrations.AddConstraint(
            model_name='evidenceartifact',
            constraint=models.CheckConstraint(condition=models.Q(('expired_at__isnull', True), ('expired_at__gte', models.F('retention_until')), _connector='OR'), name='evidence_expired_after_retention'),
        ),
        migrations.RunPython(forwards, backwards),
    ]
