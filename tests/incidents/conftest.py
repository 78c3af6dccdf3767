"""Serious-incident fixtures: staff API clients per role, a registered AI system, an incident
body, and counts of everything an incident request may write."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.aisystems import services as registry
from apps.evidence.models import EvidenceArtifact
from apps.incidents.models import (
    Incident,
    IncidentReport,
    IncidentTransition,
    IncidentWarning,
    SuggestionDecision,
)
from apps.ledger.models import LedgerEntry
from tests.conftest import verify_session

URL = "/incidents"
SYSTEM_ID = "cv-screening"
DESCRIPTION = (
    "Applicants over 50 were ranked last by the screening assistant for two days; "
    "a recruiter noticed and the ranking was switched off."
)


def stamp(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


@pytest.fixture
def staff_api(make_user):
    """``staff_api(role)`` → an API client with a verified (password + OTP) staff session; the
    user has an e-mail address (warnings are mailed)."""

    def _client(role: str, username: str | None = None, *, csrf: bool = False) -> APIClient:
        client = APIClient(enforce_csrf_checks=csrf)
        client.user = make_user(username or f"user_{role}", role)
        client.user.email = f"{client.user.username}@example.org"
        client.user.save(update_fields=["email"])
        verify_session(client, client.user)
        return client

    return _client


@pytest.fixture
def officer(staff_api):
    """A compliance officer: reads (view_dashboard) and writes (manage_policies)."""
    return staff_api("compliance_officer", "olga")


@pytest.fixture
def system(officer):
    """A high-risk Annex III system (provider), owned by the officer."""
    return registry.ai_system_register(
        principal=officer.user,
        system_id=SYSTEM_ID,
        name="CV screening assistant",
        version="2.1.0",
        role="provider",
        intended_purpose="Ranks job applications against the published requirements.",
        annex_iii_point="4(a)",
        risk_class="high",
        owner=officer.user,
        status="active",
    )


@pytest.fixture
def body(system):
    """A valid ``POST /incidents`` body (aware an hour ago, no personal data)."""
    return {
        "ai_system": system.pk,
        "category": "general",
        "aware_at": stamp(timezone.now() - timedelta(hours=1)),
        "description": DESCRIPTION,
        "personal_data_involved": False,
    }


@pytest.fixture
def opened(officer, body):
    """An open incident, opened by the officer through the API (its JSON answer)."""
    response = officer.post(URL, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def counts() -> dict[str, int]:
    """Rows of everything an incident request may write, and ledger entries (genesis aside)."""
    return {
        "incidents": Incident.objects.count(),
        "transitions": IncidentTransition.objects.count(),
        "reports": IncidentReport.objects.count(),
        "warnings": IncidentWarning.objects.count(),
        "suggestion_decisions": SuggestionDecision.objects.count(),
        "artifacts": EvidenceArtifact.objects.count(),
        "ledger": LedgerEntry.objects.exclude(entry_type="ledger.genesis").count(),
    }


def entry(seq: int) -> tuple[str, dict]:
    found = LedgerEntry.objects.get(seq=seq)
    return found.entry_type, json.loads(found.payload)


def entries_of(entry_type: str) -> list[dict]:
    return [
        json.loads(e.payload)
        for e in LedgerEntry.objects.filter(entry_type=entry_type).order_by("seq")
    ]


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code, body
    return body["error"]
