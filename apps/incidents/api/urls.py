from django.urls import path

from apps.incidents.api import views

urlpatterns = [
    path("incidents", views.IncidentListApi.as_view(), name="incidents-list"),
    # Before incidents/<id>: "suggestions" is not an incident id (the converter is uuid anyway).
    path("incidents/suggestions", views.SuggestionsApi.as_view(), name="incidents-suggestions"),
    path(
        "incidents/suggestions/<str:key>/accept",
        views.SuggestionAcceptApi.as_view(),
        name="incidents-suggestion-accept",
    ),
    path(
        "incidents/suggestions/<str:key>/dismiss",
        views.SuggestionDismissApi.as_view(),
        name="incidents-suggestion-dismiss",
    ),
    path(
        "incidents/<uuid:incident_id>", views.IncidentDetailApi.as_view(), name="incidents-detail"
    ),
    path(
        "incidents/<uuid:incident_id>/reports",
        views.IncidentReportsApi.as_view(),
        name="incidents-reports",
    ),
    path(
        "incidents/<uuid:incident_id>/reports/<int:version>",
        views.IncidentReportContentApi.as_view(),
        name="incidents-report-content",
    ),
    path("compliance/eu-ai-act/calendar", views.CalendarApi.as_view(), name="eu-ai-act-calendar"),
]
