"""``lexecon_site.workers.SyncWorker`` in a real gunicorn: complete answers, closes, lingering rules.

One worker process, so the order in which it serves connections is known. Uses only endpoints that
need no database (``/health``, a 405, a static file), so it runs on both CI passes.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from gunicorn.config import Config
from gunicorn.http import wsgi
from gunicorn.http.parser import RequestParser

from lexecon_site.workers import CoalescingResponse
from tests.live.conftest import free_port, gunicorn

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    folder = tmp_path_factory.mktemp("worker")
    database, log = folder / "db.sqlite3", (folder / "gunicorn.log").open("w+b")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LEXECON_")},
        "DJANGO_SETTINGS_MODULE": "lexecon_site.settings.test",
        "LEXECON_DATABASE_URL": f"sqlite:///{database}",
        "LEXECON_LOG_LEVEL": "WARNING",
    }
    process = gunicorn(port, env, workers=1, stderr=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            status, _, _ = exchange(port, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            if status == 200:
                break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        log.seek(0)
        pytest.fail("gunicorn did not start: " + log.read().decode()[-2000:])
    yield port
    process.terminate()
    process.wait(timeout=20)
    log.close()


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read until the server closes; return status, headers (lower-case names) and body."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def exchange(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        return read_answer(sock)


def test_a_json_answer_is_length_delimited_complete_and_closed(server):
    status, headers, body = exchange(server, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
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
    status, headers, body = exchange(server, b"HEAD /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert time.monotonic() - started < 0.15
    assert status == 200
    assert body == b""
    assert headers["connection"] == "close"


def test_a_static_file_arrives_byte_for_byte(server):
    name = "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
    expected = Path(finders.find(name)).read_bytes()
    status, headers, body = exchange(
        server, f"GET /static/{name} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    )
    assert status == 200
    assert len(expected) > 500_000  # large enough to take several segments
    assert body == expected
    assert headers["content-length"] == str(len(expected))


def test_the_worker_does_not_wait_for_a_slow_client_when_another_one_waits(server):
    """The first client got its complete answer but keeps its socket open; the single worker
    must not idle until it closes (gunicorn's stock close would wait up to 2 s)."""
    first = socket.create_connection(("127.0.0.1", server), timeout=10)
    first.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    time.sleep(0.2)  # the worker has answered and is now lingering on `first`
    started = time.monotonic()
    status, _, _ = exchange(server, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
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
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    time.sleep(0.2)
    second = socket.create_connection(("127.0.0.1", server), timeout=10)
    second.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
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
