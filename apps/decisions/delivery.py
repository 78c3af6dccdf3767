"""Whether a decision's answer reached its agent, and the mark for the ones that may not have.

A decision commits before its answer is sent. If the answer then does not go out whole (the
client hung up, something after the commit failed and the agent got an error, or the worker was
killed with SIGKILL between the commit and the last byte), the ledger holds a decision the agent
never saw. RELIABILITY T13 allows that only when the decision is marked: ``response_unconfirmed``
on the row and a ``decision.response_unconfirmed`` ledger entry naming it (ADR 0010).

The server knows whether the answer went out, so each gunicorn worker installs a *tracker*
(``lexecon_site.answers.AnswerWatch``, from gunicorn.conf.py's hooks): :func:`expect` records the
decision id in memory the arbiter's other workers can read, before the append is sent to the
database, and the worker clears it once the decision's 200 has been handed to the server whole. What is
left there afterwards is settled with :func:`settle` by the worker's marker thread (off the
request path) or, if the worker died, by another worker's. Without a tracker (runserver, the test
client, management commands) :func:`expect` does nothing: the caller gets the answer in-process
or not at all.

A killed worker's database session may still be running the append: its COMMIT can become
visible after the worker is gone. So each PostgreSQL session that appends decisions first takes a
session-level advisory lock on a random key of its own (once per connection), and the key is
recorded with the decision id. :func:`settle` marks only once it can take that lock itself, that
is once the session has ended (or it is the settler's own session), when whatever that session
committed is visible and nothing more will commit.
"""

from __future__ import annotations

import secrets
import threading
import uuid
import weakref
from typing import Any, Protocol

from django.db import connection, transaction

from apps.accounts.principals import system_actor
from apps.decisions.models import Decision
from apps.ledger import events
from apps.ledger import services as ledger
from apps.ledger.entry_types import EntryType


class Cause:
    """Why a decision was marked (``cause`` in the ledger entry)."""

    NOT_SENT = "answer_not_sent"  # the worker hit a socket error while sending the answer
    NOT_ANSWERED = "error_answer"  # after the commit the request ended in another answer
    WORKER_DIED = "worker_died"  # the worker died between the append and the answer's last byte


class Tracker(Protocol):
    def expect(self, decision_id: uuid.UUID, lock_key: int) -> None: ...


_tracker: Tracker | None = None
_lock_keys: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
_lock_keys_lock = threading.Lock()  # the worker's marker thread reads it (lexecon_site.answers)


def install(tracker: Tracker | None) -> None:
    """Called by the serving worker once it has loaded the application (``None`` removes it)."""
    global _tracker
    _tracker = tracker


def expect(decision_id: uuid.UUID) -> None:
    """Record that ``decision_id`` is about to be appended and owes its agent an answer.

    Called right before the append statement is sent. With a tracker installed on PostgreSQL this
    makes sure the current session holds its answer lock first (one statement on a connection's
    first decision, nothing afterwards)."""
    if _tracker is not None:
        _tracker.expect(decision_id, session_lock_key())


def session_lock_key() -> int:
    """The advisory-lock key the current database session holds for its decisions (0 off PostgreSQL)."""
    if connection.vendor != "postgresql":
        return 0
    connection.ensure_connection()
    raw = connection.connection
    with _lock_keys_lock:
        key = _lock_keys.get(raw)
    if key is None:
        # 63 random bits: no other session of any process picks the same key by chance.
        key = secrets.randbits(63) or 1
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [key])
        with _lock_keys_lock:
            _lock_keys[raw] = key
    return key


def _held_here(lock_key: int) -> bool:
    """Whether a connection of this process that is still open holds ``lock_key``. Marks are
    settled after the request that owed them has ended, so every statement that connection ran
    for the decision has returned."""
    with _lock_keys_lock:
        held = list(_lock_keys.items())
    return any(key == lock_key and not raw.closed for raw, key in held)


def settle(decision_id: uuid.UUID, lock_key: int, cause: str) -> bool:
    """Mark ``decision_id`` as not confirmed if it was committed; True once that is decided.

    False means the session that appended it (``lock_key``) still exists in another process, or
    lost its connection to this one, so its commit may yet become visible: try again later. A
    decision that is not in the table was never committed and is not marked. Marking writes the
    flag and its ledger entry in one transaction, and only the first of several concurrent
    settlers writes them (the update matches an unmarked row only). Database errors propagate;
    the caller keeps the decision and retries."""
    with transaction.atomic():
        if lock_key and connection.vendor == "postgresql" and not _held_here(lock_key):
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [lock_key])
                if not cursor.fetchone()[0]:
                    return False
        marked = Decision.objects.filter(pk=decision_id, response_unconfirmed=False).update(
            response_unconfirmed=True
        )
        if marked:
            seq, request_id = Decision.objects.values_list("ledger_seq", "request_id").get(
                pk=decision_id
            )
            ledger.ledger_append(
                entry_type=EntryType.DECISION_RESPONSE_UNCONFIRMED,
                payload={
                    **events.envelope(
                        actor=system_actor("delivery", "answer delivery check"),
                        subject_type="decision",
                        subject_id=str(decision_id),
                        request_id=request_id or None,  # the decision's own request
                    ),
                    "decision_id": str(decision_id),
                    "decision_seq": seq,
                    "cause": cause,
                },
            )
    return True
