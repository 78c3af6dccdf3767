"""Record-keeping (ADR 0021): the retention class of each artifact, fixed at registration.

Artifacts registered before keep ``standard`` and the retention they were given: their rows are
append-only (migration 0003's trigger) and their period is already their type's, at least a year.
Adding the column with a constant default writes no row, so the trigger is not involved.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('evidence', '0003_artifact_expiry'),
    ]

    operations = [
        migrations.AddField(
            model_name='evidenceartifact',
            name='retention_class',
            field=models.CharField(choices=[('high_risk', 'High-risk AI system (Art. 18/19, ten years by default)'), ('standard', 'Standard (Art. 19/26(6) minimum of six months)'), ('gdpr_intersect', 'Personal data not needed as high-risk evidence')], default='standard', max_length=16),
        ),
    ]
