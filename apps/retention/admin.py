"""Read-only admin pages for legal holds and sweep runs: holds are placed and released through
the API and its service (which ledgers them), runs are written by the sweep only."""

from __future__ import annotations

from django.contrib import admin

from apps.core.admin import RolePermissionAdmin
from apps.retention.models import LegalHold, RetentionRun


@admin.register(LegalHold)
class LegalHoldAdmin(RolePermissionAdmin):
    view_permissions = ("accounts.view_dashboard",)
    list_display = ("placed_at", "scope", "ai_system", "actor", "placed_by", "released_at")
    list_filter = ("scope", ("released_at", admin.EmptyFieldListFilter))
    search_fields = ("ai_system", "actor")
    readonly_fields = tuple(f.name for f in LegalHold._meta.fields if f.name != "text_salt")
    exclude = ("text_salt",)


@admin.register(RetentionRun)
class RetentionRunAdmin(RolePermissionAdmin):
    view_permissions = ("accounts.view_dashboard",)
    list_display = (
        "started_at",
        "status",
        "trigger",
        "as_of",
        "texts_erased",
        "decisions_held",
        "artifacts_expired",
        "ledger_seq",
    )
    list_filter = ("status", "trigger")
    readonly_fields = tuple(f.name for f in RetentionRun._meta.fields)
