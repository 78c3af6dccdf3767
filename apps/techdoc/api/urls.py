from django.urls import path

from apps.techdoc.api import views

urlpatterns = [
    path(
        "compliance/eu-ai-act/article-11/documentation",
        views.DocumentationApi.as_view(),
        name="eu-ai-act-article-11-documentation",
    ),
]
