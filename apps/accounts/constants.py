"""Roles, permissions and agent scopes (DESIGN §10, §12). See docs/adr/0002-roles-and-permissions.md."""

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Administrator"
    COMPLIANCE_OFFICER = "compliance_officer", "Compliance officer"
    REVIEWER = "reviewer", "Reviewer"
    AUDITOR = "auditor", "Auditor"


# The eight permissions, defined on the User model (app label ``accounts``).
PERMISSIONS: dict[str, str] = {
    "view_dashboard": "Can view the governance dashboard",
    "view_audit_logs": "Can read the ledger and audit logs",
    "resolve_escalation": "Can resolve escalations",
    "execute_override": "Can execute overrides",
    "manage_policies": "Can load and activate policies",
    "export_evidence": "Can export evidence packages",
    "manage_users": "Can manage users and agent keys",
    "attest_controls": "Can attest compliance controls",
}

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Role.ADMIN: tuple(PERMISSIONS),
    Role.COMPLIANCE_OFFICER: (
        "view_dashboard",
        "view_audit_logs",
        "resolve_escalation",
        "execute_override",
        "manage_policies",
        "export_evidence",
        "attest_controls",
    ),
    # Reviewers work from their queue; the dashboard and the compliance pages are not theirs (#19).
    Role.REVIEWER: ("resolve_escalation",),
    Role.AUDITOR: ("view_dashboard", "view_audit_logs", "export_evidence"),
}


class Scope(models.TextChoices):
    DECIDE = "decide", "Ask for decisions"
    LEDGER_READ = "ledger:read", "Read the ledger"
    POLICIES_READ = "policies:read", "Read policies"
    POLICIES_WRITE = "policies:write", "Load and activate policies"
    EVIDENCE_WRITE = "evidence:write", "Submit evidence"
    COMPLIANCE_READ = "compliance:read", "Read compliance mappings"
    AUDIT_EXPORT = "audit:export", "Request audit exports"


DEFAULT_AGENT_SCOPES = (Scope.DECIDE.value, Scope.LEDGER_READ.value)
AGENT_KEY_PREFIX = "lxk"
