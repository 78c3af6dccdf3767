"""Admin pages: frameworks and controls with their computed status and evidence, attestations.

Catalog rows come from the shipped files (``load_catalogs``) and are read-only here. An attestation
is added through ``services.attestation_create`` (validated and ledgered like the API's), never
changed or deleted.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html

from apps.compliance import selectors, services
from apps.compliance.models import Attestation, Capability, Control, ControlMapping, Framework
from apps.core.admin import RolePermissionAdmin
from apps.core.exceptions import ApplicationError

VIEW = ("accounts.view_dashboard",)
STATUS_COLOURS = {
    "implemented": "#1b6e20",
    "partially_implemented": "#8a5a00",
    "not_implemented": "#555",
    "non_compliant": "#a61b1b",
}


def _status_badge(status: str) -> str:
    return format_html(
        '<strong style="color:{}">{}</strong>', STATUS_COLOURS[status], status.replace("_", " ")
    )


class _ReadOnly(RolePermissionAdmin):
    view_permissions = VIEW

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


@admin.register(Framework)
class FrameworkAdmin(_ReadOnly):
    list_display = ("id", "name", "version", "licence_class", "posture", "loaded_at")

    def get_queryset(self, request):
        self._stats = selectors.statistics()["frameworks"]
        return super().get_queryset(request)

    @admin.display(description="implemented / partial / not / non-compliant")
    def posture(self, obj: Framework) -> str:
        s = getattr(self, "_stats", {}).get(obj.id)
        if not s:
            return "-"
        return (
            f"{s['implemented']} / {s['partially_implemented']} / {s['not_implemented']} / "
            f"{s['non_compliant']} of {s['total']}"
        )


class MappingInline(admin.TabularInline):
    model = ControlMapping
    fk_name = "control"
    fields = readonly_fields = ("capability", "relationship", "rationale")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class AttestationInline(admin.TabularInline):
    model = Attestation
    fields = readonly_fields = ("status", "attested_by", "created_at", "expires_at", "ledger_seq")
    extra = 0
    can_delete = False
    ordering = ("-created_at",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Control)
class ControlAdmin(_ReadOnly):
    list_display = ("control_id", "framework", "title", "category", "status", "evidence", "rule")
    list_filter = ("framework", "rule", "withdrawn")
    search_fields = ("control_id", "title", "summary")
    inlines = (MappingInline, AttestationInline)
    list_per_page = 100

    def get_queryset(self, request):
        return super().get_queryset(request).filter(assessable=True).select_related("framework")

    def get_search_results(self, request, queryset, search_term):
        # The attestation form's autocomplete offers only controls that can be attested.
        queryset, duplicates = super().get_search_results(request, queryset, search_term)
        return queryset.filter(withdrawn=False), duplicates

    def _assessments(self, request) -> dict[int, selectors.Assessment]:
        cache = getattr(request, "_compliance_assessments", None)
        if cache is None:
            cache = {}
            request._compliance_assessments = cache
            request._compliance_assessor = selectors.Assessor()
        return cache

    def _assess(self, request, obj: Control) -> selectors.Assessment:
        cache = self._assessments(request)
        if obj.pk not in cache:
            (cache[obj.pk],) = request._compliance_assessor.assess([obj])
        return cache[obj.pk]

    def changelist_view(self, request, extra_context=None):
        self._request = request
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self._request = request
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="status")
    def status(self, obj: Control) -> str:
        return _status_badge(self._assess(self._request, obj).status)

    @admin.display(description="evidence")
    def evidence(self, obj: Control) -> int:
        return self._assess(self._request, obj).evidence_count

    @admin.display(description="why")
    def status_reason(self, obj: Control) -> str:
        return self._assess(self._request, obj).summary

    def get_readonly_fields(self, request, obj=None):
        return ["status", "status_reason", "evidence", *super().get_readonly_fields(request, obj)]


@admin.register(Capability)
class CapabilityAdmin(_ReadOnly):
    list_display = ("id", "title", "entry_types")


class AttestationForm(forms.ModelForm):
    class Meta:
        model = Attestation
        fields = ("control", "status", "justification", "evidence_ids", "expires_at")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "control" not in self.fields:  # the read-only view of a saved attestation
            return
        self.fields["control"].queryset = Control.objects.filter(
            assessable=True, withdrawn=False
        ).select_related("framework")
        self.fields["evidence_ids"].required = False
        self.fields[
            "evidence_ids"
        ].help_text = (
            'a JSON list of evidence artifact ids, e.g. ["01a2…"] (Evidence → Evidence artifacts)'
        )
        self.fields["status"].initial = Attestation.Status.IMPLEMENTED
        self.fields["expires_at"].required = False
        help_text = "empty: the longest allowed (LEXECON_ATTESTATION_MAX_DAYS)"
        self.fields["expires_at"].help_text = help_text

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            services.attestation_check(user=self.user, **_attestation_values(data))
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from exc
        return data


def _attestation_values(data) -> dict:
    return {
        "control": data["control"],
        "justification": data["justification"],
        "expires_at": data.get("expires_at"),
        "evidence_ids": [str(i) for i in data.get("evidence_ids") or []],
        "status": data["status"],
    }


@admin.register(Attestation)
class AttestationAdmin(RolePermissionAdmin):
    view_permissions = VIEW
    add_permission = "accounts.attest_controls"
    form = AttestationForm
    list_display = ("control", "status", "attested_by", "created_at", "expires_at", "valid")
    list_filter = ("status", "control__framework")
    search_fields = ("control__control_id",)
    autocomplete_fields = ("control",)

    @admin.display(boolean=True)
    def valid(self, obj: Attestation) -> bool:
        return obj.expires_at > timezone.now()

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return [f.name for f in Attestation._meta.fields]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.user = request.user  # the check sees evidence as this user does
        return form

    def save_model(self, request, obj, form, change):
        if change:  # pragma: no cover - change permission is never granted
            raise PermissionError("attestations are never changed")
        created = services.attestation_create(
            user=request.user, **_attestation_values(form.cleaned_data)
        )
        obj.pk = created.pk
        obj.ledger_seq = created.ledger_seq
        obj.attested_by = created.attested_by
        obj.created_at = created.created_at
