"""Compliance fixtures: the shipped catalogs loaded, staff per role, an API client per role."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.compliance import services
from apps.compliance.models import Attestation, ControlEvidence, EvidenceTally
from apps.ledger.models import LedgerEntry
from tests.conftest import verify_session


@pytest.fixture
def catalogs(db):
    """The shipped catalogs and crosswalk, loaded as ``make run`` loads them."""
    return services.catalogs_load()


@pytest.fixture
def staff_api(make_user):
    """``staff_api(role)`` → an API client signed in (password + OTP) as a new user of ``role``."""

    def _client(role: str, username: str | None = None) -> APIClient:
        client = APIClient()
        user = make_user(username or f"user_{role}", role)
        verify_session(client, user)
        client.user = user
        return client

    return _client


def written() -> tuple[int, int, int, int]:
    """What an attestation may write: attestations, ledger entries, tally rows, evidence rows."""
    return (
        Attestation.objects.count(),
        LedgerEntry.objects.count(),
        EvidenceTally.objects.count(),
        ControlEvidence.objects.count(),
    )
