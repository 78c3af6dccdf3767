"""Record-keeping (ADR 0021): a retention class and an anonymisation time on every decision.

Decisions written before this migration get their class from the rule as far as it can be applied
afterwards: ``high_risk`` when they name a system the registry classes ``high`` or ``prohibited``
now, otherwise ``standard``. Never the shorter ``gdpr_intersect``: they were not written under the
rule, and shortening a retention after the fact is the one mistake that cannot be undone.
"""

from django.db import migrations, models


def classify_existing(apps, schema_editor):
    AISystem = apps.get_model("aisystems", "AISystem")
    Decision = apps.get_model("decisions", "Decision")
    high = AISystem.objects.filter(risk_class__in=["high", "prohibited"]).values("id")
    Decision.objects.filter(ai_system__in=high).update(retention_class="high_risk")


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_attest_controls'),
        ('aisystems', '0001_initial'),
        ('decisions', '0008_monitoring_indexes_and_interventions'),
    ]

    operations = [
        migrations.AddField(
            model_name='decision',
            name='anonymised_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='decision',
            name='retention_class',
            field=models.CharField(choices=[('high_risk', 'High-risk AI system (Art. 18/19, ten years by default)'), ('standard', 'Standard (Art. 19/26(6) minimum of six months)'), ('gdpr_intersect', 'Personal data not needed as high-risk evidence')], default='standard', max_length=16),
        ),
        migrations.RunPython(classify_existing, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='decision',
            index=models.Index(condition=models.Q(('anonymised_at__isnull', True)), fields=['retention_class', 'created_at', 'id'], include=['ai_system', 'actor'], name='decisions_retention_live'),
        ),
    ]
