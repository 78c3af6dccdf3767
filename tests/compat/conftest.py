"""Compat fixtures (areas 1.4-1.6, 1.8): decisions made through the real ``/decide``, staff API
clients per role (password + OTP), a password-only session, and a count of what a request wrote."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.decisions.models import ResponsibilityRecord
from apps.escalations.models import Escalation, Override
from apps.evidence.models import EvidenceArtifact, EvidenceControlLink
from apps.ledger.models import LedgerEntry
from apps.risk.models import RiskAssessment
from tests.conftest import DEMO, verify_session
from tests.escalations.conftest import REFUND

__all__ = ["DEMO", "REFUND", "written"]


def written() -> dict[str, int]:
    """Row counts of everything a compat request may write."""
    return {
        "ledger": LedgerEntry.objects.count(),
        "risk": RiskAssessment.objects.count(),
        "escalations": Escalation.objects.count(),
        "acknowledged": Escalation.objects.exclude(acknowledged_at=None).count(),
        "overrides": Override.objects.count(),
        "evidence": EvidenceArtifact.objects.count(),
        "control_links": EvidenceControlLink.objects.count(),
        "responsibility": ResponsibilityRecord.objects.count(),
    }


@pytest.fixture
def staff_api(make_user):
    """``staff_api(role)`` → an API client signed in with password and OTP as a new ``role`` user."""

    def _client(role: str, username: str | None = None) -> APIClient:
        client = APIClient()
        user = make_user(username or f"user_{role}", role)
        verify_session(client, user)
        client.user = user
        return client

    return _client


@pytest.fixture
def password_only(make_user):
    """An API client whose session passed the password step only (no OTP): never admitted."""
    client = APIClient()
    client.force_login(make_user("pat_password_only", "admin"))
    return client


@pytest.fixture
def decided(agent):
    """``decided(body)`` → the native ``/decide`` answer for ``body`` (the agent's own decision)."""

    def _decide(body: dict = DEMO) -> dict:
        response = agent.post("/decide", body, format="json")
        assert response.status_code == 200, response.content
        return response.json()

    return _decide


@pytest.fixture(autouse=True)
def evidence_dir(settings, tmp_path):
    """Every test stores evidence bytes in its own directory."""
    settings.STORAGES = {
        **settings.STORAGES,
        "evidence": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "evidence")},
        },
    }
