"""Record-keeping fixtures: decisions made through the real ``/decide`` pipeline with distinct
contexts, registered AI systems, staff API clients per role, and counts of what a request wrote."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.aisystems import services as registry
from apps.decisions.models import Decision
from apps.ledger.models import LedgerEntry
from apps.retention.models import LegalHold, RetentionRun
from tests.conftest import verify_session

BASE = "/compliance/eu-ai-act/article-12"
HOLD_URL = f"{BASE}/legal-hold"
READ_TICKET = {"actor": "ai_agent:customer_service", "action": "read_ticket"}
# A day after which every class (ten years at most) has ended.
FAR_FUTURE = timedelta(days=4000)


def marker() -> str:
    """A context value that appears nowhere else (for dump searches)."""
    return f"ctx-{uuid.uuid4().hex}"


def decide(client, **fields) -> dict:
    """A decision through ``POST /decide`` with a unique context marker; the answer."""
    context = {"customer_email": marker(), **fields.pop("context", {})}
    body = {**READ_TICKET, **fields, "context": context}
    response = client.post("/decide", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def register(officer_user, system_id: str, risk_class: str, **extra) -> None:
    registry.ai_system_register(
        principal=officer_user,
        system_id=system_id,
        name=system_id,
        version="1",
        role="deployer",
        intended_purpose=f"Purpose of {system_id}.",
        risk_class=risk_class,
        **extra,
    )


def later(days: float = 0) -> timezone.datetime:
    return timezone.now() + timedelta(days=days)


def counts() -> tuple[int, int]:
    """Legal holds and ledger entries (genesis left out)."""
    entries = LedgerEntry.objects.exclude(entry_type="ledger.genesis").count()
    return LegalHold.objects.count(), entries


def sweep_entries() -> list[dict]:
    return [
        json.loads(payload)
        for payload in LedgerEntry.objects.filter(entry_type="retention.sweep_completed")
        .order_by("seq")
        .values_list("payload", flat=True)
    ]


@pytest.fixture
def staff_api(make_user):
    """``staff_api(role)`` → an API client with a verified (password + OTP) staff session."""

    def _client(role: str, username: str | None = None, *, csrf: bool = False) -> APIClient:
        client = APIClient(enforce_csrf_checks=csrf)
        client.user = make_user(username or f"user_{role}", role)
        verify_session(client, client.user)
        return client

    return _client


@pytest.fixture
def officer(staff_api):
    """A compliance officer: reads (view_dashboard) and writes (manage_policies)."""
    return staff_api("compliance_officer")


@pytest.fixture
def retention_transactional_db(transactional_db):
    """``transactional_db`` with the role groups in place (an earlier flush removes the ones the
    accounts data migration made), whose teardown first empties the append-only tables that
    PostgreSQL's triggers would not let the flush truncate."""
    from tests.conftest import empty_append_only_tables
    from tests.escalations.conftest import ensure_roles

    ensure_roles()
    yield
    empty_append_only_tables()


def live_contexts() -> int:
    return Decision.objects.filter(context__isnull=False).count()


def completed_runs() -> int:
    return RetentionRun.objects.filter(status=RetentionRun.Status.COMPLETED).count()
