"""The ledger browser's staff pages (namespace ``ledger``), under ``/ledger/browse/`` so they never
meet the API's ``/ledger/entries``, ``/ledger/verify``, ``/ledger/proof/...`` routes."""

from django.urls import path

from apps.ledger import views

app_name = "ledger"

urlpatterns = [
    path("ledger/browse/", views.entries, name="entries"),
    path("ledger/browse/entries/<int:seq>/", views.entry, name="entry"),
    path(
        "ledger/browse/entries/<int:seq>/inclusion-proof.json",
        views.entry_proof,
        name="entry_proof",
    ),
    path("ledger/browse/checkpoints/", views.checkpoints, name="checkpoints"),
]
