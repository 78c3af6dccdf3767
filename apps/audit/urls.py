"""Routes of audit exports: the API (``audit/...``) and the staff page (``exports/``)."""

from django.urls import include, path

from apps.audit import views

app_name = "audit"

urlpatterns = [
    path("", include("apps.audit.api.urls")),
    path("exports/", views.exports, name="exports"),
]
