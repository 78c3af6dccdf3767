"""Admin pages of the technical documentation.

A narrative version is added through ``services.narrative_save`` (validated and ledgered like the
staff form's), never changed or deleted: a correction is a new version. Generated documents are
read-only here; they are made by ``GET /compliance/eu-ai-act/article-11/documentation``.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin

from apps.core.admin import RolePermissionAdmin
from apps.core.exceptions import ApplicationError
from apps.techdoc import services
from apps.techdoc.models import GeneratedDocument, Narrative

VIEW = ("accounts.view_dashboard",)


class NarrativeForm(forms.ModelForm):
    class Meta:
        model = Narrative
        fields = ("system", "field", "text")

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            cleaned = services.narrative_check(field=data["field"], text=data["text"])
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from exc
        current = (
            Narrative.objects.filter(system=data["system"], field=data["field"])
            .order_by("-version")
            .first()
        )
        if current is not None and current.text == cleaned:
            raise forms.ValidationError(
                "This text is already the current version of that narrative; nothing to save."
            )
        data["text"] = cleaned
        return data


@admin.register(Narrative)
class NarrativeAdmin(RolePermissionAdmin):
    view_permissions = VIEW
    add_permission = services.WRITE_PERMISSION
    form = NarrativeForm
    list_display = ("system", "field", "version", "actor", "created_at", "ledger_seq", "sha")
    list_filter = ("field",)
    search_fields = ("system__id", "system__name")
    list_select_related = ("system",)
    raw_id_fields = ("system",)

    @admin.display(description="text SHA-256")
    def sha(self, obj: Narrative) -> str:
        return f"{obj.text_sha256[:16]}…"

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return [f.name for f in Narrative._meta.fields]

    def save_model(self, request, obj, form, change):
        if change:  # pragma: no cover - change permission is never granted
            raise PermissionError("narrative versions are never changed")
        result = services.narrative_save(
            user=request.user,
            system_id=form.cleaned_data["system"].pk,
            field=form.cleaned_data["field"],
            text=form.cleaned_data["text"],
        )
        saved = result.narrative
        for name in ("pk", "version", "text_sha256", "author_id", "actor", "ledger_seq"):
            setattr(obj, name, getattr(saved, name))
        obj.created_at = saved.created_at


@admin.register(GeneratedDocument)
class GeneratedDocumentAdmin(RolePermissionAdmin):
    view_permissions = VIEW
    list_display = (
        "system",
        "format",
        "complete",
        "missing_count",
        "generated_by",
        "created_at",
        "ledger_seq",
    )
    list_filter = ("format", "complete")
    search_fields = ("system__id", "sha256", "content_sha256")
    list_select_related = ("system",)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in GeneratedDocument._meta.fields]
