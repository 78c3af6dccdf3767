"""Oversight routes: the API at the product's public paths and the reviewer pages under /oversight/.

Mounted once from ``lexecon_site/urls.py`` with ``path("", include("apps.escalations.urls"))``; every
name is in the ``escalations`` namespace (``escalations:queue`` is the reviewer queue).
"""

from django.urls import include, path

from apps.escalations import views

app_name = "escalations"

urlpatterns = [
    path("", include("apps.escalations.api.urls")),
    path("oversight/", views.queue, name="queue"),
    path("oversight/escalations/<uuid:escalation_id>/", views.escalation_page, name="detail"),
    path(
        "oversight/escalations/<uuid:escalation_id>/acknowledge",
        views.escalation_acknowledge,
        name="acknowledge",
    ),
    path(
        "oversight/escalations/<uuid:escalation_id>/resolve",
        views.escalation_resolve,
        name="resolve",
    ),
    path(
        "oversight/escalations/<uuid:escalation_id>/assign",
        views.escalation_assign,
        name="assign",
    ),
    path("oversight/decisions/<uuid:decision_id>/", views.decision_page, name="decision"),
    path(
        "oversight/decisions/<uuid:decision_id>/override",
        views.decision_override,
        name="override",
    ),
    path("oversight/decisions/<uuid:decision_id>/stop", views.decision_stop, name="stop"),
]
