from django.urls import path

from apps.risk.api import views

urlpatterns = [
    path("risks/assess", views.RiskAssessApi.as_view(), name="risks-assess"),
    path("risks/<uuid:assessment_id>", views.RiskDetailApi.as_view(), name="risks-detail"),
]
