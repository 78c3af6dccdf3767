"""Admin pages of serious incidents (EU AI Act Art. 73): read-only records.

Incidents are opened, moved on and reported through the services (``/incidents`` API), each step
one ledger entry; here officers and auditors find them, filter them and read each one with its
clocks, transitions, reports and warnings. Nothing is added, changed or deleted here.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from apps.core.admin import RolePermissionAdmin
from apps.incidents import selectors
from apps.incidents.models import Incident, IncidentReport, IncidentTransition, IncidentWarning

#: Reading incidents is the rule of the incidents API (staff with view_dashboard).
VIEW = ("accounts.view_dashboard",)


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        return any(request.user.has_perm(perm) for perm in VIEW)


class TransitionInline(_ReadOnlyInline):
    model = IncidentTransition
    fields = ("created_at", "before", "after", "actor", "report", "note", "ledger_seq")
    readonly_fields = fields


class ReportInline(_ReadOnlyInline):
    model = IncidentReport
    fields = ("created_at", "kind", "version", "created_by", "pdf_artifact", "ledger_seq")
    readonly_fields = fields


class WarningInline(_ReadOnlyInline):
    model = IncidentWarning
    fields = ("clock", "lead_hours", "due_at")
    readonly_fields = fields


@admin.register(Incident)
class IncidentAdmin(RolePermissionAdmin):
    view_permissions = VIEW
    list_display = (
        "aware_at",
        "ai_system",
        "category",
        "status",
        "next_deadline",
        "personal_data_involved",
        "member_state",
    )
    list_filter = ("status", "category", "personal_data_involved", "member_state")
    search_fields = ("ai_system__id", "id")
    date_hierarchy = "aware_at"
    list_select_related = ("ai_system",)
    ordering = ("-aware_at",)
    fields = (
        "ai_system",
        "category",
        "status",
        "aware_at",
        "member_state",
        "personal_data_involved",
        "description",
        "clock_table",
        "linked_decisions",
        "linked_evidence",
        "gdpr_notified_at",
        "created_by",
        "ledger_seq",
        "created_at",
    )
    readonly_fields = fields
    inlines = (TransitionInline, ReportInline, WarningInline)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Next deadline")
    def next_deadline(self, obj: Incident) -> str:
        running = [c for c in selectors.incident_clocks(obj) if c.stopped_at is None]
        if not running:
            return "—"
        first = min(running, key=lambda c: c.due_at)
        overdue = " (overdue)" if first.due_at <= timezone.now() else ""
        return f"{first.clock}: {first.due_at:%Y-%m-%d %H:%M} UTC{overdue}"

    @admin.display(description="Clocks")
    def clock_table(self, obj: Incident) -> str:
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{} ({}, {}): due {} UTC — {}</li>",
                (
                    (
                        c.clock,
                        c.basis,
                        c.period,
                        f"{c.due_at:%Y-%m-%d %H:%M}",
                        c.state,
                    )
                    for c in selectors.incident_clocks(obj)
                ),
            ),
        )

    @admin.display(description="Decisions")
    def linked_decisions(self, obj: Incident) -> str:
        return ", ".join(str(pk) for pk in obj.decisions.values_list("pk", flat=True)) or "—"

    @admin.display(description="Evidence")
    def linked_evidence(self, obj: Incident) -> str:
        return ", ".join(str(pk) for pk in obj.evidence.values_list("pk", flat=True)) or "—"
