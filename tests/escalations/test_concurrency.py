"""T26: reviewers resolving the same escalation at the same time — exactly one wins, the others get
409, and the ledger holds exactly one resolution entry (PostgreSQL; SQLite serialises writers with
BEGIN IMMEDIATE and is covered by the sequential 409 tests)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from django.db import connection, connections
from django.test import Client
from rest_framework.test import APIClient

from apps.accounts import services as accounts
from apps.decisions.models import ResponsibilityRecord
from apps.escalations import services
from apps.escalations.models import Escalation, EscalationApproval
from apps.ledger import selectors as ledger_selectors
from apps.ledger.models import LedgerEntry
from tests.conftest import PASSWORD, load_demo_policy, verify_session
from tests.escalations.conftest import NOTE, REFUND, ensure_roles

ROOT = Path(__file__).resolve().parents[2]
RACERS = 4


def race(clients: list[Client], url: str, bodies: list[dict]) -> list[tuple[int, str]]:
    barrier = threading.Barrier(len(clients))
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()

    def go(client: Client, body: dict) -> None:
        barrier.wait()
        try:
            response = client.post(url, json.dumps(body), content_type="application/json")
            code = (
                response.json().get("error", {}).get("code", "")
                if response.status_code >= 400
                else ""
            )
            with lock:
                answers.append((response.status_code, code))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=go, args=pair) for pair in zip(clients, bodies, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(answers)


@pytest.mark.usefixtures("ledger_transactional_db")
def test_t26_concurrent_resolutions_exactly_one_wins():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (runs in the second pass of .ci/run)")
    ensure_roles()
    load_demo_policy()
    agent = APIClient()
    agent.credentials(
        HTTP_AUTHORIZATION=f"Bearer {accounts.agent_key_create(name='racer', scopes=['decide']).raw_key}"
    )
    officers = []
    for index in range(RACERS):
        user = accounts.user_create(
            username=f"officer{index}", password=PASSWORD, role="compliance_officer"
        )
        accounts.totp_device_create(user=user, confirmed=True)
        officers.append(user)
    for round_number in range(3):
        answer = agent.post("/decide", REFUND, format="json").json()
        escalation_id = answer["escalation_id"]
        services.escalation_acknowledge(escalation_id=escalation_id, user=officers[0])
        clients = [verify_session(Client(), user) for user in officers]
        # Mixed verdicts: whoever wins decides, everybody else gets a conflict.
        bodies = [
            {"resolution": "approved" if index % 2 == 0 else "denied", "note": f"{NOTE} {index}"}
            for index in range(RACERS)
        ]
        answers = race(clients, f"/escalations/{escalation_id}/resolve", bodies)
        assert answers == [(200, "")] + [(409, "invalid_transition")] * (RACERS - 1), round_number
        escalation = Escalation.objects.get(pk=escalation_id)
        assert escalation.status == "resolved"
        resolved = [
            json.loads(entry.payload)
            for entry in LedgerEntry.objects.filter(entry_type="escalation.resolved")
        ]
        assert [p["escalation_id"] for p in resolved].count(escalation_id) == 1
        assert ResponsibilityRecord.objects.filter(escalation=escalation).count() == 1
        assert EscalationApproval.objects.filter(escalation=escalation).count() == 0
    assert ledger_selectors.ledger_verify()["valid"] is True
