"""Which decision each gunicorn worker still owes its agent, and the mark for those it may not
have received (RELIABILITY T13, ADR 0010, ADR 0011).

Wired into stock gunicorn through documented extension points only:

- ``gunicorn.conf.py`` imports this module in the arbiter, before it forks, so every worker maps the
  same anonymous shared table (:data:`ANSWER_TABLE`), one slot per worker;
- its ``post_worker_init`` hook calls :func:`worker_started` (claim the slot, start the marker
  thread, install the tracker of :mod:`apps.decisions.delivery`), its ``worker_exit`` hook
  :func:`worker_stopping` (a last round of marks; a decision still owed stays in the slot for a
  sibling);
- :class:`ConfirmAnswers` wraps the WSGI application (``lexecon_site.wsgi``): when a request that
  appended a decision ends, it confirms the decision if a 200 was handed to the server whole (the
  server asked for the body's end after writing every chunk, PEP 3333), and hands it to the marker
  thread otherwise.

A worker killed with SIGKILL runs none of this; the decision it owed stays in its slot, and a
sibling's marker thread (or the replacement that takes the slot over) marks it ``worker_died``.
Outside gunicorn (runserver, the test client, commands) nothing is installed and nothing is marked.
"""

from __future__ import annotations

import mmap
import os
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

SHARE_SLOTS = 32
SETTLE_SECONDS = 1.0  # how often a worker looks for decisions owed by dead workers
SETTLE_BACKOFF_MAX = 30.0  # after failed rounds (database down or hung) the wait doubles up to this


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


# pid, decision id, advisory-lock key of its session, since when (monotonic)
_ANSWER_SLOT = struct.Struct("q16sqd")


class AnswerWatch:
    """Which decision each worker of one arbiter still owes its agent an answer, in shared memory.

    The tracker of :mod:`apps.decisions.delivery` (ADR 0010). A worker's slot (same numbering as
    :class:`ConnectionShare`) holds its pid, the id of the decision being appended and answered,
    the advisory-lock key of the database session appending it, and when that started (monotonic
    clock). :meth:`expect` fills it before the append is sent; the worker clears it once the
    answer has gone out whole. A slot left filled by a process that no longer exists (SIGKILL),
    or filled for longer than any request may take, is an *orphan*: another worker settles it.
    Memory writes only: the hot path pays no system call and no database round trip for this.
    """

    _EMPTY = bytes(16)

    def __init__(self, buffer, slots: int = SHARE_SLOTS) -> None:
        self._buffer = buffer
        self._slot = _ANSWER_SLOT
        self._slots = slots
        self._offset = 0
        self._pid = 0
        self.pending: tuple[uuid.UUID, int] | None = None  # (decision id, lock key) while owed
        self.inherited: list[tuple[uuid.UUID, int]] = []

    def claim(self, age: int, pid: int) -> None:
        """Take slot ``age % slots``; an orphan still in it (after ``slots`` respawns) is kept in
        :attr:`inherited` for this worker to settle."""
        self._offset = (age % self._slots) * self._slot.size
        self._pid = pid
        old_pid, decision, key, _ = self._slot.unpack_from(self._buffer, self._offset)
        if decision != self._EMPTY and old_pid != pid:
            self.inherited.append((uuid.UUID(bytes=decision), key))
        self.pending = None
        self._slot.pack_into(self._buffer, self._offset, pid, self._EMPTY, 0, 0.0)

    def expect(self, decision_id: uuid.UUID, lock_key: int) -> None:
        self.pending = (decision_id, lock_key)
        self._slot.pack_into(
            self._buffer, self._offset, self._pid, decision_id.bytes, lock_key, time.monotonic()
        )

    def clear(self) -> None:
        self.pending = None
        self._slot.pack_into(self._buffer, self._offset, self._pid, self._EMPTY, 0, 0.0)

    def release(self, owed: tuple[uuid.UUID, int] | None = None) -> None:
        """On exit: free the slot, or leave in it a decision still ``owed`` (which another worker
        then settles as an orphan)."""
        if owed is None:
            self._slot.pack_into(self._buffer, self._offset, 0, self._EMPTY, 0, 0.0)
        else:
            self._slot.pack_into(self._buffer, self._offset, self._pid, owed[0].bytes, owed[1], 0.0)

    def orphans(self, overdue_after: float) -> list[tuple[int, int, uuid.UUID, int]]:
        """``(slot, pid, decision id, lock key)`` of decisions owed by dead or overdue workers."""
        found = []
        now = time.monotonic()
        for index in range(self._slots):
            offset = index * self._slot.size
            pid, decision, key, since = self._slot.unpack_from(self._buffer, offset)
            if decision == self._EMPTY or offset == self._offset:
                continue
            if since < now - overdue_after or not pid or not _process_exists(pid):
                found.append((index, pid, uuid.UUID(bytes=decision), key))
        return found

    def forget(self, index: int, pid: int, decision_id: uuid.UUID) -> None:
        """Empty slot ``index`` if it still holds what :meth:`orphans` found there."""
        offset = index * self._slot.size
        now_pid, decision, _, _ = self._slot.unpack_from(self._buffer, offset)
        if now_pid == pid and decision == decision_id.bytes:
            self._slot.pack_into(self._buffer, offset, 0, self._EMPTY, 0, 0.0)


