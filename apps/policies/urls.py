"""Staff pages of the policies (``policies`` namespace), under ``/policies/manage/`` so that they
never meet the API's ``/policies/<id>`` routes."""

from django.urls import path

from apps.policies import views

app_name = "policies"

urlpatterns = [
    path("policies/manage/", views.versions, name="versions"),
    path("policies/manage/diff/", views.diff, name="diff"),
    path("policies/manage/versions/<uuid:version_id>/", views.version_page, name="version"),
    path(
        "policies/manage/versions/<uuid:version_id>/activate",
        views.activate,
        name="activate",
    ),
    path(
        "policies/manage/versions/<uuid:version_id>/simulate",
        views.simulate,
        name="simulate",
    ),
    path(
        "policies/manage/simulations/<uuid:simulation_id>/",
        views.simulation_page,
        name="simulation",
    ),
    path(
        "policies/manage/simulations/<uuid:simulation_id>/progress",
        views.simulation_progress,
        name="simulation_progress",
    ),
]
