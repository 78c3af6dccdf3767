from django.urls import path

from apps.compliance.api import views

urlpatterns = [
    path("compliance/frameworks", views.FrameworksApi.as_view(), name="compliance-frameworks"),
    path("compliance/statistics", views.StatisticsApi.as_view(), name="compliance-statistics"),
    path("compliance/mappings", views.MappingsApi.as_view(), name="compliance-mappings"),
    path("compliance/<str:framework>", views.FrameworkApi.as_view(), name="compliance-framework"),
    path(
        "compliance/<str:framework>/controls",
        views.ControlsApi.as_view(),
        name="compliance-controls",
    ),
    path(
        "compliance/<str:framework>/controls/<str:control_id>",
        views.ControlApi.as_view(),
        name="compliance-control",
    ),
    path(
        "compliance/<str:framework>/controls/<str:control_id>/attest",
        views.AttestApi.as_view(),
        name="compliance-attest",
    ),
    path("compliance/<str:framework>/gaps", views.GapsApi.as_view(), name="compliance-gaps"),
]
