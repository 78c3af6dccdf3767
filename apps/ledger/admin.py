"""Read-only admin views of the ledger (entries, checkpoints, public halves of signing keys)."""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html

from apps.core.admin import RolePermissionAdmin
from apps.ledger.models import Checkpoint, LedgerEntry, SigningKey

AUDITORS = ("accounts.view_audit_logs",)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(RolePermissionAdmin):
    view_permissions = AUDITORS
    list_display = ("seq", "entry_type", "timestamp", "short_hash")
    list_filter = ("entry_type",)
    search_fields = ("entry_hash",)
    fields = ("seq", "entry_type", "timestamp", "pretty_payload", "prev_hash", "entry_hash")
    readonly_fields = fields

    @admin.display(description="Hash")
    def short_hash(self, obj: LedgerEntry) -> str:
        return obj.entry_hash[:16]

    @admin.display(description="Payload")
    def pretty_payload(self, obj: LedgerEntry) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.payload_data, indent=2, sort_keys=True))


@admin.register(Checkpoint)
class CheckpointAdmin(RolePermissionAdmin):
    view_permissions = AUDITORS
    list_display = ("tree_size", "created_at")
    fields = ("tree_size", "created_at", "note_text")
    readonly_fields = fields

    @admin.display(description="Signed note")
    def note_text(self, obj: Checkpoint) -> str:
        return format_html("<pre>{}</pre>", obj.note)


@admin.register(SigningKey)
class SigningKeyAdmin(RolePermissionAdmin):
    view_permissions = AUDITORS
    list_display = ("kid", "algorithm", "purpose", "status", "not_before", "not_after")
    list_filter = ("purpose", "status")
    fields = ("kid", "algorithm", "purpose", "status", "not_before", "not_after", "created_at")
    readonly_fields = fields
