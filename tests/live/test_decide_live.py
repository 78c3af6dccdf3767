"""T12 and T13 against a real gunicorn on PostgreSQL.

T12: 200 concurrent /decide calls (20 connections x 10). Every 200 answer has exactly one ledger
entry, seq is contiguous, no fork, the ledger verifies, and there are no 5xx. T13: the same kind of
load while one worker is killed with SIGKILL. Marked ``live``; CI runs them in the PostgreSQL pass.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from apps.accounts import services as accounts
from apps.decisions.models import Decision
from apps.ledger import selectors
from apps.ledger.models import LedgerEntry
from apps.policies import services as policies
from tests.conftest import DEMO
from tests.ledger.conftest import ledger_transactional_db  # noqa: F401
from tests.live.conftest import free_port, gunicorn, workers_of
from tests.live.test_worker import established_per_worker

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.live


@pytest.fixture
def server(ledger_transactional_db):  # noqa: F811
    if connection.vendor != "postgresql":
        pytest.skip("the live-server test runs on PostgreSQL")
    db = connection.settings_dict
    url = f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "lexecon_site.settings.test",
        "LEXECON_DATABASE_URL": url,
        "LEXECON_LOG_LEVEL": "WARNING",
    }
    process = gunicorn(port, env, workers=2, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("gunicorn did not start: " + process.stderr.read().decode()[-2000:])
    yield port, process
    process.terminate()
    process.wait(timeout=20)


def test_t12_two_hundred_concurrent_decisions(server):
    server, _ = server
    assert settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    document = json.loads((ROOT / "policies/examples/customer_service.json").read_text())
    policies.policy_load(document=document, loaded_by="test", activate=True)
    raw_key = accounts.agent_key_create(name="load", scopes=["decide"]).raw_key
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def worker(number: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
        for index in range(10):
            body = {**DEMO, "request_id": f"w{number}-{index}"}
            conn.request(
                "POST",
                "/decide",
                json.dumps(body),
                {"Authorization": f"Bearer {raw_key}", "Content-Type": "application/json"},
            )
            response = conn.getresponse()
            data = json.loads(response.read())
            with lock:
                results.append((response.status, data))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert len(results) == 200
    assert {status for status, _ in results} == {200}
    seqs = [data["ledger_entry_id"] for _, data in results]
    assert len(set(seqs)) == 200
    assert len({data["decision_id"] for _, data in results}) == 200
    for _, data in results:
        entry = LedgerEntry.objects.get(seq=data["ledger_entry_id"])
        assert entry.entry_hash == data["ledger_entry_hash"]
        assert json.loads(entry.payload)["decision_id"] == data["decision_id"]
    assert Decision.objects.count() == 200
    rows = list(LedgerEntry.objects.order_by("seq").values_list("seq", "prev_hash"))
    assert [seq for seq, _ in rows] == list(range(len(rows)))
    assert len({prev for _, prev in rows}) == len(rows)
    report = selectors.ledger_verify()
    assert report["valid"] is True


def test_t13_a_worker_killed_mid_load(server):
    """16 kept-alive clients decide in a loop; one of the two workers is killed with SIGKILL.
    Clients see answers or connection errors, never a 5xx; every 200 has its ledger entry; an
    entry without an answer can only belong to a request whose connection broke; the chain is
    contiguous, unforked and verifies; the arbiter starts a new worker, and the kept connections
    even out over the two again."""
    port, arbiter = server
    document = json.loads((ROOT / "policies/examples/customer_service.json").read_text())
    policies.policy_load(document=document, loaded_by="test", activate=True)
    raw_key = accounts.agent_key_create(name="load", scopes=["decide"]).raw_key
    headers = {"Authorization": f"Bearer {raw_key}", "Content-Type": "application/json"}
    answers: list[tuple[int, dict]] = []
    broken = [0]
    lock, stop = threading.Lock(), threading.Event()

    def client(number: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        index = 0
        while not stop.is_set():
            index += 1
            try:
                conn.request(
                    "POST",
                    "/decide",
                    json.dumps({**DEMO, "request_id": f"c{number}-{index}"}),
                    headers,
                )
                response = conn.getresponse()
                answer = (response.status, json.loads(response.read()))
            except (ConnectionError, http.client.HTTPException):
                with lock:
                    broken[0] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            with lock:
                answers.append(answer)
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 60
        while len(answers) < 100 and time.monotonic() < deadline:
            time.sleep(0.05)
        before = workers_of(arbiter.pid)
        assert len(before) == 2
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        while time.monotonic() < deadline:  # the arbiter starts a replacement
            now = workers_of(arbiter.pid)
            if len(now) == 2 and victim not in now:
                break
            time.sleep(0.1)
        after = workers_of(arbiter.pid)
        assert len(after) == 2
        assert victim not in after
        served_after_kill = len(answers)
        balanced = False
        while time.monotonic() < deadline and not balanced:
            counts = sorted(established_per_worker(arbiter.pid, port).values())
            balanced = len(counts) == 2 and counts[1] - counts[0] <= 1 and sum(counts) >= 15
            time.sleep(0.2)
        assert balanced, counts
        while len(answers) < served_after_kill + 100 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert {status for status, _ in answers} == {200}
    assert len(answers) >= served_after_kill + 100
    for _, data in answers:
        entry = LedgerEntry.objects.get(seq=data["ledger_entry_id"])
        assert entry.entry_hash == data["ledger_entry_hash"]
        assert json.loads(entry.payload)["decision_id"] == data["decision_id"]
    decisions = Decision.objects.count()
    assert len(answers) <= decisions <= len(answers) + broken[0]
    rows = list(LedgerEntry.objects.order_by("seq").values_list("seq", "prev_hash"))
    assert [seq for seq, _ in rows] == list(range(len(rows)))
    assert len({prev for _, prev in rows}) == len(rows)
    assert selectors.ledger_verify()["valid"] is True
