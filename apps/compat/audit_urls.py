from django.urls import path

from apps.compat import audit, audit_export

G = "api/governance/audit-export/"

urlpatterns = [
    path("api/v1/audit/decisions", audit.AuditDecisionsApi.as_view(), name="compat-audit-list"),
    path(
        "api/v1/audit/decisions/<str:decision_id>",
        audit.AuditDecisionApi.as_view(),
        name="compat-audit-detail",
    ),
    path("api/v1/audit/stats", audit.AuditStatsApi.as_view(), name="compat-audit-stats"),
    path("api/v1/audit/verify", audit.AuditVerifyApi.as_view(), name="compat-audit-verify"),
    # Audit exports (apps.audit): the original's two route families.
    path(
        "api/v1/audit/export",
        audit_export.AuditExportRequestAlias.as_view(),
        name="compat-audit-v1-export",
    ),
    path(
        "api/v1/audit/exports",
        audit_export.AuditExportListAlias.as_view(),
        name="compat-audit-v1-exports",
    ),
    path(
        "api/v1/audit/exports/<str:export_id>/download",
        audit_export.AuditExportDownloadAlias.as_view(),
        name="compat-audit-v1-export-download",
    ),
    path(
        f"{G}request",
        audit_export.AuditExportRequestApi.as_view(),
        name="compat-audit-export-request",
    ),
    # Before {export_id}, which shadowed them in the original.
    path(f"{G}list", audit_export.AuditExportListApi.as_view(), name="compat-audit-export-list"),
    path(
        f"{G}requests",
        audit_export.AuditExportListAlias.as_view(),
        name="compat-audit-export-requests",
    ),
    path(
        f"{G}statistics",
        audit_export.AuditExportStatisticsApi.as_view(),
        name="compat-audit-export-statistics",
    ),
    path(
        f"{G}<str:export_id>/generate",
        audit_export.AuditExportGenerateApi.as_view(),
        name="compat-audit-export-generate",
    ),
    path(
        f"{G}<str:export_id>/download",
        audit_export.AuditExportDownloadApi.as_view(),
        name="compat-audit-export-download",
    ),
    path(f"{G}<str:export_id>", audit_export.AuditExportApi.as_view(), name="compat-audit-export"),
]
