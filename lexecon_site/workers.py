"""The gunicorn worker Lexecon is served with: gunicorn's sync worker, minus per-request waste.

``gunicorn lexecon_site.wsgi:application --worker-class lexecon_site.workers.SyncWorker``

A sync worker answers one connection at a time and closes it after the response, so everything it
does per request besides running the application is time in which the next agent waits. Measured
on ``POST /decide`` (docs/performance.md, ADR 0007), three things gunicorn 27's sync worker does per
request cost more than they need to:

- **The lingering close.** After the response it half-closes the socket and then *waits until the
  client closes its side* (RFC 9112 §9.6: unread request bytes in the receive buffer would make the
  kernel answer with a reset that can destroy the response). On a loaded server that wait is pure
  idle time of the worker, about a tenth of its wall-clock time under 32 connections. Here the
  worker lingers only while no other client is waiting to be accepted; otherwise it drains what has
  already arrived, closes, and takes the next connection.
- **Status line and body in two TCP segments.** A small length-delimited body goes out in the same
  ``send`` as the headers; otherwise headers go out with ``MSG_MORE`` so the kernel sends them
  together with the first body chunk (one segment, one wake-up of the client instead of two).
  Anything sent afterwards, a chunk, ``sendfile`` or the closing FIN, pushes them out as well.
- **Syscalls that repeat constant answers.** The listening address is read once per listener (not
  ``getsockname`` per request), accepted sockets are already close-on-exec (Python's ``accept``
  uses ``SOCK_CLOEXEC``), and the heartbeat file the arbiter watches is touched at most every
  ``HEARTBEAT_SECONDS`` while busy (it is still touched before every idle wait, and the arbiter's
  limit is the much longer ``--timeout``).

It also keeps connections alive (gunicorn's ``--keep-alive`` seconds, default 2; ``0`` restores one
request per connection), which gunicorn's sync worker never does. A new TCP connection per request
costs both sides a handshake, an ``accept`` and a close; with keep-alive, the worker waits on all its
idle connections and its listening sockets in one selector and serves whichever is ready, one
request at a time, longest-idle first. A connection stays with the worker that accepted it, so the
workers of one arbiter publish how many connections each holds in a small shared-memory table
(:class:`ConnectionShare`): a worker holding more than its fair share answers with
``Connection: close``, the client reconnects, and the shared accept queue hands the connection to
whichever worker takes it first, until the workers hold equal shares (ADR 0009).

Everything else (parsing, the WSGI environment, error pages, access log, hooks, limits,
``max_requests``) is gunicorn's own. TLS sockets take gunicorn's unchanged path.
"""

from __future__ import annotations

import contextlib
import errno
import math
import mmap
import os
import select
import selectors
import socket
import ssl
import struct
import threading
import time
import uuid
from datetime import timedelta

from gunicorn import http, util
from gunicorn.http import wsgi
from gunicorn.http.body import LengthReader
from gunicorn.workers import sync

HEARTBEAT_SECONDS = 1.0
LINGER_SECONDS = 2.0  # gunicorn's own bound for the lingering close
DRAIN_BYTES = 65536
COALESCE_BYTES = 65536  # a first body chunk up to this size is copied behind the headers
MSG_MORE = getattr(socket, "MSG_MORE", 0)  # Linux; elsewhere headers simply go out on their own
DRAIN_SECONDS = 5.0  # gunicorn's bound for draining an unread body before a connection is reused
SHARE_SLOTS = 32
SETTLE_SECONDS = 1.0  # how often a worker looks for decisions owed by dead workers
SETTLE_BACKOFF_MAX = 30.0  # after failed rounds (database down or hung) the wait doubles up to this
_LISTENER, _CLIENT, _WAKEUP = "listener", "client", "wakeup"
_GONE = (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN)


