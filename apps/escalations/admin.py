"""Read-only admin for oversight records: they change only through the services (and the ledger)."""

from __future__ import annotations

from django.contrib import admin

from apps.escalations import selectors
from apps.escalations.models import (
    AgentStop,
    Escalation,
    EscalationApproval,
    EscalationAssignment,
    Override,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Lists and detail views only: no add, change or delete from the admin. Who may look is who may
    see every escalation (admins, compliance officers, auditors)."""

    def has_view_permission(self, request, obj=None) -> bool:
        return selectors.can_view_all(request.user)

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        hidden = set(self.exclude or ())
        return [field.name for field in self.model._meta.fields if field.name not in hidden]


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyAdmin):
    list_display = ("id", "priority", "status", "resolution", "sla_deadline", "created_at")
    list_filter = ("status", "priority", "resolution")
    list_select_related = ("decision",)
    exclude = ("capability_token", "note_salt", "reason_salt")
    search_fields = ("id", "decision__id")


@admin.register(EscalationAssignment)
class EscalationAssignmentAdmin(ReadOnlyAdmin):
    list_display = ("escalation", "reviewer", "assigned_by", "created_at", "ledger_seq")
    list_select_related = ("reviewer", "assigned_by", "escalation")


@admin.register(EscalationApproval)
class EscalationApprovalAdmin(ReadOnlyAdmin):
    list_display = ("escalation", "approver", "created_at", "ledger_seq")
    list_select_related = ("approver", "escalation")
    exclude = ("note_salt",)


@admin.register(Override)
class OverrideAdmin(ReadOnlyAdmin):
    list_display = ("id", "decision", "override_type", "outcome", "executed_by", "expires_at")
    list_filter = ("override_type", "outcome")
    list_select_related = ("executed_by", "decision")
    exclude = ("capability_token", "justification_salt")


@admin.register(AgentStop)
class AgentStopAdmin(ReadOnlyAdmin):
    list_display = ("decision", "stopped_by", "created_at", "ledger_seq")
    list_select_related = ("stopped_by", "decision")
    exclude = ("reason_salt",)
