"""Create the four role groups with their permissions (DESIGN §10, docs/adr/0002)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLE_PERMISSIONS = {
    "admin": (
        "view_dashboard",
        "view_audit_logs",
        "resolve_escalation",
        "execute_override",
        "manage_policies",
        "export_evidence",
        "manage_users",
    ),
    "compliance_officer": (
        "view_dashboard",
        "view_audit_logs",
        "resolve_escalation",
        "execute_override",
        "manage_policies",
        "export_evidence",
    ),
    "reviewer": ("view_dashboard", "resolve_escalation"),
    "auditor": ("view_dashboard", "view_audit_logs", "export_evidence"),
}


def create_roles(apps, schema_editor):
    # Permissions are normally created after migrate; create them now so the groups can hold them.
    accounts_config = apps.get_app_config("accounts")
    accounts_config.models_module = True
    create_permissions(accounts_config, verbosity=0, apps=apps)
    accounts_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        perms = Permission.objects.filter(
            content_type__app_label="accounts", codename__in=codenames
        )
        if perms.count() != len(codenames):
            raise RuntimeError(f"missing permissions for role {role}")
        group.permissions.set(perms)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
