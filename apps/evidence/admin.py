"""Read-only admin pages for evidence: artifacts and links are never added, changed or deleted
here (registration goes through the API and its service, which ledgers it)."""

from __future__ import annotations

from django.contrib import admin

from apps.core.admin import RolePermissionAdmin
from apps.evidence.models import EvidenceArtifact, EvidenceControlLink, EvidenceDecisionLink


class _LinkInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class DecisionLinkInline(_LinkInline):
    model = EvidenceDecisionLink
    fields = readonly_fields = ("decision", "ledger_seq", "created_at")


class ControlLinkInline(_LinkInline):
    model = EvidenceControlLink
    fields = readonly_fields = ("framework", "control_id", "ledger_seq", "created_at")


@admin.register(EvidenceArtifact)
class EvidenceArtifactAdmin(RolePermissionAdmin):
    view_permissions = ("accounts.view_dashboard",)
    list_display = (
        "created_at",
        "artifact_type",
        "title",
        "sha256",
        "size_bytes",
        "ledger_seq",
        "retention_until",
        "expired_at",
    )
    list_filter = ("artifact_type", ("expired_at", admin.EmptyFieldListFilter))
    search_fields = ("sha256", "title")
    inlines = (DecisionLinkInline, ControlLinkInline)
    readonly_fields = tuple(
        f.name for f in EvidenceArtifact._meta.fields if f.name != "registered_by_key"
    )
    exclude = ("registered_by_key",)

    def get_queryset(self, request):
        return EvidenceArtifact.objects.visible_to(request.user)
