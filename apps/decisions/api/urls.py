from django.urls import path

from apps.decisions.api import views

urlpatterns = [
    path("decide", views.DecideApi.as_view(), name="decide"),
    path("decide/verify", views.DecideVerifyApi.as_view(), name="decide-verify"),
    path("decisions", views.DecisionListApi.as_view(), name="decisions-list"),
    path(
        "decisions/<uuid:decision_id>", views.DecisionDetailApi.as_view(), name="decisions-detail"
    ),
    path("tokens/revoke", views.TokenRevokeApi.as_view(), name="tokens-revoke"),
    path("tokens/keys", views.TokenKeysApi.as_view(), name="tokens-keys"),
]
