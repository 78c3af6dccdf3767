"""Read-only admin of decisions (what was asked, what was answered, and its ledger entry)."""

from django.contrib import admin

from apps.core.admin import RolePermissionAdmin
from apps.decisions.models import Decision, ResponsibilityRecord


@admin.register(Decision)
class DecisionAdmin(RolePermissionAdmin):
    # Reviewers keep the decisions escalated to them (``visible_to`` below).
    view_permissions = ("accounts.view_dashboard", "accounts.resolve_escalation")
    list_display = ("created_at", "actor", "action", "outcome", "risk_level", "ledger_seq")
    list_filter = ("outcome", "risk_level", "response_unconfirmed")
    search_fields = ("actor", "action", "id")
    date_hierarchy = "created_at"
    # Context is personal data (shown minimised on the oversight pages); tokens are bearer secrets.
    exclude = ("context", "context_salt", "capability_token")
    readonly_fields = tuple(
        f.name
        for f in Decision._meta.fields
        if f.name not in {"context", "context_salt", "capability_token"}
    )

    def get_queryset(self, request):
        # The one visibility rule: a reviewer sees only decisions escalated to them, here too.
        return super().get_queryset(request).visible_to(request.user)


@admin.register(ResponsibilityRecord)
class ResponsibilityRecordAdmin(RolePermissionAdmin):
    """Who decided what and why, beside each ledger entry that settled a decision (read-only)."""

    view_permissions = ("accounts.view_dashboard",)
    list_display = ("ledger_seq", "decision", "kind", "level", "actor_label", "human_decision")
    list_filter = ("kind", "level", "actor_kind")
    list_select_related = ("decision",)
    readonly_fields = tuple(f.name for f in ResponsibilityRecord._meta.fields)

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)
