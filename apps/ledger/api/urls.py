from django.urls import path

from apps.ledger.api import views

urlpatterns = [
    path("ledger/entries", views.LedgerEntriesApi.as_view(), name="ledger-entries"),
    path("ledger/verify", views.LedgerVerifyApi.as_view(), name="ledger-verify"),
    path("ledger/checkpoint", views.LedgerCheckpointApi.as_view(), name="ledger-checkpoint"),
    path("ledger/checkpoints", views.LedgerCheckpointsApi.as_view(), name="ledger-checkpoints"),
    path("ledger/keys", views.LedgerKeysApi.as_view(), name="ledger-keys"),
    path("ledger/proof/inclusion", views.InclusionProofApi.as_view(), name="ledger-inclusion"),
    path(
        "ledger/proof/consistency", views.ConsistencyProofApi.as_view(), name="ledger-consistency"
    ),
]
