"""Routes: the agent API at the product's public paths (DESIGN §12), the staff pages, operations."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.accounts import views as account_views

urlpatterns = [
    # First: /decide is the hottest path, and URL resolution tries patterns in order.
    path("", include("apps.decisions.api.urls")),
    path("", account_views.home, name="home"),
    path("admin/", admin.site.urls),
    path("dashboard/", include("apps.dashboard.urls")),
    path("accounts/", include("apps.accounts.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    path("", include("django_prometheus.urls")),
    path("", include("apps.core.api.urls")),
    path("", include("apps.accounts.api.urls")),
    path("", include("apps.ledger.api.urls")),
    path("", include("apps.risk.api.urls")),
    path("", include("apps.policies.api.urls")),
    path("", include("apps.escalations.urls")),
    path("", include("apps.evidence.api.urls")),
    # The EU AI Act modules (compliance/eu-ai-act/...), before compliance/<framework>/...
    path("", include("apps.techdoc.urls")),
    # Serious incidents and the EU AI Act calendar (compliance/eu-ai-act/...): before
    # apps.compliance, whose compliance/<framework>/... would take "eu-ai-act" for a framework.
    path("", include("apps.incidents.api.urls")),
    # The AI system registry, before any other compliance/ route: compliance/<framework>/...
    # would otherwise take "ai-systems" for a framework id.
    path("", include("apps.aisystems.api.urls")),
    # EU AI Act monitoring (Art. 9, 14, 72): compliance/eu-ai-act/..., before compliance/<framework>.
    path("", include("apps.monitoring.api.urls")),
    # EU AI Act modules (compliance/eu-ai-act/...), before compliance/<framework>/... too.
    path("", include("apps.retention.api.urls")),
    path("", include("apps.compliance.api.urls")),
    # The original Lexecon's own paths (/api/governance/..., /auth/..., /api/v1/audit/...): last.
    path("", include("apps.compat.urls")),
]

handler400 = "apps.core.views.handler400"
handler403 = "apps.core.views.handler403"
handler404 = "apps.core.views.handler404"
handler500 = "apps.core.views.handler500"
