from django.urls import path

from apps.policies.api import views

urlpatterns = [
    path("policies", views.PolicyListApi.as_view(), name="policies-list"),
    path("policies/load", views.PolicyLoadApi.as_view(), name="policies-load"),
    path("policies/evaluate", views.PolicyEvaluateApi.as_view(), name="policies-evaluate"),
    path(
        "policies/simulations/<str:simulation_id>",
        views.PolicySimulationApi.as_view(),
        name="policies-simulation",
    ),
    path("policies/<str:identifier>", views.PolicyDetailApi.as_view(), name="policies-detail"),
    path(
        "policies/<str:identifier>/activate",
        views.PolicyActivateApi.as_view(),
        name="policies-activate",
    ),
    path(
        "policies/<str:identifier>/simulate",
        views.PolicySimulateApi.as_view(),
        name="policies-simulate",
    ),
]
