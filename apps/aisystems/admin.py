"""Admin pages of the AI system registry. Adding and changing go through the services, so each is
ledgered exactly as through the API; nothing is ever deleted here."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from apps.accounts.models import User
from apps.aisystems import services
from apps.aisystems.constants import EDITABLE_FIELDS
from apps.aisystems.models import AISystem
from apps.core.admin import RolePermissionAdmin


class AISystemForm(forms.ModelForm):
    """The model's own validation (field rules and the classification rules of ``clean()``)
    runs on the form, so an officer sees each problem next to its field."""

    class Meta:
        model = AISystem
        fields = ("id", *EDITABLE_FIELDS)
        widgets = {
            "intended_purpose": forms.Textarea(attrs={"rows": 4}),
            "art_6_3_reasoning": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "owner" in self.fields:
            self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by("username")

    def validate_unique(self):
        # A taken id is the service's 409; say it on the form instead of failing the save.
        adding = self.instance._state.adding and "id" in self.cleaned_data
        if adding and AISystem.objects.filter(pk=self.cleaned_data["id"]).exists():
            self.add_error("id", "An AI system with this id is already registered.")


@admin.register(AISystem)
class AISystemAdmin(RolePermissionAdmin):
    form = AISystemForm
    view_permissions = ("accounts.view_dashboard",)
    add_permission = "accounts.manage_policies"
    change_permission = "accounts.manage_policies"
    list_display = ("id", "name", "version", "role", "annex_iii_point", "risk_class", "status")
    list_filter = ("status", "risk_class", "role", "annex_iii_point", "art_6_3_exempt")
    search_fields = ("id", "name", "version")
    list_select_related = ("owner",)
    readonly_fields = ("created_by", "created_at", "updated_at", "history")

    def get_readonly_fields(self, request, obj=None):
        # The id is chosen once: agents send it on /decide.
        return (*self.readonly_fields, "id") if obj is not None else self.readonly_fields

    @admin.display(description="History (ledger entries)")
    def history(self, obj: AISystem) -> str:
        changes = obj.changes.order_by("ledger_seq") if obj.pk else []
        return (
            format_html_join(
                mark_safe("<br>"),  # nosec B308 - a constant
                "#{} {} {} by {} at {}",
                (
                    (
                        c.ledger_seq,
                        c.entry_type,
                        ", ".join(c.changed) if c.entry_type.endswith("updated") else "",
                        c.actor,
                        c.created_at.isoformat(timespec="seconds"),
                    )
                    for c in changes
                ),
            )
            or "—"
        )

    def save_model(self, request, obj, form, change):
        """Through the service: the row, its ledger entry and its history row together."""
        values = {field: form.cleaned_data[field] for field in EDITABLE_FIELDS}
        if change:
            changes = {f: values[f] for f in form.changed_data if f in EDITABLE_FIELDS}
            saved = services.ai_system_update(
                principal=request.user, system_id=obj.pk, changes=changes
            ).system
        else:
            saved = services.ai_system_register(
                principal=request.user, system_id=form.cleaned_data["id"], **values
            )
        form.instance = saved
        obj.pk = saved.pk
