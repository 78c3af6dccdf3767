from django.urls import path

from apps.audit.api import views

urlpatterns = [
    path("audit/export", views.ExportCreateApi.as_view(), name="audit-export"),
    path("audit/exports", views.ExportListApi.as_view(), name="audit-exports"),
    path("audit/status/<str:export_id>", views.ExportStatusApi.as_view(), name="audit-status"),
    path(
        "audit/download/<str:export_id>", views.ExportDownloadApi.as_view(), name="audit-download"
    ),
]
