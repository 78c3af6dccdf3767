"""Unconfirmed answers (ADR 0010): what ``/decide`` records before its append, and the mark.

The server side (shared slots, orphans of dead workers, the WSGI middleware that sees whether an
answer went out) is tested here too, and in a real gunicorn in tests/live/test_decide_live.py.
"""

from __future__ import annotations

import json
import logging
import mmap
import os
import subprocess
import sys
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
from lexecon_site import answers
from lexecon_site.answers import SETTLE_BACKOFF_MAX, SETTLE_SECONDS, AnswerWatch, Marker
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


def _dead_pid() -> int:
    """The pid of a process that has exited and been reaped: no process has it now."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


def test_answer_watch_slots_hold_what_each_worker_owes():
    table = bytearray(4 * 40)
    mine, other = AnswerWatch(table, slots=4), AnswerWatch(table, slots=4)
    mine.claim(1, pid=os.getpid())
    other.claim(2, pid=os.getppid())  # alive
    owed = uuid.uuid4()
    other.expect(owed, 77)
    assert other.pending == (owed, 77)
    assert mine.orphans(overdue_after=60) == []  # its worker lives and is not overdue
    time.sleep(0.02)
    assert mine.orphans(overdue_after=0.01) == [(2, os.getppid(), owed, 77)]  # overdue
    other.clear()
    assert other.pending is None
    assert mine.orphans(overdue_after=0.01) == []
    mine.expect(uuid.uuid4(), 1)
    time.sleep(0.02)
    assert len(other.orphans(overdue_after=0.01)) == 1  # overdue, seen by the other worker
    assert mine.orphans(overdue_after=0.01) == []


def test_answer_watch_finds_what_a_killed_worker_owed_and_forgets_it_once():
    table = bytearray(4 * 40)
    mine, dead = AnswerWatch(table, slots=4), AnswerWatch(table, slots=4)
    gone = _dead_pid()
    mine.claim(1, pid=os.getpid())
    dead.claim(3, pid=gone)
    owed = uuid.uuid4()
    dead.expect(owed, 5)
    found = mine.orphans(overdue_after=60)
    assert found == [(3, gone, owed, 5)]
    replaced = uuid.uuid4()
    mine.forget(3, gone, replaced)  # not what the slot holds: it stays
    assert mine.orphans(overdue_after=60) == found
    mine.forget(3, gone, owed)
    assert mine.orphans(overdue_after=60) == []


def test_answer_watch_release_leaves_an_owed_decision_and_a_successor_inherits_it():
    table = bytearray(4 * 40)
    first = AnswerWatch(table, slots=4)
    first.claim(2, pid=999_999_001)
    first.release()  # nothing owed: the slot is empty
    assert AnswerWatch(table, slots=4).orphans(overdue_after=60) == []
    owed = uuid.uuid4()
    first.claim(2, pid=999_999_001)
    first.release((owed, 9))  # exiting with a mark it could not write
    successor = AnswerWatch(table, slots=4)
    successor.claim(6, pid=os.getpid())  # 6 % 4: the same slot, after the respawns wrapped
    assert successor.inherited == [(owed, 9)]
    assert successor.orphans(overdue_after=60) == []  # the slot is now the successor's own


class _OwedMarker:
    """Stands in for the marker thread: records what it is owed."""

    delivery = delivery

    def __init__(self) -> None:
        self.owed: list[tuple[uuid.UUID, int, str]] = []

    def owe(self, decision_id, lock_key, cause) -> None:
        self.owed.append((decision_id, lock_key, cause))


@pytest.fixture
def serving(monkeypatch):
    """A worker's state as gunicorn's post_worker_init hook leaves it, with a stand-in marker."""
    watch = AnswerWatch(bytearray(4 * 40), slots=4)
    watch.claim(1, pid=os.getpid())
    marker = _OwedMarker()
    monkeypatch.setattr(answers._Serving, "watch", watch)
    monkeypatch.setattr(answers._Serving, "marker", marker)
    return watch, marker


def _application(status: str, chunks: list[bytes], owes: uuid.UUID | None, *, raises=False):
    def application(environ, start_response):
        if owes is not None:
            answers._Serving.watch.expect(owes, 42)  # what decision_make does before the append
        if raises:
            raise RuntimeError("after the commit")
        start_response(status, [("Content-Type", "application/json")])
        return chunks

    return answers.ConfirmAnswers(application)


def _serve(application, *, fail_on_write: bool = False) -> None:
    """What gunicorn's sync worker does with a WSGI answer: write each chunk, then close()."""
    body = application({}, lambda status, headers, exc_info=None: None)
    try:
        for _chunk in body:
            if fail_on_write:
                raise BrokenPipeError
    except BrokenPipeError:
        pass
    finally:
        if hasattr(body, "close"):
            body.close()


def test_a_200_handed_over_whole_confirms_the_decision(serving):
    watch, marker = serving
    _serve(_application("200 OK", [b"{}"], uuid.uuid4()))
    assert watch.pending is None
    assert marker.owed == []


def test_an_answer_whose_write_failed_is_owed_as_not_sent(serving):
    watch, marker = serving
    owed = uuid.uuid4()
    _serve(_application("200 OK", [b"{}"], owed), fail_on_write=True)
    assert watch.pending is None
    assert marker.owed == [(owed, 42, delivery.Cause.NOT_SENT)]


def test_an_error_answer_after_the_append_is_owed_as_error_answer(serving):
    watch, marker = serving
    owed = uuid.uuid4()
    _serve(_application("500 Internal Server Error", [b"{}"], owed))
    assert marker.owed == [(owed, 42, delivery.Cause.NOT_ANSWERED)]
    owed_again = uuid.uuid4()
    with pytest.raises(RuntimeError):
        _serve(_application("200 OK", [b"{}"], owed_again, raises=True))
    assert marker.owed[-1] == (owed_again, 42, delivery.Cause.NOT_ANSWERED)
    assert watch.pending is None


def test_requests_that_owe_nothing_pass_through_unwrapped(serving):
    _, marker = serving
    chunks = [b"ok"]
    assert _application("200 OK", chunks, None)({}, lambda *args: None) is chunks
    assert marker.owed == []


def test_outside_gunicorn_the_middleware_does_nothing():
    assert answers._Serving.watch is None
    chunks = [b"ok"]
    assert _application("500 Internal Server Error", chunks, None)({}, lambda *a: None) is chunks
