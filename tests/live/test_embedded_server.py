"""``make run``'s server (``manage.py serve``) on PostgreSQL holds a bounded number of database
connections however many client connections it serves (issue 15: ``runserver`` kept one per client
connection until PostgreSQL refused everyone with "too many clients")."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading

import pytest
from django.db import connection

from apps.accounts import services as accounts
from tests.conftest import DEMO, load_demo_policy
from tests.ledger.conftest import ledger_transactional_db  # noqa: F401
from tests.live.conftest import ROOT, free_port, wait_until_healthy

pytestmark = pytest.mark.live

THREADS = 4


def _database_connections() -> int:
    """Sessions on the test database other than this test's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [connection.settings_dict["NAME"]],
        )
        return cursor.fetchone()[0]


@pytest.fixture
def embedded_server(ledger_transactional_db):  # noqa: F811
    if connection.vendor != "postgresql":
        pytest.skip("the connection leak was on PostgreSQL")
    db = connection.settings_dict
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "lexecon_site.settings.test",
        "LEXECON_DATABASE_URL": f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "LEXECON_LOG_LEVEL": "WARNING",
    }
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed below, with the server
    process = subprocess.Popen(
        [
            *(sys.executable, "manage.py", "serve", "--bind", f"127.0.0.1:{port}"),
            *("--threads", str(THREADS)),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    wait_until_healthy(port, process, log, "manage.py serve")
    yield port
    process.terminate()
    process.wait(timeout=20)
    log.close()


def _decide_once(port: int, headers: dict[str, str]) -> int:
    """One /decide call on a new TCP connection (closed afterwards); the status."""
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        client.request("POST", "/decide", body=json.dumps(DEMO), headers=headers)
        response = client.getresponse()
        response.read()
        return response.status
    finally:
        client.close()


def test_many_client_connections_hold_a_bounded_number_of_database_connections(
    embedded_server,
):
    load_demo_policy()
    raw_key = accounts.agent_key_create(name="leak", scopes=["decide"]).raw_key
    headers = {"Authorization": f"Bearer {raw_key}", "Content-Type": "application/json"}
    statuses: list[int] = []

    # 60 client connections one after another, then 3 rounds of 16 at once.
    statuses.extend(_decide_once(embedded_server, headers) for _ in range(60))
    for _ in range(3):
        threads = [
            threading.Thread(target=lambda: statuses.append(_decide_once(embedded_server, headers)))
            for _ in range(16)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    # One connection per server thread at most (runserver held one per client connection).
    assert _database_connections() <= THREADS
    assert statuses == [200] * 108
