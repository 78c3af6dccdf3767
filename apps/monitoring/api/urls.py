"""Routes of the EU AI Act monitoring API; mounted before ``apps.compliance.api.urls``."""

from django.urls import path

from apps.monitoring.api import views

PREFIX = "compliance/eu-ai-act/"

urlpatterns = [
    path(f"{PREFIX}article-9/summary", views.Art9SummaryApi.as_view(), name="eu-ai-act-art9"),
    path(
        f"{PREFIX}article-14/intervention",
        views.InterventionApi.as_view(),
        name="eu-ai-act-art14-intervention",
    ),
    path(
        f"{PREFIX}article-14/effectiveness",
        views.Art14EffectivenessApi.as_view(),
        name="eu-ai-act-art14-effectiveness",
    ),
    path(f"{PREFIX}article-72/plans", views.PlanListApi.as_view(), name="eu-ai-act-pmm-plans"),
    path(
        f"{PREFIX}article-72/plans/<uuid:plan_id>",
        views.PlanDetailApi.as_view(),
        name="eu-ai-act-pmm-plan",
    ),
    path(f"{PREFIX}article-72/report", views.Art72ReportApi.as_view(), name="eu-ai-act-art72"),
]
