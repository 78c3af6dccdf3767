"""Evidence fixtures: a private evidence storage per test, writers and readers."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.evidence.models import EvidenceArtifact, EvidenceControlLink, EvidenceDecisionLink
from apps.ledger.models import LedgerEntry
from tests.conftest import verify_session

DEMO_ALLOWED = {"actor": "ai_agent:customer_service", "action": "read_ticket"}


@pytest.fixture(autouse=True)
def evidence_dir(settings, tmp_path):
    """Every test stores evidence bytes in its own directory."""
    location = tmp_path / "evidence"
    settings.STORAGES = {
        **settings.STORAGES,
        "evidence": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(location)},
        },
    }
    return location


@pytest.fixture
def writer(agent_client, demo_policy):
    """An agent key that decides and writes evidence."""
    return agent_client("decide", "evidence:write")


@pytest.fixture
def staff_client(make_user):
    def _client(role: str, username: str | None = None) -> APIClient:
        client = APIClient()
        verify_session(client, make_user(username or f"user_{role}", role))
        return client

    return _client


def stored_files(location) -> list[str]:
    return sorted(str(p.relative_to(location)) for p in location.rglob("*") if p.is_file())


def counts() -> tuple[int, int, int, int]:
    return (
        EvidenceArtifact.objects.count(),
        EvidenceDecisionLink.objects.count(),
        EvidenceControlLink.objects.count(),
        LedgerEntry.objects.count(),
    )


@pytest.fixture(autouse=True)
def catalogs(db):
    """Control names in evidence are checked against the loaded catalogs."""
    from apps.compliance import services as compliance

    return compliance.catalogs_load()