class ConnectionShare:
    """How many connections each worker of one arbiter holds, in memory all of them see.

    One slot per worker (``pid``, open connections, heartbeat on the monotonic clock, which all
    processes of a machine share). A worker claims slot ``age % slots`` (gunicorn numbers the
    workers it spawns), publishes its count whenever it changes and its heartbeat with every
    notification to the arbiter; slots whose heartbeat is older than ``stale_after`` (the
    arbiter's ``--timeout``, after which it kills a silent worker) are ignored, and so are slots
    of a process that no longer exists (a worker killed with SIGKILL never clears its slot; its
    pid is checked once its heartbeat is ``QUIET_SECONDS`` old, at most once a second). Two live
    workers share a slot only after ``slots`` respawns while one of them lived; their counts then
    mix, which makes the balance worse, never the answers wrong.
    """

    QUIET_SECONDS = 2 * HEARTBEAT_SECONDS

    def __init__(self, buffer, slots: int = SHARE_SLOTS) -> None:
        self._buffer = buffer
        self._slot = struct.Struct("qqd")
        self._table = struct.Struct("qqd" * slots)
        self._slots = slots
        self._offset = 0
        self._pid = 0
        self._alive: dict[int, tuple[bool, float]] = {}  # pid -> (exists, when checked)
        self.open = 0

    def claim(self, age: int, pid: int) -> None:
        self._offset = (age % self._slots) * self._slot.size
        self._pid = pid
        self.open = 0
        self.publish()

    def publish(self) -> None:
        self._slot.pack_into(self._buffer, self._offset, self._pid, self.open, time.monotonic())

    def release(self) -> None:
        self._slot.pack_into(self._buffer, self._offset, 0, 0, 0.0)

    def fair_share(self, stale_after: float) -> int:
        """``ceil(connections / workers)`` over the live slots (this worker's always counts)."""
        values = self._table.unpack_from(self._buffer)
        now = time.monotonic()
        oldest, quiet = now - stale_after, now - self.QUIET_SECONDS
        total, workers = self.open, 1
        for index in range(0, len(values), 3):
            pid, count, heartbeat = values[index : index + 3]
            if not pid or pid == self._pid or heartbeat < oldest:
                continue
            if heartbeat < quiet and not self._exists(pid, now):
                continue
            total += count
            workers += 1
        return math.ceil(total / workers)

    def _exists(self, pid: int, now: float) -> bool:
        known = self._alive.get(pid)
        if known is not None and now - known[1] < 1.0:
            return known[0]
        exists = _process_exists(pid)
        if len(self._alive) > 4 * self._slots:
            self._alive.clear()
        self._alive[pid] = (exists, now)
        return exists


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


# Created when the arbiter imports this module (it resolves --worker-class before forking), so
# every worker it forks maps the same pages. A process that imports it later only sees itself.
_SHARED_TABLE = mmap.mmap(-1, struct.calcsize("qqd") * SHARE_SLOTS)
_ANSWER_TABLE = mmap.mmap(-1, _ANSWER_SLOT.size * SHARE_SLOTS)


def _body_read_to_end(req) -> bool:
    """True when the request had a length-delimited body (or none) and all of it was read."""
    body = getattr(req, "body", None)
    reader = getattr(body, "reader", None)
    return isinstance(reader, LengthReader) and reader.length == 0 and not body.failed


class CoalescingResponse(wsgi.Response):
    """A response whose status line and headers leave in the same segment as its first body bytes.

    A length-delimited body whose first chunk is small (every API answer) goes out with the
    headers in one ``send``; otherwise the headers are sent with ``MSG_MORE`` and the kernel holds
    them for the next write."""

    def _head(self) -> bytes:
        lines = self.default_headers()
        lines.extend(f"{name}: {value}\r\n" for name, value in self.headers)
        lines.append("\r\n")
        return "".join(lines).encode("latin-1")

    def send_headers(self) -> None:
        if self.headers_sent:
            return
        self.sock.sendall(self._head(), MSG_MORE)
        self.headers_sent = True

    def write(self, arg) -> None:
        if (
            self.headers_sent
            or self.chunked
            or self._omits_body
            or self.response_length is None
            or not isinstance(arg, bytes)
            or len(arg) > COALESCE_BYTES
        ):
            super().write(arg)
            return
        tosend = min(self.response_length - self.sent, len(arg))  # never more than announced
        head = self._head()
        self.headers_sent = True
        self.sent += tosend
        self.sock.sendall(head + arg[:tosend])


