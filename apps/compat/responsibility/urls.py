"""``/responsibility/*`` read routes (docs/compat.md, "1.6 Responsibility"). The native
``responsibility/<uuid>`` takes only UUIDs, so these fixed first segments never meet it."""

from django.urls import path

from apps.compat.responsibility import views

P = "responsibility/"

urlpatterns = [
    path(f"{P}report", views.ReportView.as_view(), name="compat-responsibility-report"),
    path(
        f"{P}chain/<str:decision_id>",
        views.ChainView.as_view(),
        name="compat-responsibility-chain",
    ),
    path(f"{P}party/<str:party>", views.PartyView.as_view(), name="compat-responsibility-party"),
    path(f"{P}overrides", views.OverridesView.as_view(), name="compat-responsibility-overrides"),
    path(
        f"{P}pending-reviews",
        views.PendingReviewsView.as_view(),
        name="compat-responsibility-pending",
    ),
    path(
        f"{P}legal/<str:decision_id>",
        views.LegalView.as_view(),
        name="compat-responsibility-legal",
    ),
    path(
        f"{P}storage/stats",
        views.StorageStatsView.as_view(),
        name="compat-responsibility-storage",
    ),
]
