"""Routes: the agent API at the product's public paths (DESIGN §12), the staff pages, operations."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.compat import system as compat_system
from apps.core import views as core_views

urlpatterns = [
    # First: /decide is the hottest path, and URL resolution tries patterns in order.
    path("", include("apps.decisions.api.urls")),
    # The staff home page to browsers, service info to API clients (the original Lexecon's GET /).
    path("", compat_system.root, name="home"),
    path("admin/", admin.site.urls),
    path("dashboard/", include("apps.dashboard.urls")),
    path("accounts/", include("apps.accounts.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    # Lexecon's figures and django-prometheus's, behind a token or an address list (ADR 0033).
    path("metrics", core_views.metrics, name="metrics"),
    path("", include("apps.core.api.urls")),
    path("", include("apps.accounts.api.urls")),
    path("", include("apps.ledger.api.urls")),
    # The ledger browser's staff pages (/ledger/browse/...), namespace "ledger".
    path("", include("apps.ledger.urls")),
    path("", include("apps.risk.api.urls")),
    path("", include("apps.policies.api.urls")),
    # Staff pages of the policies (/policies/manage/...): versions, diff, simulation, activation.
    path("", include("apps.policies.urls")),
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
    # The original Lexecon's compliance/verify-signature and compliance/public-key (compat 1.5),
    # before compliance/<framework>, which would take them for framework ids.
    path("", include("apps.compat.euaiact.signature_urls")),
    path("", include("apps.compliance.api.urls")),
    # Audit exports and evidence packages (audit/..., and the staff page exports/).
    path("", include("apps.audit.urls")),
    # The original Lexecon's own paths (/api/governance/..., /auth/..., /api/v1/audit/...): last.
    path("", include("apps.compat.urls")),
]

handler400 = "apps.core.views.handler400"
handler403 = "apps.core.views.handler403"
handler404 = "apps.core.views.handler404"
handler500 = "apps.core.views.handler500"
