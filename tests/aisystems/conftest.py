"""AI system registry fixtures: clients per role and scope, a valid registration body, counts."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from apps.aisystems.models import AISystem, AISystemChange
from apps.ledger.models import LedgerEntry
from tests.conftest import verify_session

URL = "/compliance/ai-systems"

# A deployer's CV screening assistant: Annex III 4(a), so high-risk.
CV_SCREENING = {
    "id": "cv-screening",
    "name": "CV screening assistant",
    "version": "2.1.0",
    "role": "deployer",
    "intended_purpose": "Ranks job applications against the requirements of the published role.",
    "annex_iii_point": "4(a)",
    "risk_class": "high",
    "status": "active",
}
# A support chatbot: no Annex III point, limited risk (it talks to people, Art. 50).
SUPPORT_BOT = {
    "id": "support-bot",
    "name": "Support bot",
    "version": "1.0",
    "role": "deployer",
    "intended_purpose": "Answers customer questions about their orders.",
    "risk_class": "limited",
}
REASONING = "It only sorts incoming applications into folders by the job they name."


@pytest.fixture
def staff_api(make_user):
    """``staff_api(role)`` → an API client with a verified (password + OTP) staff session."""

    def _client(role: str, username: str | None = None) -> APIClient:
        client = APIClient()
        client.user = make_user(username or f"user_{role}", role)
        verify_session(client, client.user)
        return client

    return _client


@pytest.fixture
def officer(staff_api):
    """A compliance officer: reads (view_dashboard) and writes (manage_policies)."""
    return staff_api("compliance_officer")


@pytest.fixture
def registered(officer):
    """The CV screening system, registered by the officer."""
    response = officer.post(URL, CV_SCREENING, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def counts() -> tuple[int, int, int]:
    """Systems, history rows and ledger entries (the genesis entry, written with the first
    append of a fresh ledger, left out)."""
    entries = LedgerEntry.objects.exclude(entry_type="ledger.genesis").count()
    return AISystem.objects.count(), AISystemChange.objects.count(), entries


def entry_payload(seq: int) -> tuple[str, dict]:
    entry = LedgerEntry.objects.get(seq=seq)
    return entry.entry_type, json.loads(entry.payload)
