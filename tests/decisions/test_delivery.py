"""Unconfirmed answers (ADR 0010): what ``/decide`` records before its append, and the mark.

The worker side (shared slots, orphans of dead workers) is in tests/live/test_worker.py and, in a
real gunicorn, tests/live/test_decide_live.py.
"""

from __future__ import annotations

import json
import logging
import mmap
import os
import time
import uuid

import psycopg
import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from apps.decisions import delivery
from apps.decisions.models import Decision
from apps.ledger.entry_types import EntryType
from apps.ledger.models import LedgerEntry
from lexecon_site.workers import SETTLE_BACKOFF_MAX, SETTLE_SECONDS, AnswerWatch, Marker
from tests.conftest import DEMO, load_demo_policy
from tests.ledger.conftest import ledger_transactional_db, postgres_only  # noqa: F401
from tests.live.conftest import database_at, free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def watch():
    """A real worker tracker on its own shared table, installed for the test."""
    tracker = AnswerWatch(mmap.mmap(-1, 40 * 4), slots=4)
    tracker.claim(1, pid=12345)
    delivery.install(tracker)
    yield tracker
    delivery.install(None)


def _decide(agent, **headers):
    response = agent.post("/decide", DEMO, format="json", **headers)
    assert response.status_code == 200, response.content
    return response.json()


def _marks() -> list[dict]:
    return [
        json.loads(entry.payload)
        for entry in LedgerEntry.objects.filter(
            entry_type=EntryType.DECISION_RESPONSE_UNCONFIRMED
        ).order_by("seq")
    ]


def test_without_a_tracker_nothing_is_recorded_and_nothing_marked(agent):
    body = _decide(agent)
    assert delivery._tracker is None
    assert Decision.objects.get(pk=body["decision_id"]).response_unconfirmed is False
    assert _marks() == []


def test_a_new_decision_is_expected_before_its_append(agent, watch):
    body = _decide(agent)
    decision_id, key = watch.pending
    assert str(decision_id) == body["decision_id"]
    assert key == delivery.session_lock_key()
    assert (key != 0) == (connection.vendor == "postgresql")


def test_an_idempotent_replay_owes_no_new_answer(agent, watch):
    first = _decide(agent, HTTP_IDEMPOTENCY_KEY="once")
    watch.clear()
    again = _decide(agent, HTTP_IDEMPOTENCY_KEY="once")
    assert again["decision_id"] == first["decision_id"]
    assert watch.pending is None


def test_settle_marks_a_committed_decision_once(agent):
    body = _decide(agent)
    decision_id = uuid.UUID(body["decision_id"])
    entries = LedgerEntry.objects.count()
    assert delivery.settle(decision_id, 0, delivery.Cause.NOT_SENT) is True
    assert Decision.objects.get(pk=decision_id).response_unconfirmed is True
    assert _marks() == [
        {
            "v": 2,
            "actor": {"kind": "system", "id": "system:delivery", "label": "answer delivery check"},
            "subject": {"type": "decision", "id": body["decision_id"]},
            "request_id": body["request_id"],
            "reason": None,
            "decision_id": body["decision_id"],
            "decision_seq": body["ledger_entry_id"],
            "cause": "answer_not_sent",
        }
    ]
    assert LedgerEntry.objects.count() == entries + 1
    # A second settler (another worker that saw the same slot) writes nothing more.
    assert delivery.settle(decision_id, 0, delivery.Cause.WORKER_DIED) is True
    assert LedgerEntry.objects.count() == entries + 1
    assert len(_marks()) == 1


def test_settle_of_a_decision_that_never_committed_writes_nothing(agent):
    _decide(agent)
    entries, marked = (
        LedgerEntry.objects.count(),
        Decision.objects.filter(response_unconfirmed=True),
    )
    assert delivery.settle(uuid.uuid4(), 0, delivery.Cause.WORKER_DIED) is True
    assert LedgerEntry.objects.count() == entries
    assert not marked.exists()


def test_the_mark_shows_in_the_decision_and_filters_the_list(agent):
    kept, lost = _decide(agent), _decide(agent)
    delivery.settle(uuid.UUID(lost["decision_id"]), 0, delivery.Cause.NOT_ANSWERED)
    detail = agent.get(f"/decisions/{lost['decision_id']}").json()
    assert detail["response_unconfirmed"] is True
    assert agent.get(f"/decisions/{kept['decision_id']}").json()["response_unconfirmed"] is False
    marked = agent.get("/decisions", {"response_unconfirmed": "true"}).json()
    assert [d["decision_id"] for d in marked["decisions"]] == [lost["decision_id"]]
    confirmed = agent.get("/decisions", {"response_unconfirmed": "false"}).json()
    assert [d["decision_id"] for d in confirmed["decisions"]] == [kept["decision_id"]]
    assert agent.get("/decisions").json()["total"] == 2
    bad = agent.get("/decisions", {"response_unconfirmed": "perhaps"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "validation_error"
    assert "response_unconfirmed" in bad.json()["error"]["details"]


def test_the_mark_keeps_the_ledger_verifiable(agent):
    body = _decide(agent)
    delivery.settle(uuid.UUID(body["decision_id"]), 0, delivery.Cause.WORKER_DIED)
    report = agent.get("/ledger/verify").json()
    assert report["valid"] is True


@pytest.fixture
def other_session(postgres_only):  # noqa: F811
    """A second PostgreSQL session, as the one of a worker that was killed mid-append."""
    db = connection.settings_dict
    session = psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"], autocommit=True
    )
    yield session
    session.close()


def test_the_session_lock_is_taken_once_and_held_by_this_backend(postgres_only):  # noqa: F811
    key = delivery.session_lock_key()
    assert delivery.session_lock_key() == key
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
            " AND granted AND ((classid::bigint << 32) | objid::bigint) = %s AND objsubid = 1",
            [key],
        )
        assert cursor.fetchone()[0] == 1


