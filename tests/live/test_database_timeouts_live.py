"""A blackholed database connection frees the gunicorn worker within the bound (issue 20).

gunicorn (2 workers, as production runs it) reaches PostgreSQL through the test proxy. Once both
workers hold an open connection, the proxy swallows every byte both ways without closing anything
(``Proxy.stall``): the server never sees the query, so only the client deadline of
``lexecon_site.db.postgresql`` (statement timeout + margin) can end the wait. Each /decide then
answers ``503 ledger_unavailable`` within that bound (plus the 5 s connect timeout when Django's
health check drops the dead connection and tries a new one), far from gunicorn's 60 s worker
timeout; no worker is killed, and 200s come back once the path carries
bytes again. Marked ``live``; the PostgreSQL + Redis pass runs it."""

from __future__ import annotations

import http.client
import json
import threading
import time

import pytest
from django.db import connection

from tests.conftest import DEMO
from tests.ledger.conftest import ledger_transactional_db  # noqa: F401
from tests.live.conftest import workers_of
from tests.live.proxy import Proxy
from tests.live.test_decide_live import _demo_agent_headers, _serve, _stop

pytestmark = pytest.mark.live

STATEMENT_MS, MARGIN_MS = 1000, 500
BOUND = (STATEMENT_MS + MARGIN_MS) / 1000
CONNECT = 5  # connect_timeout (lexecon_site.env.database_config)


def _decide(port: int, headers: dict[str, str], request_id: str) -> tuple[int, dict, float]:
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", "/decide", json.dumps({**DEMO, "request_id": request_id}), headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read()), time.monotonic() - started
    finally:
        conn.close()


def _concurrently(count: int, call) -> list:
    results: list = []
    lock = threading.Lock()

    def run(number: int) -> None:
        answer = call(number)
        with lock:
            results.append(answer)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.usefixtures("ledger_transactional_db")
def test_a_blackholed_database_connection_frees_the_worker_within_the_bound():
    headers = _demo_agent_headers()
    db = connection.settings_dict
    proxy = Proxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    try:
        port, process = _serve(
            proxy.port,
            extra_env={
                "LEXECON_DB_STATEMENT_TIMEOUT_MS": str(STATEMENT_MS),
                "LEXECON_DB_CLIENT_MARGIN_MS": str(MARGIN_MS),
            },
        )
        try:
            workers = workers_of(process.pid)
            assert len(workers) == 2
            # Both workers open their (persistent) connection through the proxy.
            warm = _concurrently(8, lambda n: _decide(port, headers, f"warm-{n}"))
            assert {status for status, _, _ in warm} == {200}

            proxy.stall()
            # One request per worker (two idle sync workers take one connection each).
            stalled = _concurrently(2, lambda n: _decide(port, headers, f"stalled-{n}"))
            for status, body, _ in stalled:
                assert status == 503, body
                assert body["error"]["code"] == "ledger_unavailable"
            took = sorted(took for _, _, took in stalled)
            # Each ends at the client deadline on its open, blackholed connection, or, when
            # Django's health check finds that connection dead first, at the deadline plus the
            # connect timeout of the new one (5 s, T17). Should both land on one worker, the second
            # waits for the first. All far from gunicorn's worker timeout.
            assert BOUND - 0.2 <= took[0] < BOUND + CONNECT + 1.5, took
            assert took[1] < 2 * (BOUND + CONNECT) + 2, took
            assert workers_of(process.pid) == workers  # freed, not killed and replaced

            proxy.unstall()
            deadline = time.monotonic() + 10
            status = 0
            while time.monotonic() < deadline:
                status, _, _ = _decide(port, headers, f"after-{time.monotonic()}")
                if status == 200:
                    break
                time.sleep(0.2)
            assert status == 200
            assert workers_of(process.pid) == workers
        finally:
            _stop(process)
    finally:
        proxy.close()
