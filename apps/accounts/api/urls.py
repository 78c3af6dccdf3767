from django.urls import path

from apps.accounts.api import views

urlpatterns = [path("auth/whoami", views.WhoAmIApi.as_view(), name="auth-whoami")]
