"""Reviewers lose ``view_dashboard`` (issue 19): they work from the oversight queue, which needs
``resolve_escalation`` or ``view_dashboard``; the dashboard and the compliance pages are for
officers, auditors (read-only) and administrators."""

from django.db import migrations


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.filter(
        content_type__app_label="accounts", codename="view_dashboard"
    ).first()
    if permission is not None:
        for group in Group.objects.filter(name="reviewer"):
            group.permissions.remove(permission)


def grant(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.filter(
        content_type__app_label="accounts", codename="view_dashboard"
    ).first()
    if permission is not None:
        for group in Group.objects.filter(name="reviewer"):
            group.permissions.add(permission)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_user_sessions")]

    operations = [migrations.RunPython(revoke, grant)]
