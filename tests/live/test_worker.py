"""``lexecon_site.workers.SyncWorker`` in a real gunicorn: complete answers, keep-alive, closes,
lingering rules, and the balance of kept connections between workers.

The module's server has one worker process, so the order in which it serves connections is known,
and a one-second keep-alive. Uses only endpoints that need no database (``/health``, a 405, a
static file), so it runs on both CI passes.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from gunicorn.config import Config
from gunicorn.http import wsgi
from gunicorn.http.parser import RequestParser

from lexecon_site.workers import AnswerWatch, CoalescingResponse, ConnectionShare
from tests.live.conftest import free_port, gunicorn, workers_of

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.live
HEALTH = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
HEALTH_CLOSE = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def start(folder: Path, *, workers: int = 1, options: tuple[str, ...] = ()):
    """gunicorn on a free port with the test settings on SQLite; returns (process, port, log)."""
    port = free_port()
    database, log = folder / "db.sqlite3", (folder / "gunicorn.log").open("w+b")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LEXECON_")},
        "DJANGO_SETTINGS_MODULE": "lexecon_site.settings.test",
        "LEXECON_DATABASE_URL": f"sqlite:///{database}",
        "LEXECON_LOG_LEVEL": "WARNING",
    }
    process = gunicorn(port, env, workers=workers, stderr=log, options=options)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            status, _, _ = exchange(port, HEALTH_CLOSE)
            if status == 200:
                return process, port, log
        except OSError:
            time.sleep(0.2)
    process.kill()
    log.seek(0)
    pytest.fail("gunicorn did not start: " + log.read().decode()[-2000:])


def stop(process, log) -> None:
    process.terminate()
    process.wait(timeout=20)
    log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process, port, log = start(tmp_path_factory.mktemp("worker"), options=("--keep-alive", "1"))
    yield port
    stop(process, log)


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    """Status and headers (lower-case names) of an answer's head, without the blank line."""
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read until the server closes; return status, headers (lower-case names) and body."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return *parse_head(head), body


