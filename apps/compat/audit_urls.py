from django.urls import path

from apps.compat import audit

# /api/v1/audit/export and /api/v1/audit/exports[/{id}/download] are not here: audit exports
# are being built in another branch (docs/compat.md).
urlpatterns = [
    path("api/v1/audit/decisions", audit.AuditDecisionsApi.as_view(), name="compat-audit-list"),
    path(
        "api/v1/audit/decisions/<str:decision_id>",
        audit.AuditDecisionApi.as_view(),
        name="compat-audit-detail",
    ),
    path("api/v1/audit/stats", audit.AuditStatsApi.as_view(), name="compat-audit-stats"),
    path("api/v1/audit/verify", audit.AuditVerifyApi.as_view(), name="compat-audit-verify"),
]
