"""T18: 50 parallel replays of one Idempotency-Key → one decision, identical answers (PostgreSQL)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from apps.accounts import services as accounts
from apps.decisions.models import Decision
from apps.ledger import selectors
from apps.ledger.models import LedgerEntry
from tests.conftest import DEMO, load_demo_policy

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.usefixtures("ledger_transactional_db")
def test_t18_parallel_replays_of_one_key_make_exactly_one_decision():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (runs in the second pass of .ci/run)")
    load_demo_policy()
    raw_key = accounts.agent_key_create(name="racer", scopes=["decide"]).raw_key
    barrier = threading.Barrier(50)
    answers: list[tuple[int, bytes, str]] = []
    lock = threading.Lock()

    def call() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        barrier.wait()
        try:
            response = client.post("/decide", DEMO, format="json", HTTP_IDEMPOTENCY_KEY="same-key")
            with lock:
                answers.append(
                    (
                        response.status_code,
                        response.content,
                        response.get("Idempotent-Replayed", ""),
                    )
                )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=call) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(answers) == 50
    assert {status for status, _, _ in answers} == {200}
    assert len({content for _, content, _ in answers}) == 1
    assert sum(1 for _, _, replayed in answers if replayed != "true") == 1
    assert Decision.objects.count() == 1
    assert LedgerEntry.objects.filter(entry_type="decision.made").count() == 1
    assert selectors.ledger_verify()["valid"] is True


# The ledger cleanup fixture lives with the ledger tests; reuse it here.
from tests.ledger.conftest import ledger_transactional_db  # noqa: E402, F401
