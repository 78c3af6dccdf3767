"""Admin pages of EU AI Act monitoring. Plans are added and changed through the services (one
ledger entry each, nothing for an unchanged save); interventions and drift alerts are read-only
records. Nothing is deleted here (a plan is withdrawn through the API)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin

from apps.accounts.models import User
from apps.core.admin import RolePermissionAdmin
from apps.core.exceptions import InvalidInput
from apps.decisions.models import Decision
from apps.monitoring import services
from apps.monitoring.models import DriftAlert, Intervention, PMMPlan


class PMMPlanForm(forms.ModelForm):
    """``metrics`` is edited as JSON: a list of ``{"metric", "threshold", "direction"}``."""

    metrics = forms.JSONField(
        help_text='e.g. [{"metric": "deny_rate", "threshold": 0.05, "direction": "up"}]'
    )

    class Meta:
        model = PMMPlan
        fields = ("ai_system", "owner", "window_days", "min_decisions", "metrics", "description")
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "owner" in self.fields:
            self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by("username")

    def clean_metrics(self):
        try:
            return services.clean_metrics(self.cleaned_data["metrics"])
        except InvalidInput as exc:
            raise forms.ValidationError(json.dumps(exc.details.get("metrics"))) from exc

    def validate_unique(self):
        # The one-live-plan rule is the service's 409; say it on the form instead.
        adding = self.instance._state.adding and self.cleaned_data.get("ai_system") is not None
        if (
            adding
            and PMMPlan.objects.filter(
                ai_system=self.cleaned_data["ai_system"], deleted_at__isnull=True
            ).exists()
        ):
            self.add_error("ai_system", "This AI system has a monitoring plan already.")


@admin.register(PMMPlan)
class PMMPlanAdmin(RolePermissionAdmin):
    form = PMMPlanForm
    view_permissions = ("accounts.view_dashboard",)
    add_permission = "accounts.manage_policies"
    change_permission = "accounts.manage_policies"
    list_display = ("ai_system", "owner", "window_days", "metric_list", "created_at", "deleted_at")
    list_filter = ("window_days",)
    search_fields = ("ai_system__id",)
    list_select_related = ("ai_system", "owner")
    readonly_fields = ("created_by", "created_at", "updated_at", "deleted_at")

    def get_readonly_fields(self, request, obj=None):
        # A plan belongs to its system for life; a withdrawn plan is history.
        if obj is None:
            return self.readonly_fields
        if obj.deleted_at is not None:
            return (*self.readonly_fields, *PMMPlanForm.Meta.fields)
        return (*self.readonly_fields, "ai_system")

    @admin.display(description="Metrics")
    def metric_list(self, obj: PMMPlan) -> str:
        return ", ".join(obj.metric_codes)

    def save_model(self, request, obj, form, change):
        """Through the services: the row, its ledger entry and its history row together."""
        data = form.cleaned_data
        if change:
            fields = ("owner", "window_days", "min_decisions", "metrics", "description")
            changes = {field: data[field] for field in fields if field in form.changed_data}
            saved = services.pmm_plan_update(
                principal=request.user, plan_id=obj.pk, changes=changes
            )
        else:
            saved = services.pmm_plan_create(
                principal=request.user,
                ai_system_id=data["ai_system"].pk,
                owner=data["owner"],
                metrics=data["metrics"],
                window_days=data["window_days"],
                min_decisions=data["min_decisions"],
                description=data.get("description") or "",
            )
        form.instance = saved
        obj.pk = saved.pk


class _ReadOnly(RolePermissionAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Intervention)
class InterventionAdmin(_ReadOnly):
    view_permissions = ("accounts.view_audit_logs", "accounts.resolve_escalation")
    list_display = (
        "created_at",
        "intervention_type",
        "ai_system",
        "ai_recommendation",
        "human_decision",
        "role",
        "user",
    )
    list_filter = ("intervention_type", "human_decision")
    search_fields = ("ai_system", "decision__id")
    list_select_related = ("user",)

    def get_queryset(self, request):
        # The one visibility rule: the decisions this person may see (ADR 0017).
        visible = Decision.objects.visible_to(request.user).values("pk")
        return super().get_queryset(request).filter(decision__in=visible)


@admin.register(DriftAlert)
class DriftAlertAdmin(_ReadOnly):
    view_permissions = ("accounts.view_dashboard",)
    list_display = (
        "fired_at",
        "ai_system_id",
        "metric",
        "value",
        "previous_value",
        "change",
        "threshold",
        "cleared_at",
    )
    list_filter = ("metric",)
    search_fields = ("ai_system_id",)
