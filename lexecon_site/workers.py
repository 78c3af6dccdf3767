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

Everything else (parsing, the WSGI environment, error pages, access log, hooks, limits,
``max_requests``) is gunicorn's own. TLS sockets take gunicorn's unchanged path.
"""

from __future__ import annotations

import select
import socket
import time
from datetime import timedelta

from gunicorn.http import wsgi
from gunicorn.http.body import LengthReader
from gunicorn.workers import sync

HEARTBEAT_SECONDS = 1.0
LINGER_SECONDS = 2.0  # gunicorn's own bound for the lingering close
DRAIN_BYTES = 65536
COALESCE_BYTES = 65536  # a first body chunk up to this size is copied behind the headers
MSG_MORE = getattr(socket, "MSG_MORE", 0)  # Linux; elsewhere headers simply go out on their own


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
    """gunicorn's sync worker with a close that lingers only when nobody else waits (see module)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._server_addresses: dict[int, object] = {}
        self._notified_at = 0.0

    def notify(self) -> None:
        now = time.monotonic()
        if now - self._notified_at >= min(HEARTBEAT_SECONDS, self.timeout / 4):
            super().notify()
            self._notified_at = now

    def wait(self, timeout):
        self._notified_at = 0.0  # about to block: always tell the arbiter we are alive first
        return super().wait(timeout)

    def accept(self, listener) -> None:
        client, addr = listener.accept()  # close-on-exec already (SOCK_CLOEXEC)
        client.setblocking(True)
        self.handle(listener, client, addr)

    def _server_address(self, listener):
        address = self._server_addresses.get(id(listener))
        if address is None:
            address = self._server_addresses[id(listener)] = listener.getsockname()
        return address

    def handle_request(self, listener, req, client, addr) -> None:
        """Run the application for one request and close the connection (see :meth:`_finish`).

        Same order of events as gunicorn's sync worker: ``pre_request``, environment, application,
        body, ``close``, access log, ``post_request``. Failures propagate to gunicorn's ``handle``,
        which answers them and closes the socket its own way."""
        if self.cfg.is_ssl:
            return super().handle_request(listener, req, client, addr)
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
            resp.force_close()  # one request per connection, as in every sync worker
            self.nr += 1
            if self.nr >= self.max_requests:
                self.log.info("Autorestarting worker after current request.")
                self.alive = False
            result = self.wsgi(environ, resp.start_response)
            try:
                if isinstance(result, environ["wsgi.file_wrapper"]):
                    resp.write_file(result)
                else:
                    for chunk in result:
                        resp.write(chunk)
                resp.close()
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
        self._finish(listener, client, req)
        return None

    def _finish(self, listener, client, req) -> None:
        """Half-close, then linger for the client's FIN (RFC 9112 §9.6) only while it is useful.

        Lingering keeps unread bytes from turning our close into a reset that could destroy the
        response. When the request was read to its end, nothing of it is left unread, so as soon
        as another client waits in the listen queue the worker drains whatever has arrived since
        and closes instead of idling. A request whose body was not read to its end (an early
        error answer, say) gets gunicorn's full linger. (gunicorn's ``handle`` tries its own close
        afterwards and finds the socket closed.)"""
        may_close_early = _body_read_to_end(req)
        watched = [client, listener] if may_close_early else [client]
        try:
            client.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + LINGER_SECONDS
            drained = 0
            while drained < DRAIN_BYTES:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                readable, _, _ = select.select(watched, [], [], remaining)
                if client not in readable:  # someone is waiting to be accepted (or time is up)
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