def test_settle_waits_while_the_appending_session_lives(agent, other_session):
    """The key is held by a session other than ours: its commit could still land, so nothing is
    decided (or written) until that session ends."""
    body = _decide(agent)
    decision_id = uuid.UUID(body["decision_id"])
    key = 0x1234_5678_9ABC
    other_session.execute("SELECT pg_advisory_lock(%s)", [key])
    entries = LedgerEntry.objects.count()
    assert delivery.settle(decision_id, key, delivery.Cause.WORKER_DIED) is False
    assert LedgerEntry.objects.count() == entries
    assert Decision.objects.get(pk=decision_id).response_unconfirmed is False
    other_session.close()  # the dead worker's backend finally exits
    assert delivery.settle(decision_id, key, delivery.Cause.WORKER_DIED) is True
    assert Decision.objects.get(pk=decision_id).response_unconfirmed is True
    assert [mark["cause"] for mark in _marks()] == ["worker_died"]


def test_settle_of_our_own_session_needs_no_wait(agent, watch):
    body = _decide(agent)
    decision_id, key = watch.pending
    assert str(decision_id) == body["decision_id"]
    assert delivery.settle(decision_id, key, delivery.Cause.NOT_SENT) is True
    assert Decision.objects.get(pk=decision_id).response_unconfirmed is True


def test_the_decision_page_warns_and_lists_the_mark_entry(agent, staff, as_user):
    kept, lost = _decide(agent), _decide(agent)
    delivery.settle(uuid.UUID(lost["decision_id"]), 0, delivery.Cause.WORKER_DIED)
    mark_seq = LedgerEntry.objects.get(entry_type=EntryType.DECISION_RESPONSE_UNCONFIRMED).seq
    client = as_user(staff("olga", "compliance_officer"))
    page = client.get(reverse("escalations:decision", args=[lost["decision_id"]]))
    text = page.content.decode()
    assert page.status_code == 200
    assert 'id="response-unconfirmed"' in text
    assert "decision.response_unconfirmed" in text
    assert f">{mark_seq}<" in text
    other = client.get(reverse("escalations:decision", args=[kept["decision_id"]])).content
    assert b'id="response-unconfirmed"' not in other
    assert b"decision.response_unconfirmed" not in other


@pytest.fixture
def marker():
    """A worker's real marker; the tests run its rounds themselves unless they start it."""
    answers = AnswerWatch(bytearray(40 * 4), slots=4)
    answers.claim(1, pid=os.getpid())
    return Marker(delivery, answers, 60, logging.getLogger("tests.marker"))


def _committed_decision() -> uuid.UUID:
    """A decision through the API, committed (the tests using it are transactional)."""
    from tests.factories import AgentKeyFactory

    load_demo_policy()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AgentKeyFactory().raw_key}")
    return uuid.UUID(_decide(client)["decision_id"])


def test_a_mark_that_fails_on_a_dead_connection_is_retried(
    ledger_transactional_db,  # noqa: F811
    other_session,
    marker,
):
    """The connection died under the marker: the first round fails, keeps the mark owed and
    waits longer before the next; the next round, on a new connection, writes it."""
    decision_id = _committed_decision()
    key = delivery.session_lock_key()
    pid = connection.connection.info.backend_pid
    other_session.execute("SELECT pg_terminate_backend(%s)", [pid])
    while other_session.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
        time.sleep(0.02)
    marker.owe(decision_id, key, delivery.Cause.NOT_SENT)
    marker.settle_round()
    assert marker.owed == [(decision_id, key, delivery.Cause.NOT_SENT)]
    assert marker.wait_seconds == 2 * SETTLE_SECONDS
    marker.settle_round()
    assert marker.owed == []
    assert marker.wait_seconds == SETTLE_SECONDS  # success resets the wait
    assert Decision.objects.get(pk=decision_id).response_unconfirmed is True
    assert [mark["cause"] for mark in _marks()] == ["answer_not_sent"]


def test_failed_rounds_back_off_up_to_a_bound(ledger_transactional_db, postgres_only, marker):  # noqa: F811
    """While the database cannot be reached, each failed round doubles the wait before the next,
    up to SETTLE_BACKOFF_MAX; a worker that stops then leaves the owed decision in its slot."""
    owed = uuid.uuid4()
    with database_at(free_port()):  # nothing listens there
        marker.owe(owed, 7, delivery.Cause.NOT_SENT)
        waits = []
        for _ in range(7):
            marker.settle_round()
            waits.append(marker.wait_seconds)
        assert waits == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
        assert SETTLE_BACKOFF_MAX == 30.0
        assert marker.stop() == (owed, 7)  # never started: stop makes one last round
    marker.settle_round()
    assert marker.owed == []
    assert marker.wait_seconds == SETTLE_SECONDS


def test_the_marker_thread_marks_what_it_is_owed(ledger_transactional_db, postgres_only, marker):  # noqa: F811
    """Started as in a worker: the mark is written on the thread's own connection, at once."""
    decision_id = _committed_decision()
    marker.start()
    try:
        marker.owe(decision_id, delivery.session_lock_key(), delivery.Cause.NOT_ANSWERED)
        deadline = time.monotonic() + 5
        while marker.owed and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        assert marker.stop() is None
    assert not marker.is_alive()
    assert Decision.objects.get(pk=decision_id).response_unconfirmed is True
    assert [mark["cause"] for mark in _marks()] == ["error_answer"]
