from django.urls import path

from apps.aisystems.api import views

urlpatterns = [
    path("compliance/ai-systems", views.AISystemListApi.as_view(), name="ai-systems-list"),
    path(
        "compliance/ai-systems/<str:system_id>",
        views.AISystemDetailApi.as_view(),
        name="ai-systems-detail",
    ),
]