class Marker(threading.Thread):
    """The worker's thread that writes the marks of unconfirmed answers (ADR 0010).

    Marking needs the database, which may be down or hang until its connect timeout just when
    marks are owed (a 503 after a lost connection). In the request loop that would hold up every
    request behind it, so a thread of the worker does it, on its own database connection (Django
    keeps one per thread), closed after each round. It marks what :meth:`owe` hands it at once,
    and looks at the other workers' slots for orphans every ``SETTLE_SECONDS``. A round that
    fails doubles the wait before the next, up to ``SETTLE_BACKOFF_MAX``; one that works resets
    it. :meth:`stop` makes a last round and returns a decision still owed, if any, for the slot.
    """

    def __init__(self, delivery, answers: AnswerWatch, overdue_after: float, log) -> None:
        super().__init__(name="lexecon-marker", daemon=True)
        self.delivery = delivery
        self._answers = answers
        self._overdue_after = overdue_after
        self._log = log
        self._owed: list[tuple[uuid.UUID, int, str]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self.wait_seconds = SETTLE_SECONDS  # before the next round; doubles while rounds fail
        self.orphans_left = False

    def owe(self, decision_id: uuid.UUID, lock_key: int, cause: str) -> None:
        with self._lock:
            self._owed.append((decision_id, lock_key, cause))
        self._wake.set()

    @property
    def owed(self) -> list[tuple[uuid.UUID, int, str]]:
        with self._lock:
            return list(self._owed)

    def run(self) -> None:
        while not self._stopping:
            self._wake.wait(self.wait_seconds)
            self._wake.clear()
            if not self._stopping:
                self.settle_round()

    def stop(self) -> tuple[uuid.UUID, int] | None:
        self._stopping = True
        self._wake.set()
        if self.is_alive():
            self.join(timeout=SETTLE_BACKOFF_MAX)
        self.settle_round()
        owed = self.owed
        return owed[0][:2] if owed else None

    def settle_round(self) -> None:
        """Mark the owed decisions, then the orphans of dead workers' slots. Never raises."""
        from django.db import connection

        settle, died = self.delivery.settle, self.delivery.Cause.WORKER_DIED
        try:
            for item in self.owed:
                if not settle(*item):
                    break  # its session still runs (lost connection): next round
                with self._lock:
                    self._owed.remove(item)
            self.orphans_left = False
            for index, pid, decision_id, key in self._answers.orphans(self._overdue_after):
                if settle(decision_id, key, died):
                    self._answers.forget(index, pid, decision_id)
                else:
                    self.orphans_left = True  # the dead worker's session still runs
        except Exception as exc:  # noqa: BLE001 - the thread must outlive database trouble
            self.orphans_left = True
            self.wait_seconds = min(2 * self.wait_seconds, SETTLE_BACKOFF_MAX)
            self._log.warning("Could not yet mark a decision whose answer is unconfirmed: %s", exc)
        else:
            self.wait_seconds = SETTLE_SECONDS
        finally:
            connection.close()  # this thread's own connection; the next round opens a new one


# Created when gunicorn.conf.py imports this module in the arbiter, so every worker it forks maps
# the same pages. A process that imports it later only sees itself.
ANSWER_TABLE = mmap.mmap(-1, _ANSWER_SLOT.size * SHARE_SLOTS)


class _Serving:
    """What this worker process has installed (one request at a time: gunicorn's sync worker)."""

    watch: AnswerWatch | None = None
    marker: Marker | None = None


def worker_started(worker: Any) -> None:
    """gunicorn ``post_worker_init``: the application is loaded; claim this worker's slot, settle
    what a predecessor left in it, start the marker thread and install the tracker."""
    from apps.decisions import delivery

    watch = AnswerWatch(ANSWER_TABLE)
    watch.claim(worker.age, os.getpid())
    marker = Marker(delivery, watch, 2 * (worker.cfg.timeout or 30), worker.log)
    for decision_id, key in watch.inherited:
        marker.owe(decision_id, key, delivery.Cause.WORKER_DIED)
    marker.start()
    _Serving.watch, _Serving.marker = watch, marker
    delivery.install(watch)


def worker_stopping(worker: Any) -> None:
    """gunicorn ``worker_exit``: a last round of marks; what is still owed stays in the slot."""
    watch, marker = _Serving.watch, _Serving.marker
    if watch is None or marker is None:
        return
    from apps.decisions import delivery

    delivery.install(None)
    _Serving.watch = _Serving.marker = None
    watch.release(marker.stop())


def answer_finished(status: int | None, sent_whole: bool) -> None:
    """The request has ended: confirm the decision it owed (a 200 handed over whole), or hand it
    to the marker thread with its cause."""
    watch, marker = _Serving.watch, _Serving.marker
    if watch is None or marker is None or watch.pending is None:
        return
    if status != 200 or not sent_whole:
        cause = (
            marker.delivery.Cause.NOT_ANSWERED if status != 200 else marker.delivery.Cause.NOT_SENT
        )
        marker.owe(*watch.pending, cause)
    watch.clear()


class ConfirmAnswers:
    """WSGI middleware: tells :func:`answer_finished` how each request that owes a decision ended.

    Requests that appended nothing pass through untouched. For one that did, the response body is
    wrapped: the server calls ``close()`` whatever happened (PEP 3333), and the body counts as sent
    once the server has asked for more after writing its last chunk, which a failed write (the
    client hung up) never does. An exception out of the application is an error answer."""

    def __init__(self, application: Callable[..., Iterable[bytes]]) -> None:
        self.application = application

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if _Serving.watch is None:
            return self.application(environ, start_response)
        statuses: list[int] = []

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            statuses.append(int(status.split(" ", 1)[0]))
            return start_response(status, headers, exc_info)

        try:
            result = self.application(environ, start)
        except BaseException:
            answer_finished(None, sent_whole=False)
            raise
        if _Serving.watch.pending is None:
            return result
        return _WatchedBody(result, statuses)


class _WatchedBody:
    def __init__(self, body: Iterable[bytes], statuses: list[int]) -> None:
        self._body = body
        self._statuses = statuses
        self._sent_whole = False

    def __iter__(self) -> Iterator[bytes]:
        yield from self._body
        self._sent_whole = True  # the server wrote every chunk and asked for more

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            answer_finished(self._statuses[-1] if self._statuses else None, self._sent_whole)
