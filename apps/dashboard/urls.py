"""The dashboard's pages under /dashboard/ (namespace ``dashboard``)."""

from django.urls import path

from apps.dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.home, name="home"),
    path("verify", views.verify_start, name="verify"),
    path("verify/<str:job>", views.verify_status, name="verify_status"),
]
