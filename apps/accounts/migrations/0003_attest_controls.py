"""The eighth permission, ``attest_controls`` (issue 16): compliance officers and administrators
attest compliance controls; auditors and reviewers only read them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

PERMISSIONS = [
    ("view_dashboard", "Can view the governance dashboard"),
    ("view_audit_logs", "Can read the ledger and audit logs"),
    ("resolve_escalation", "Can resolve escalations"),
    ("execute_override", "Can execute overrides"),
    ("manage_policies", "Can load and activate policies"),
    ("export_evidence", "Can export evidence packages"),
    ("manage_users", "Can manage users and agent keys"),
    ("attest_controls", "Can attest compliance controls"),
]
GRANTED_TO = ("admin", "compliance_officer")


def grant(apps, schema_editor):
    accounts_config = apps.get_app_config("accounts")
    accounts_config.models_module = True
    create_permissions(accounts_config, verbosity=0, apps=apps)
    accounts_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.get(
        content_type__app_label="accounts", codename="attest_controls"
    )
    for group in apps.get_model("auth", "Group").objects.filter(name__in=GRANTED_TO):
        group.permissions.add(permission)


def revoke(apps, schema_editor):
    apps.get_model("auth", "Permission").objects.filter(
        content_type__app_label="accounts", codename="attest_controls"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_roles")]

    operations = [
        migrations.AlterModelOptions(name="user", options={"permissions": PERMISSIONS}),
        migrations.RunPython(grant, revoke),
    ]
