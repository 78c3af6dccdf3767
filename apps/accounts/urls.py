from django.urls import path

from apps.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.PasswordLoginView.as_view(), name="login"),
    path("otp/", views.otp_step, name="otp"),
    path("enrol/", views.enrol, name="enrol"),
    path("backup-codes/", views.backup_codes_regenerate, name="backup_codes"),
    path("logout/", views.logout_view, name="logout"),
    path("reauth/", views.reauth, name="reauth"),
    path("password/", views.password_change, name="password_change"),
    path("sessions/", views.sessions, name="sessions"),
]
