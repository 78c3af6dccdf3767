from django.urls import path

from apps.compat.auth import views

urlpatterns = [
    path("auth/login", views.LoginApi.as_view(), name="compat-auth-login"),
    path("auth/logout", views.LogoutApi.as_view(), name="compat-auth-logout"),
    path("auth/me", views.MeApi.as_view(), name="compat-auth-me"),
    path("auth/users", views.UsersApi.as_view(), name="compat-auth-users"),
    path("auth/password-policy", views.PasswordPolicyApi.as_view(), name="compat-password-policy"),
]