def exchange(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        return read_answer(sock)


class Reader:
    """Reads length-delimited answers one at a time from a connection that stays open."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.data = sock, b""

    def answer(self) -> tuple[int, dict[str, str], bytes]:
        status, headers = self.head_answer()
        length = int(headers.get("content-length", "0"))
        while len(self.data) < length:
            chunk = self.sock.recv(65536)
            assert chunk, "the server closed the connection inside an answer"
            self.data += chunk
        body, self.data = self.data[:length], self.data[length:]
        return status, headers, body

    def head_answer(self) -> tuple[int, dict[str, str]]:
        """Status and headers only (all of an answer to HEAD, whatever Content-Length says)."""
        while b"\r\n\r\n" not in self.data:
            chunk = self.sock.recv(65536)
            assert chunk, "the server closed the connection before answering"
            self.data += chunk
        head, _, self.data = self.data.partition(b"\r\n\r\n")
        return parse_head(head)

    def closed_by_server(self, within: float) -> bool:
        self.sock.settimeout(within)
        try:
            return self.sock.recv(1) == b""
        except TimeoutError:
            return False
        finally:
            self.sock.settimeout(10)


def test_a_json_answer_is_length_delimited_complete_and_closed(server):
    status, headers, body = exchange(server, HEALTH_CLOSE)
    assert status == 200
    assert json.loads(body) == {"status": "ok"}
    assert headers["content-length"] == str(len(body))
    assert "transfer-encoding" not in headers
    assert headers["connection"] == "close"
    assert headers["x-content-type-options"] == "nosniff"


def test_a_headers_only_answer_is_not_held_back(server):
    """Headers are sent with MSG_MORE; with no body to follow, the close must push them out at
    once (a corked frame would otherwise wait for the kernel's 200 ms timer)."""
    started = time.monotonic()
    status, headers, body = exchange(
        server, b"HEAD /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    assert time.monotonic() - started < 0.15
    assert status == 200
    assert body == b""
    assert headers["connection"] == "close"


def test_a_static_file_arrives_byte_for_byte(server):
    name = "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
    expected = Path(finders.find(name)).read_bytes()
    status, headers, body = exchange(
        server,
        f"GET /static/{name} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode(),
    )
    assert status == 200
    assert len(expected) > 500_000  # large enough to take several segments
    assert body == expected
    assert headers["content-length"] == str(len(expected))


def test_the_worker_does_not_wait_for_a_slow_client_when_another_one_waits(server):
    """The first client got its complete answer but keeps its socket open; the single worker
    must not idle until it closes (gunicorn's stock close would wait up to 2 s)."""
    first = socket.create_connection(("127.0.0.1", server), timeout=10)
    first.sendall(HEALTH_CLOSE)
    time.sleep(0.2)  # the worker has answered and is now lingering on `first`
    started = time.monotonic()
    status, _, _ = exchange(server, HEALTH_CLOSE)
    waited = time.monotonic() - started
    assert status == 200
    assert waited < 1.0
    first_status, _, first_body = read_answer(first)  # complete, then EOF
    first.close()
    assert first_status == 200
    assert json.loads(first_body) == {"status": "ok"}


def test_an_unread_request_body_keeps_the_full_linger(server):
    """A 405 leaves the request body unread. Closing at once could reset the connection and
    destroy the answer, so the worker lingers for this client even though another one waits."""
    body = b"x" * 16_384
    first = socket.create_connection(("127.0.0.1", server), timeout=10)
    first.sendall(
        b"POST /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
        + f"Connection: close\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    time.sleep(0.2)
    second = socket.create_connection(("127.0.0.1", server), timeout=10)
    second.sendall(HEALTH_CLOSE)
    second.settimeout(0.5)
    with pytest.raises(TimeoutError):
        second.recv(1)  # the worker is still lingering on `first`
    first.shutdown(socket.SHUT_WR)
    status, headers, answer = read_answer(first)
    first.close()
    assert status == 405
    assert json.loads(answer)["error"]["code"] == "method_not_allowed"
    assert headers["content-length"] == str(len(answer))
    second.settimeout(10)
    second_status, _, _ = read_answer(second)
    second.close()
    assert second_status == 200


def test_one_connection_carries_several_requests_until_the_client_asks_to_close(server):
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        reader = Reader(sock)
        for _ in range(3):
            sock.sendall(HEALTH)
            status, headers, body = reader.answer()
            assert (status, json.loads(body)) == (200, {"status": "ok"})
            assert headers["connection"] == "keep-alive"
        sock.sendall(HEALTH_CLOSE)
        status, headers, _ = reader.answer()
        assert (status, headers["connection"]) == (200, "close")
        assert reader.closed_by_server(within=5)


def test_pipelined_requests_are_answered_in_order(server):
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        sock.sendall(HEALTH + b"GET /no-such-page HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" + HEALTH)
        reader = Reader(sock)
        assert [reader.answer()[0] for _ in range(3)] == [200, 404, 200]


def test_an_unread_body_is_drained_before_the_next_request_on_the_connection(server):
    """The 405 leaves its 16 KiB body unread; the worker must skip it, not parse it as a request."""
    body = b"GET /health HTTP/1.1\r\n" * 700  # looks like requests if it were mistaken for some
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        sock.sendall(
            b"POST /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        reader = Reader(sock)
        status, headers, _ = reader.answer()
        assert (status, headers["connection"]) == (405, "keep-alive")
        sock.sendall(HEALTH)
        status, _, body = reader.answer()
        assert (status, json.loads(body)) == (200, {"status": "ok"})


def test_head_and_a_static_file_leave_the_connection_usable(server):
    """No body bytes after a HEAD answer, all of a sendfile'd file: the next answer on the same
    connection starts exactly where it should."""
    name = "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
    expected = Path(finders.find(name)).read_bytes()
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        reader = Reader(sock)
        sock.sendall(b"HEAD /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        status, headers = reader.head_answer()
        assert (status, headers["connection"]) == (200, "keep-alive")
        sock.sendall(f"GET /static/{name} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        status, headers, body = reader.answer()
        assert (status, headers["connection"]) == (200, "keep-alive")
        assert body == expected
        sock.sendall(HEALTH)
        status, _, body = reader.answer()
        assert (status, json.loads(body)) == (200, {"status": "ok"})


def test_an_idle_connection_is_closed_after_the_keep_alive_timeout(server):
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        reader = Reader(sock)
        sock.sendall(HEALTH)
        assert reader.answer()[0] == 200
        started = time.monotonic()
        assert not reader.closed_by_server(within=0.5)  # --keep-alive 1: still open at 0.5 s
        assert reader.closed_by_server(within=5)
        assert 0.9 <= time.monotonic() - started < 3


def test_an_http_1_0_request_gets_its_answer_and_a_close(server):
    status, headers, body = exchange(server, b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    assert headers["connection"] == "close"


def test_a_waiting_connection_is_served_while_others_sit_idle(server):
    """Idle kept connections cost the single worker nothing: a new client is answered at once."""
    idle = [socket.create_connection(("127.0.0.1", server), timeout=10) for _ in range(5)]
    try:
        for sock in idle:
            sock.sendall(HEALTH)
            assert Reader(sock).answer()[0] == 200
        started = time.monotonic()
        status, _, _ = exchange(server, HEALTH_CLOSE)
        assert status == 200
        assert time.monotonic() - started < 0.5
    finally:
        for sock in idle:
            sock.close()


def test_a_client_that_connects_and_stays_silent_does_not_stall_the_worker(server):
    """A new connection with no request yet is parked with the idle ones, not waited on (gunicorn's
    sync worker would block in the read); its request is answered once it comes."""
    with socket.create_connection(("127.0.0.1", server), timeout=10) as silent:
        time.sleep(0.2)  # accepted by now
        started = time.monotonic()
        status, _, _ = exchange(server, HEALTH_CLOSE)
        assert status == 200
        assert time.monotonic() - started < 0.5
        silent.sendall(HEALTH)
        assert Reader(silent).answer()[0] == 200


def test_keep_alive_zero_answers_one_request_per_connection(tmp_path):
    process, port, log = start(tmp_path, options=("--keep-alive", "0"))
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(HEALTH)
            status, headers, _ = read_answer(sock)  # returns only once the server closed
        assert (status, headers["connection"]) == (200, "close")
    finally:
        stop(process, log)


@pytest.mark.skipif(
    resource.getrlimit(resource.RLIMIT_NOFILE)[0] < 2500, reason="needs 2,500 file descriptors"
)
def test_a_worker_holding_over_1024_connections_keeps_answering(tmp_path):
    """Past 1,024 open descriptors ``select()`` cannot watch a socket; the worker must not use it."""
    process, port, log = start(
        tmp_path, options=("--keep-alive", "60", "--worker-connections", "2000")
    )
    clients = []
    try:
        for _ in range(1100):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            clients.append(sock)
            sock.sendall(HEALTH)
            assert Reader(sock).answer()[0] == 200
        status, headers, _ = exchange(port, HEALTH_CLOSE)  # new fd > 1024, lingering close
        assert (status, headers["connection"]) == (200, "close")
        clients[0].sendall(HEALTH)
        assert Reader(clients[0]).answer()[0] == 200
    finally:
        for sock in clients:
            sock.close()
        stop(process, log)


def established_per_worker(arbiter: int, port: int) -> dict[int, int]:
    """Accepted connections on ``port`` held by each worker of ``arbiter`` (Linux /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":  # ESTABLISHED
                inodes.add(fields[9])
    counts = {}
    for worker in workers_of(arbiter):
        try:
            links = [os.readlink(fd) for fd in Path(f"/proc/{worker}/fd").iterdir()]
        except OSError:
            continue
        counts[worker] = sum(link[len("socket:[") : -1] in inodes for link in links)
    return counts


def test_kept_connections_even_out_between_workers(tmp_path):
    """All connections start on one worker; after a second one starts (SIGTTIN), the first answers
    its surplus with ``Connection: close`` until the clients' reconnections, through the shared
    accept queue, leave both workers with equal shares."""
    process, port, log = start(tmp_path, workers=1, options=("--keep-alive", "30"))
    connections = 12
    try:
        clients = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(12)]
        readers = [Reader(sock) for sock in clients]
        for sock, reader in zip(clients, readers, strict=True):
            sock.sendall(HEALTH)
            assert reader.answer()[0] == 200
        (only,) = established_per_worker(process.pid, port).values()
        assert only == connections
        process.send_signal(signal.SIGTTIN)
        closes, deadline, settled = 0, time.monotonic() + 30, 0
        while time.monotonic() < deadline and settled < 20:
            closed_this_round = 0
            for index in range(connections):
                clients[index].sendall(HEALTH)
                status, headers, _ = readers[index].answer()
                assert status == 200
                if headers["connection"] == "close":
                    clients[index].close()
                    clients[index] = socket.create_connection(("127.0.0.1", port), timeout=10)
                    readers[index] = Reader(clients[index])
                    closed_this_round += 1
            closes += closed_this_round
            counts = sorted(established_per_worker(process.pid, port).values())
            settled = settled + 1 if closed_this_round == 0 and len(counts) == 2 else 0
            time.sleep(0.05)
        assert counts == [connections // 2, connections // 2]
        assert closes >= connections // 2
    finally:
        for sock in clients:
            sock.close()
        stop(process, log)


def test_connection_share_is_the_ceiling_of_an_even_split():
    table = bytearray(4 * 24)
    first, second, third = (ConnectionShare(table, slots=4) for _ in range(3))
    first.claim(1, pid=101)
    second.claim(2, pid=102)
    first.open, second.open = 9, 2
    first.publish()
    second.publish()
    assert first.fair_share(stale_after=30) == 6  # ceil(11 / 2): 9 is over it, 2 is not
    assert second.fair_share(stale_after=30) == 6
    third.claim(7, pid=107)  # slot 7 % 4 = 3
    assert first.fair_share(stale_after=30) == 4  # ceil(11 / 3)
    third.release()
    assert first.fair_share(stale_after=30) == 6
    time.sleep(0.02)
    first.publish()  # a heartbeat; second's is now older than 10 ms
    assert first.fair_share(stale_after=0.01) == 9  # a silent worker's slot is ignored


def _dead_pid() -> int:
    """The pid of a process that has exited and been reaped: no process has it now."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


def test_connection_share_ignores_the_slot_of_a_killed_worker(monkeypatch):
    """A worker killed with SIGKILL leaves its slot behind; once its heartbeat is quiet, its pid is
    checked and the slot stops counting, long before the arbiter's timeout."""
    table = bytearray(4 * 24)
    first, second = ConnectionShare(table, slots=4), ConnectionShare(table, slots=4)
    gone = _dead_pid()
    first.claim(1, pid=os.getpid())
    second.claim(2, pid=gone)
    first.open, second.open = 8, 20
    first.publish()
    second.publish()
    assert first.fair_share(stale_after=30) == 14  # fresh heartbeat: counted, ceil(28 / 2)
    monkeypatch.setattr(ConnectionShare, "QUIET_SECONDS", 0.01)
    time.sleep(0.02)
    assert first.fair_share(stale_after=30) == 8  # quiet and gone: only this worker's 8 count
    third = ConnectionShare(table, slots=4)
    third.claim(3, pid=os.getppid())  # quiet but alive: still counts
    third.open = 20
    third.publish()
    time.sleep(0.02)
    assert first.fair_share(stale_after=30) == 14


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


@pytest.mark.parametrize(
    ("method", "declared", "chunks"),
    [
        ("GET", 15, [b'{"status":"ok"}']),
        ("GET", 0, []),
        ("GET", 100_000, [b"x" * 100_000]),  # over COALESCE_BYTES: headers with MSG_MORE
        ("GET", 4, [b"ab", b"cd"]),
        ("GET", 3, [b"abcdef", b"gh"]),  # more than announced: cut at Content-Length
        ("GET", None, [b"ab", b"cd"]),  # no length: chunked
        ("HEAD", 3, [b"abc"]),  # no body on the wire
    ],
)
def test_coalesced_response_writes_what_gunicorn_writes(method, declared, chunks):
    """Same bytes on the wire as gunicorn's own Response, whatever the body and its framing."""
    wires = []
    for response_class in (wsgi.Response, CoalescingResponse):
        ours, theirs = socket.socketpair()
        theirs.sendall(f"{method} /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        cfg = Config()
        request = next(RequestParser(cfg, ours, ("127.0.0.1", 1)))
        response = response_class(request, ours, cfg)
        response.force_close()
        headers = [("Content-Type", "application/json")]
        if declared is not None:
            headers.append(("Content-Length", str(declared)))
        response.start_response("200 OK", headers)
        for chunk in chunks:
            response.write(chunk)
        response.close()
        ours.close()
        data = b""
        while chunk := theirs.recv(65536):
            data += chunk
        theirs.close()
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = [line for line in head.split(b"\r\n") if not line.startswith(b"Date:")]
        wires.append((lines, rest))
    assert wires[0] == wires[1]
    body = b"".join(chunks)
    if method == "HEAD":
        assert wires[1][1] == b""
    elif declared is None:
        assert wires[1][1] == b"2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n"
    else:
        assert wires[1][1] == body[:declared]
