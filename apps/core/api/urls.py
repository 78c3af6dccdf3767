from django.urls import path

from apps.core.api import views

urlpatterns = [
    path("health", views.HealthApi.as_view(), name="health"),
    path("status", views.StatusApi.as_view(), name="status"),
]
