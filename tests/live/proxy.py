"""A TCP forwarder in front of PostgreSQL that a live test can take down and bring back.

``down()`` closes every forwarded connection (both sides) and stops listening, so the server's
clients see what they see when PostgreSQL is stopped with ``-m immediate``: their connections
break and new ones are refused. ``up()`` listens on the same port again. ``hang()`` and
``resume()`` stop and restart taking new connections (a postmaster under SIGSTOP); ``stall()``
and ``unstall()`` also freeze the open ones; ``cut()`` closes the open ones; ``latency`` delays
every chunk by that many seconds, each way. One thread, one selector.
"""

from __future__ import annotations

import contextlib
import heapq
import selectors
import socket
import threading
import time


class Proxy:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._selector = selectors.DefaultSelector()
        self._lock = threading.RLock()
        self._pairs: dict[socket.socket, socket.socket] = {}
        self._listener: socket.socket | None = None
        self.port = 0
        self._stop = False
        self._hung = False
        self._stalled = False
        self.latency = 0.0  # seconds added to every chunk, each way
        self._delayed: list[tuple[float, int, socket.socket, bytes]] = []
        self._sequence = 0
        self.up()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.setblocking(False)
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener
            self._selector.register(listener, selectors.EVENT_READ, "accept")

    def down(self) -> None:
        with self._lock:
            if self._listener is not None:
                if not self._hung:
                    self._selector.unregister(self._listener)
                self._listener.close()
                self._listener = None
            self._hung = False
            self.cut()

    def cut(self) -> None:
        """Close every forwarded connection (both sides); new ones are still taken."""
        with self._lock:
            for sock in list(self._pairs):
                self._close(sock)

    def hang(self) -> None:
        """Stop taking new connections, as a stopped (SIGSTOP) postmaster does: the kernel still
        completes their TCP handshake, but nothing ever answers. Open ones keep forwarding."""
        with self._lock:
            if self._listener is not None and not self._hung:
                self._selector.unregister(self._listener)
                self._hung = True

    def stall(self) -> None:
        """Stop forwarding anything: new connections hang (:meth:`hang`) and open ones carry no
        more bytes either way, as a server busy in one long command (Redis ``DEBUG SLEEP``)."""
        with self._lock:
            self.hang()
            for sock in self._pairs:
                with contextlib.suppress(KeyError, ValueError):
                    self._selector.unregister(sock)
            self._stalled = True

    def unstall(self) -> None:
        with self._lock:
            for sock in self._pairs:
                self._selector.register(sock, selectors.EVENT_READ, "pipe")
            self._stalled = False
            self.resume()

    def resume(self) -> None:
        """Take new connections again (those waiting in the listen queue first)."""
        with self._lock:
            if self._listener is not None and self._hung:
                self._selector.register(self._listener, selectors.EVENT_READ, "accept")
                self._hung = False

    def close(self) -> None:
        self._stop = True
        self.down()
        self._thread.join(timeout=5)

    def _close(self, sock: socket.socket) -> None:
        other = self._pairs.pop(sock, None)
        for each in (sock, other):
            if each is None:
                continue
            self._pairs.pop(each, None)
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(each)
            each.close()

    def _run(self) -> None:
        while not self._stop:
            for key, _ in self._selector.select(0.005 if self._delayed else 0.05):
                with self._lock:
                    if key.data == "accept":
                        if self._listener is None:
                            continue
                        try:
                            client, _ = self._listener.accept()
                        except BlockingIOError:
                            continue
                        try:
                            server = socket.create_connection(self.target, timeout=5)
                        except OSError:
                            client.close()
                            continue
                        self._pairs[client], self._pairs[server] = server, client
                        self._selector.register(client, selectors.EVENT_READ, "pipe")
                        self._selector.register(server, selectors.EVENT_READ, "pipe")
                        continue
                    sock = key.fileobj
                    if sock not in self._pairs:
                        continue
                    try:
                        data = sock.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        self._close(sock)
                        continue
                    if self.latency:
                        self._sequence += 1
                        due = time.monotonic() + self.latency
                        heapq.heappush(self._delayed, (due, self._sequence, sock, data))
                        continue
                    self._forward(sock, data)
            self._forward_due()

    def _forward(self, sock: socket.socket, data: bytes) -> None:
        try:
            self._pairs[sock].sendall(data)
        except (OSError, KeyError):  # KeyError: the pair was closed meanwhile
            self._close(sock)

    def _forward_due(self) -> None:
        """Send the delayed chunks whose time has come, in the order they arrived."""
        with self._lock:
            now = time.monotonic()
            while self._delayed and self._delayed[0][0] <= now:
                _, _, sock, data = heapq.heappop(self._delayed)
                if sock in self._pairs:
                    self._forward(sock, data)
