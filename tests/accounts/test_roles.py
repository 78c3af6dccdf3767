"""Roles are groups created by a data migration, holding the permissions of DESIGN §10."""

import pytest
from django.contrib.auth.models import Group

from apps.accounts.constants import PERMISSIONS, ROLE_PERMISSIONS, Role

EXPECTED = {
    "admin": set(PERMISSIONS),
    "compliance_officer": {
        "view_dashboard",
        "view_audit_logs",
        "resolve_escalation",
        "execute_override",
        "manage_policies",
        "export_evidence",
        "attest_controls",
    },
    # Issue 19: reviewers work from the queue; the dashboard and compliance pages are not theirs.
    "reviewer": {"resolve_escalation"},
    "auditor": {"view_dashboard", "view_audit_logs", "export_evidence"},
}


def test_there_are_exactly_eight_permissions():
    assert set(PERMISSIONS) == {
        "view_dashboard",
        "view_audit_logs",
        "resolve_escalation",
        "execute_override",
        "manage_policies",
        "export_evidence",
        "manage_users",
        "attest_controls",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role.values))
def test_migrated_group_holds_exactly_the_role_permissions(role):
    group = Group.objects.get(name=role)
    assert set(group.permissions.values_list("codename", flat=True)) == EXPECTED[role]
    assert set(ROLE_PERMISSIONS[role]) == EXPECTED[role]


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "perm"), [(r, p) for r in Role.values for p in PERMISSIONS])
def test_user_has_perm_follows_role(make_user, role, perm):
    user = make_user(f"u_{role}", role)
    assert user.has_perm(f"accounts.{perm}") is (perm in EXPECTED[role])
