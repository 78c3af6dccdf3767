"""Routes of the technical documentation: the Art. 11 API and the per-AI-system staff pages.

Mounted once from ``lexecon_site/urls.py``, before ``apps.compliance.api.urls`` (whose
``compliance/<framework>/...`` patterns would otherwise see ``eu-ai-act`` as a framework id);
every name is in the ``techdoc`` namespace.
"""

from django.urls import include, path

from apps.techdoc import views

app_name = "techdoc"

urlpatterns = [
    path("", include("apps.techdoc.api.urls")),
    path("compliance/eu-ai-act/systems/", views.systems, name="systems"),
    path("compliance/eu-ai-act/systems/<str:system_id>/", views.system_page, name="system"),
    path(
        "compliance/eu-ai-act/systems/<str:system_id>/narratives",
        views.narrative_save,
        name="narrative_save",
    ),
]
