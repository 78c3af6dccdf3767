from django.urls import path

from apps.evidence.api import views

urlpatterns = [
    path("evidence", views.EvidenceListApi.as_view(), name="evidence-list"),
    path("evidence/register", views.EvidenceRegisterApi.as_view(), name="evidence-register"),
    path(
        "evidence/link-decision",
        views.EvidenceLinkDecisionApi.as_view(),
        name="evidence-link-decision",
    ),
    path(
        "evidence/link-control",
        views.EvidenceLinkControlApi.as_view(),
        name="evidence-link-control",
    ),
    path("evidence/<uuid:artifact_id>", views.EvidenceDetailApi.as_view(), name="evidence-detail"),
    path(
        "evidence/<uuid:artifact_id>/content",
        views.EvidenceContentApi.as_view(),
        name="evidence-content",
    ),
    path(
        "evidence/<uuid:artifact_id>/verify",
        views.EvidenceVerifyApi.as_view(),
        name="evidence-verify",
    ),
]