class SyncWorker(sync.SyncWorker):
    """gunicorn's sync worker with keep-alive and a close that lingers only when useful (see module)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._server_addresses: dict[int, object] = {}
        self._notified_at = 0.0
        self._keepalive = False
        # kept-alive connections, longest idle first: socket -> (listener, addr, parser, deadline)
        self._kept: dict[socket.socket, tuple] = {}
        self._share = ConnectionShare(_SHARED_TABLE)
        self._answers = AnswerWatch(_ANSWER_TABLE)
        self._marker: Marker | None = None  # started once the application is loaded
        self._answer_status: int | None = None

    def notify(self) -> None:
        now = time.monotonic()
        if now - self._notified_at >= min(HEARTBEAT_SECONDS, self.timeout / 4):
            super().notify()
            if self._keepalive:
                self._share.publish()
            self._notified_at = now

    def wait(self, timeout):
        self._notified_at = 0.0  # about to block: always tell the arbiter we are alive first
        return super().wait(timeout)

    def run(self) -> None:
        from apps.decisions import delivery  # init_process has loaded the application by now

        self._answers.claim(self.age, os.getpid())
        self._marker = Marker(delivery, self._answers, 2 * (self.cfg.timeout or 30), self.log)
        for decision_id, key in self._answers.inherited:
            self._marker.owe(decision_id, key, delivery.Cause.WORKER_DIED)
        self._marker.start()
        delivery.install(self._answers)
        try:
            if self.cfg.is_ssl or self.cfg.keepalive <= 0:
                super().run()  # one request per connection, gunicorn's loop
                return
            self._keepalive = True
            self._share.claim(self.age, os.getpid())
            try:
                self._run_keepalive()
            finally:
                for client in list(self._kept):
                    self._drop(client)
                self._share.release()
        finally:
            delivery.install(None)
            self._answers.release(self._marker.stop())

    def _answer_sent(self) -> None:
        """After each request: confirm the decision it owed (a 200 sent whole), or hand it to
        the marker thread."""
        pending = self._answers.pending
        if pending is None:
            return
        status, self._answer_status = self._answer_status, None
        if status != 200:
            delivery = self._marker.delivery
            cause = delivery.Cause.NOT_SENT if status is None else delivery.Cause.NOT_ANSWERED
            self._marker.owe(*pending, cause)
        self._answers.clear()

    def _run_keepalive(self) -> None:
        selector = selectors.DefaultSelector()
        for listener in self.sockets:
            listener.setblocking(False)
            selector.register(listener, selectors.EVENT_READ, _LISTENER)
        selector.register(self.PIPE[0], selectors.EVENT_READ, _WAKEUP)
        self._selector = selector
        while self.alive:
            timeout = self.timeout or 0.5
            if self._kept:
                first_deadline = next(iter(self._kept.values()))[3]
                timeout = min(timeout, max(first_deadline - time.monotonic(), 0.0))
            # No forced heartbeat before blocking: the last one is at most HEARTBEAT_SECONDS (or a
            # quarter of this timeout) old, and the arbiter's limit is twice this timeout.
            self.notify()
            ready, listeners = set(), []
            for key, _ in selector.select(timeout):
                if key.data is _CLIENT:
                    ready.add(key.fileobj)
                elif key.data is _LISTENER:
                    listeners.append(key.fileobj)
                else:
                    with contextlib.suppress(BlockingIOError):  # a signal woke us
                        os.read(self.PIPE[0], 1)
            for client in [kept for kept in self._kept if kept in ready]:  # longest idle first
                listener, addr, parser, _ = self._kept.pop(client)
                self._serve(listener, client, addr, parser)
            for listener in listeners:
                self._accept_one(listener)
            self._close_expired()
            if not self.is_parent_alive():
                return

    def _accept_one(self, listener) -> None:
        try:
            client, addr = listener.accept()  # close-on-exec already (SOCK_CLOEXEC)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                return  # another worker took it
            raise
        client.setblocking(True)
        self._share.open += 1
        self._share.publish()
        # Registered once for its lifetime: while it is being served the worker is not selecting.
        self._selector.register(client, selectors.EVENT_READ, _CLIENT)
        parser = http.get_parser(self.cfg, client, addr)
        try:
            client.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)  # has it sent anything yet?
        except BlockingIOError:  # no: waiting for it would stall every other client of this worker
            self._park(listener, client, addr, parser)
            return
        except OSError:
            pass  # reset already: serving it finds out and closes it
        self._serve(listener, client, addr, parser)

    def _serve(self, listener, client, addr, parser) -> None:
        """Answer the requests waiting on ``client``; keep it if it may stay open, else close it."""
        while self._serve_one(listener, client, addr, parser):
            if not self.alive:
                break
            if parser.unreader.buf.getbuffer().nbytes:
                continue  # the client has already sent (pipelined) its next request
            self._park(listener, client, addr, parser)
            return
        self._drop(client)

    def _park(self, listener, client, addr, parser) -> None:
        """Wait for ``client``'s next request with the idle connections, up to the keep-alive."""
        self._kept[client] = (listener, addr, parser, time.monotonic() + self.cfg.keepalive)

    def _serve_one(self, listener, client, addr, parser) -> bool:
        """One request, with gunicorn's sync ``handle`` error handling; True to keep the connection."""
        req = None
        try:
            req = next(parser)
            if not self.handle_request(listener, req, client, addr):
                return False
            if _body_read_to_end(req):
                return True
            if parser.finish_body(deadline=time.monotonic() + DRAIN_SECONDS):
                return True
            self._finish(listener, client, req)  # body not drained: the lingering close
        except http.errors.NoMoreData as exc:
            self.log.debug("Ignored premature client disconnection. %s", exc)
        except StopIteration as exc:
            self.log.debug("Closing connection. %s", exc)
        except ssl.SSLError as exc:  # only reachable if a TLS socket ever took this path
            self.handle_error(req, client, addr, exc)
        except OSError as exc:
            if exc.errno not in _GONE:
                self.log.exception("Socket error processing request.")
        except BaseException as exc:  # noqa: BLE001 - as gunicorn's handle: answer, then close
            self.handle_error(req, client, addr, exc)
        return False

    def _drop(self, client) -> None:
        self._kept.pop(client, None)
        with contextlib.suppress(KeyError, ValueError):  # ValueError: already closed
            self._selector.unregister(client)
        util.close_graceful(client)
        self._share.open -= 1
        self._share.publish()

    def _close_expired(self) -> None:
        now = time.monotonic()
        while self._kept:
            client, (_, _, _, deadline) = next(iter(self._kept.items()))
            if deadline > now:
                return
            self._drop(client)

    def _may_keep_alive(self) -> bool:
        """Whether the answer now being made may leave its connection open."""
        if not (self._keepalive and self.alive) or self._share.open > self.cfg.worker_connections:
            return False
        return self._share.open <= 1 or self._share.open <= self._share.fair_share(
            self.cfg.timeout or 30
        )

    def accept(self, listener) -> None:
        client, addr = listener.accept()  # close-on-exec already (SOCK_CLOEXEC)
        client.setblocking(True)
        self.handle(listener, client, addr)

    def _server_address(self, listener):
        address = self._server_addresses.get(id(listener))
        if address is None:
            address = self._server_addresses[id(listener)] = listener.getsockname()
        return address

    def handle_request(self, listener, req, client, addr) -> bool:
        """Run the application for one request; return True if the connection stays open.

        A decision appended on the way owes its agent this answer: afterwards it is confirmed
        if a 200 went out whole, and marked otherwise (:meth:`_answer_sent`)."""
        self._answer_status = None
        try:
            if self.cfg.is_ssl:
                super().handle_request(listener, req, client, addr)
                self._answer_status = 200  # gunicorn's path hides the status (ADR 0010)
                return False
            return self._handle_request(listener, req, client, addr)
        finally:
            self._answer_sent()

    def _handle_request(self, listener, req, client, addr) -> bool:
        """Same order of events as gunicorn's sync worker: ``pre_request``, environment, application,
        body, ``close``, access log, ``post_request``. A connection that does not stay open is
        closed here (see :meth:`_finish`). Failures propagate to the caller, which answers them and
        closes the socket its own way."""
        environ: dict = {}
        resp = None
        try:
            self.cfg.pre_request(self, req)
            started = time.monotonic()
            resp, environ = wsgi.create(
                req,
                client,
                addr,
                self._server_address(listener),
                self.cfg,
                response_class=CoalescingResponse,
            )
            self.nr += 1
            if self.nr >= self.max_requests:
                self.log.info("Autorestarting worker after current request.")
                self.alive = False
            if not self._may_keep_alive():
                resp.force_close()
            result = self.wsgi(environ, resp.start_response)
            try:
                if isinstance(result, environ["wsgi.file_wrapper"]):
                    resp.write_file(result)
                else:
                    for chunk in result:
                        resp.write(chunk)
                resp.close()
                self._answer_status = resp.status_code
            finally:
                self.log.access(resp, req, environ, timedelta(seconds=time.monotonic() - started))
                if hasattr(result, "close"):
                    result.close()
        except OSError:
            raise
        except (Exception, SystemExit):
            if resp is not None and resp.headers_sent:
                # Part of the answer is on the wire: a 500 now would corrupt it. Log and hang up.
                self.log.exception("Error handling request")
                client.close()
                raise StopIteration from None
            raise
        finally:
            try:
                self.cfg.post_request(self, req, environ, resp)
            except Exception:
                self.log.exception("Exception in post_request hook")
        if not resp.should_close():
            return True
        self._finish(listener, client, req)
        return False

    def _finish(self, listener, client, req) -> None:
        """Half-close, then linger for the client's FIN (RFC 9112 §9.6) only while it is useful.

        Lingering keeps unread bytes from turning our close into a reset that could destroy the
        response. When the request was read to its end, nothing of it is left unread, so as soon
        as another client waits in the listen queue the worker drains whatever has arrived since
        and closes instead of idling. A request whose body was not read to its end (an early
        error answer, say) gets gunicorn's full linger. (gunicorn's ``handle`` tries its own close
        afterwards and finds the socket closed.)"""
        poller = select.poll()  # not select(): a worker with kept connections may hold fds >= 1024
        poller.register(client, select.POLLIN)
        if _body_read_to_end(req):
            poller.register(listener, select.POLLIN)
        try:
            client.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + LINGER_SECONDS
            drained = 0
            while drained < DRAIN_BYTES:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                ready = {fd for fd, _ in poller.poll(remaining * 1000)}
                if client.fileno() not in ready:  # someone waits to be accepted (or time is up)
                    self._drain_ready(client)
                    break
                data = client.recv(4096)
                if not data:  # the client has closed its side
                    break
                drained += len(data)
        except OSError:
            pass
        finally:
            client.close()

    @staticmethod
    def _drain_ready(client) -> None:
        try:
            for _ in range(DRAIN_BYTES // 4096):
                if not client.recv(4096, socket.MSG_DONTWAIT):
                    return
        except OSError:  # nothing more has arrived (EAGAIN) or the peer reset
            return
