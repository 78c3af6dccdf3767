from django.urls import path

from apps.retention.api import views

PREFIX = "compliance/eu-ai-act/article-12"

urlpatterns = [
    path(f"{PREFIX}/status", views.Article12StatusApi.as_view(), name="article-12-status"),
    path(
        f"{PREFIX}/regulatory-package",
        views.RegulatoryPackageApi.as_view(),
        name="article-12-regulatory-package",
    ),
    path(f"{PREFIX}/legal-holds", views.LegalHoldListApi.as_view(), name="article-12-legal-holds"),
    path(f"{PREFIX}/legal-hold", views.LegalHoldPlaceApi.as_view(), name="article-12-legal-hold"),
    path(
        f"{PREFIX}/legal-hold/<uuid:hold_id>",
        views.LegalHoldDetailApi.as_view(),
        name="article-12-legal-hold-detail",
    ),
]
