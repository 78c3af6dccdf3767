"""Read-only admin for policy versions, with a side-by-side comparison of two versions."""

from __future__ import annotations

import difflib
import json

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from apps.core.admin import RolePermissionAdmin
from apps.policies.models import ActivePolicy, PolicyActivation, PolicyVersion


def _pretty(document: dict) -> list[str]:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False).splitlines()


POLICY_VIEWERS = ("accounts.manage_policies", "accounts.view_audit_logs", "accounts.view_dashboard")


@admin.register(PolicyVersion)
class PolicyVersionAdmin(RolePermissionAdmin):
    view_permissions = POLICY_VIEWERS
    list_display = (
        "name",
        "version",
        "mode",
        "relation_count",
        "short_hash",
        "is_active",
        "loaded_by",
        "created_at",
    )
    list_filter = ("mode", "dialect")
    search_fields = ("name", "version", "version_hash")
    actions = ("compare_selected",)
    readonly_fields = (
        "version_hash",
        "name",
        "version",
        "mode",
        "dialect",
        "relation_count",
        "loaded_by",
        "ledger_seq",
        "created_at",
        "pretty_document",
    )
    fields = readonly_fields

    @admin.display(description="Hash")
    def short_hash(self, obj: PolicyVersion) -> str:
        return obj.version_hash[:16]

    @admin.display(description="Active", boolean=True)
    def is_active(self, obj: PolicyVersion) -> bool:
        return ActivePolicy.objects.filter(pk=1, version=obj).exists()

    @admin.display(description="Normalised document")
    def pretty_document(self, obj: PolicyVersion) -> str:
        return format_html("<pre>{}</pre>", "\n".join(_pretty(obj.document)))

    @admin.action(description="Compare the two selected versions side by side")
    def compare_selected(self, request, queryset):
        if queryset.count() != 2:
            self.message_user(request, "Select exactly two versions to compare.", messages.WARNING)
            return None
        first, second = queryset.order_by("created_at")
        url = reverse("admin:policies_policyversion_compare", args=[first.pk, second.pk])
        return HttpResponseRedirect(url)

    def get_urls(self):
        return [
            path(
                "compare/<uuid:first>/<uuid:second>/",
                self.admin_site.admin_view(self.compare_view),
                name="policies_policyversion_compare",
            ),
            *super().get_urls(),
        ]

    def compare_view(self, request, first, second):
        a = get_object_or_404(PolicyVersion, pk=first)
        b = get_object_or_404(PolicyVersion, pk=second)
        table = difflib.HtmlDiff(wrapcolumn=70).make_table(
            _pretty(a.document),
            _pretty(b.document),
            fromdesc=str(a),
            todesc=str(b),
            context=False,
        )
        context = {
            **self.admin_site.each_context(request),
            "title": "Compare policy versions",
            "first": a,
            "second": b,
            "diff_table": table,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/policies/compare.html", context)


@admin.register(PolicyActivation)
class PolicyActivationAdmin(RolePermissionAdmin):
    view_permissions = POLICY_VIEWERS
    list_display = ("version", "previous", "activated_by", "activated_at", "reason", "ledger_seq")
