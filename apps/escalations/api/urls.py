from django.urls import path

from apps.escalations.api import views

urlpatterns = [
    path("escalations", views.EscalationListApi.as_view(), name="api-list"),
    path("escalations/create", views.EscalationCreateApi.as_view(), name="api-create"),
    path(
        "escalations/sla/violations",
        views.EscalationSlaViolationsApi.as_view(),
        name="api-sla-violations",
    ),
    path(
        "escalations/<uuid:escalation_id>", views.EscalationDetailApi.as_view(), name="api-detail"
    ),
    path(
        "escalations/<uuid:escalation_id>/acknowledge",
        views.EscalationAcknowledgeApi.as_view(),
        name="api-acknowledge",
    ),
    path(
        "escalations/<uuid:escalation_id>/resolve",
        views.EscalationResolveApi.as_view(),
        name="api-resolve",
    ),
    path(
        "escalations/<uuid:escalation_id>/assign",
        views.EscalationAssignApi.as_view(),
        name="api-assign",
    ),
    path("overrides/execute", views.OverrideExecuteApi.as_view(), name="api-override"),
    path(
        "responsibility/<uuid:decision_id>",
        views.ResponsibilityChainApi.as_view(),
        name="api-responsibility",
    ),
    path("decisions/<uuid:decision_id>/stop", views.AgentStopApi.as_view(), name="api-stop"),
]
