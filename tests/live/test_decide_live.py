"""T12 and T13 against a real gunicorn on PostgreSQL.

T12: 200 concurrent /decide calls (20 connections x 10). Every 200 answer has exactly one ledger
entry, seq is contiguous, no fork, the ledger verifies, and there are no 5xx. T13: the same kind of
load while one worker is killed with SIGKILL; every decision whose answer did not arrive is marked
``response_unconfirmed`` (ADR 0010), also when the kill or an error falls exactly between the commit
and the answer (tests/live/failpoints.py). Marked ``live``; CI runs them in the PostgreSQL pass.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connection

from apps.accounts import services as accounts
from apps.decisions.models import Decision
from apps.ledger import selectors
from apps.ledger.models import LedgerEntry
from tests.conftest import DEMO, load_demo_policy
from tests.ledger.conftest import ledger_transactional_db  # noqa: F401
from tests.live.conftest import free_port, gunicorn, wait_until_healthy, workers_of
from tests.live.proxy import Proxy

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.live


def _serve(db_port: int | None = None, extra_env: dict[str, str] | None = None):
    """gunicorn (2 workers) on the test database, directly or through ``db_port``; (port, process)."""
    if connection.vendor != "postgresql":
        pytest.skip("the live-server test runs on PostgreSQL")
    db = connection.settings_dict
    url = f"postgresql://{db['USER']}@{db['HOST']}:{db_port or db['PORT']}/{db['NAME']}"
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "lexecon_site.settings.test",
        "LEXECON_DATABASE_URL": url,
        "LEXECON_LOG_LEVEL": "WARNING",
        "LEXECON_TEST_FAILPOINTS": "1",  # only requests that ask for a fault get one
        **(extra_env or {}),
    }
    # A file, not a pipe: nobody reads the pipe while the test runs, and a full pipe would stall
    # the workers at their next log line (an outage logs every refused request).
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _stop, with the server
    process = gunicorn(port, env, workers=2, stderr=log)
    process.log = log
    wait_until_healthy(port, process, log, "gunicorn")
    return port, process


def _stop(process) -> None:
    process.terminate()
    process.wait(timeout=20)
    process.log.close()


@pytest.fixture
def server(ledger_transactional_db):  # noqa: F811
    port, process = _serve()
    yield port, process
    _stop(process)


@pytest.fixture
def proxied_server(ledger_transactional_db):  # noqa: F811
    """gunicorn whose every database connection goes through a :class:`Proxy` the test controls."""
    db = connection.settings_dict
    proxy = Proxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    try:
        port, process = _serve(proxy.port)
        yield port, process, proxy
        _stop(process)
    finally:
        proxy.close()


@pytest.fixture
def redis_proxied_server(ledger_transactional_db):  # noqa: F811
    """gunicorn whose Redis (cache and Celery broker) is reached through a :class:`Proxy`, with a
    checkpoint asked of Celery after every 5th entry."""
    url = urlsplit(os.environ.get("LEXECON_REDIS_URL", ""))
    if url.scheme != "redis":
        pytest.skip("needs Redis (the PostgreSQL + Redis pass of .ci/run)")
    proxy = Proxy((url.hostname, url.port or 6379))
    try:
        port, process = _serve(
            extra_env={
                "LEXECON_REDIS_URL": f"redis://127.0.0.1:{proxy.port}{url.path or '/0'}",
                # The rate limits count there too (ADR 0025): /decide fails open without them.
                "LEXECON_RATE_LIMIT_REDIS_URL": f"redis://127.0.0.1:{proxy.port}{url.path or '/0'}",
                "LEXECON_CELERY_EAGER": "0",
                "LEXECON_CHECKPOINT_EVERY": "5",
            }
        )
        yield port, process, proxy
        _stop(process)
    finally:
        proxy.close()


def _demo_agent_headers() -> dict[str, str]:
    """The demo policy active and a new agent key with ``decide``: the request headers."""
    load_demo_policy()
    raw_key = accounts.agent_key_create(name="load", scopes=["decide"]).raw_key
    return {"Authorization": f"Bearer {raw_key}", "Content-Type": "application/json"}


class _Load:
    """``clients`` connections deciding in a loop until :meth:`stop`, each request
    with its own Idempotency-Key (``c<client>-<n>``, also its request_id). ``results`` holds
    ``(when, key, status, body)`` and ``answers`` ``(status, body)`` of every answer; a request
    whose connection broke is counted in ``broken`` and the client reconnects."""

    def __init__(self, port: int, headers: dict[str, str], *, clients: int) -> None:
        self.port, self.headers = port, headers
        self.results: list[tuple[float, str, int, dict]] = []
        self.answers: list[tuple[int, dict]] = []
        self.broken = 0
        self._lock, self._stop = threading.Lock(), threading.Event()
        self._threads = [threading.Thread(target=self._client, args=(n,)) for n in range(clients)]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _client(self, number: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        index = 0
        while not self._stop.is_set():
            index += 1
            key = f"c{number}-{index}"
            try:
                conn.request(
                    "POST",
                    "/decide",
                    json.dumps({**DEMO, "request_id": key}),
                    {**self.headers, "Idempotency-Key": key},
                )
                response = conn.getresponse()
                status, body = response.status, json.loads(response.read())
            except (ConnectionError, http.client.HTTPException):
                with self._lock:
                    self.broken += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                continue
            with self._lock:
                self.results.append((time.monotonic(), key, status, body))
                self.answers.append((status, body))
        conn.close()


def test_t12_two_hundred_concurrent_decisions(server):
    server, _ = server
    assert settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    headers = _demo_agent_headers()
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def worker(number: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
        for index in range(10):
            body = {**DEMO, "request_id": f"w{number}-{index}"}
            conn.request("POST", "/decide", json.dumps(body), headers)
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
    """16 clients decide in a loop; one of the two workers is killed with SIGKILL.
    Clients see answers or connection errors, never a 5xx; every 200 has its ledger entry; an
    entry without an answer belongs to a request whose connection broke and is marked
    response_unconfirmed; the chain is contiguous, unforked and verifies; the arbiter starts a
    new worker, and answers go on."""
    port, arbiter = server
    headers = _demo_agent_headers()
    load = _Load(port, headers, clients=16)
    answers = load.answers  # (status, body) of every answer, as it comes
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
        while len(answers) < served_after_kill + 100 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        load.stop()
    assert {status for status, _ in answers} == {200}
    assert len(answers) >= served_after_kill + 100
    for _, data in answers:
        entry = LedgerEntry.objects.get(seq=data["ledger_entry_id"])
        assert entry.entry_hash == data["ledger_entry_hash"]
        assert json.loads(entry.payload)["decision_id"] == data["decision_id"]
    answered = {data["decision_id"] for _, data in answers}
    unanswered = set(
        map(str, Decision.objects.exclude(pk__in=answered).values_list("pk", flat=True))
    )
    assert len(unanswered) <= load.broken
    # No entry for a request that got no answer unless it is marked (the surviving worker or the
    # replacement marks what the killed one owed, within about a second).
    assert _marked_soon(unanswered) >= unanswered
    _assert_marks_are_entries()
    rows = list(LedgerEntry.objects.order_by("seq").values_list("seq", "prev_hash"))
    assert [seq for seq, _ in rows] == list(range(len(rows)))
    assert len({prev for _, prev in rows}) == len(rows)
    assert selectors.ledger_verify()["valid"] is True


def _marked_soon(expected: set[str], seconds: float = 15) -> set[str]:
    """The decisions marked response_unconfirmed, once ``expected`` are among them (or time is up)."""
    deadline = time.monotonic() + seconds
    while True:
        marked = set(
            map(
                str,
                Decision.objects.filter(response_unconfirmed=True).values_list("pk", flat=True),
            )
        )
        if marked >= expected or time.monotonic() > deadline:
            return marked
        time.sleep(0.1)


def _assert_marks_are_entries() -> None:
    """Each marked decision has exactly one decision.response_unconfirmed entry naming its seq."""
    entries = [
        json.loads(payload)
        for payload in LedgerEntry.objects.filter(
            entry_type="decision.response_unconfirmed"
        ).values_list("payload", flat=True)
    ]
    marked = dict(
        Decision.objects.filter(response_unconfirmed=True).values_list("pk", "ledger_seq")
    )
    assert sorted(entry["decision_id"] for entry in entries) == sorted(map(str, marked))
    for entry in entries:
        assert entry["decision_seq"] == marked[uuid.UUID(entry["decision_id"])]


def _post_decide(port: int, headers: dict[str, str], request_id: str) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/decide", json.dumps({**DEMO, "request_id": request_id}), headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_t13_a_worker_killed_between_commit_and_answer_leaves_a_marked_decision(server):
    """The kill falls exactly after the commit (failpoint ``kill``): the agent gets no answer,
    and the decision is marked ``worker_died`` by another worker, once the dead worker's database
    session has ended. Answers before and after are confirmed, and the chain verifies."""
    port, arbiter = server
    headers = _demo_agent_headers()
    before = workers_of(arbiter.pid)
    status, first = _post_decide(port, headers, "before")
    assert status == 200
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        _post_decide(port, {**headers, "X-Test-Failpoint": "kill"}, "killed")
    lost = Decision.objects.get(request_id="killed")  # committed, never answered
    assert _marked_soon({str(lost.pk)}) == {str(lost.pk)}
    entry = json.loads(LedgerEntry.objects.get(entry_type="decision.response_unconfirmed").payload)
    assert entry["actor"] == {
        "kind": "system",
        "id": "system:delivery",
        "label": "answer delivery check",
    }
    assert (entry["decision_id"], entry["decision_seq"], entry["cause"]) == (
        str(lost.pk),
        lost.ledger_seq,
        "worker_died",
    )
    deadline = time.monotonic() + 30
    while len(workers_of(arbiter.pid)) != 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(workers_of(arbiter.pid)) == 2
    assert workers_of(arbiter.pid) != before
    status, after = _post_decide(port, headers, "after")
    assert status == 200
    time.sleep(1.5)  # a scan or two later, nothing else is marked
    assert _marked_soon(set(), seconds=0) == {str(lost.pk)}
    assert Decision.objects.filter(pk__in=[first["decision_id"], after["decision_id"]]).count() == 2
    _assert_marks_are_entries()
    assert selectors.ledger_verify()["valid"] is True


@pytest.mark.parametrize("failpoint", ["raise", "sever"])
def test_an_error_answer_after_the_commit_marks_the_decision(server, failpoint):
    """Something after the commit fails (failpoint ``raise``): the agent gets a 500, not its
    decision, and the worker that served it marks the decision ``error_answer`` itself. With
    ``sever`` the worker's database session is terminated first: the mark is still written, on a
    new connection, once the advisory lock shows the old session has ended. (The retry after a
    failed attempt has a unit test: tests/decisions/test_delivery.py.)"""
    port, _ = server
    headers = _demo_agent_headers()
    status, _ = _post_decide(port, {**headers, "X-Test-Failpoint": failpoint}, "failed")
    assert status == 500
    lost = Decision.objects.get(request_id="failed")
    assert _marked_soon({str(lost.pk)}, seconds=10) == {str(lost.pk)}
    entry = json.loads(LedgerEntry.objects.get(entry_type="decision.response_unconfirmed").payload)
    assert (entry["decision_id"], entry["cause"]) == (str(lost.pk), "error_answer")
    for _ in range(3):  # with sever, the worker finds its dead connection on its next request
        status, answer = _post_decide(port, headers, "fine")
        if status == 200:
            break
        assert (status, answer["error"]["code"]) == (503, "ledger_unavailable")
    assert status == 200
    assert Decision.objects.get(pk=answer["decision_id"]).response_unconfirmed is False
    _assert_marks_are_entries()
    assert selectors.ledger_verify()["valid"] is True


def test_t14_the_database_goes_away_under_load_and_comes_back(proxied_server):
    """8 clients decide in a loop (each request with its own Idempotency-Key); the database's
    address goes away for 3 s, then comes back. Meanwhile /decide answers 503 ledger_unavailable
    in the error shape, never a 200 without its entry and never a 500; afterwards it answers 200
    again within 10 s with nothing done by hand. Every 200 has its entry; a decision that
    committed but got no 200 is marked response_unconfirmed, and a retry with its key returns it;
    the chain is contiguous and verifies."""
    port, _, proxy = proxied_server
    headers = _demo_agent_headers()
    load = _Load(port, headers, clients=8)
    results = load.results  # (when, idempotency key, status, body)
    try:
        deadline = time.monotonic() + 60
        while len(results) < 100 and time.monotonic() < deadline:
            time.sleep(0.05)
        proxy.down()
        went_down = time.monotonic()
        time.sleep(3)
        proxy.up()
        came_back = time.monotonic()
        while time.monotonic() < deadline:
            recovered = [r for r in list(results) if r[0] > came_back and r[2] == 200]
            if len(recovered) >= 50:
                break
            time.sleep(0.05)
    finally:
        load.stop()
    assert load.broken == 0  # the server itself stayed up
    statuses = {status for _, _, status, _ in results}
    assert statuses == {200, 503}, statuses
    outage = [r for r in results if went_down + 0.5 < r[0] < came_back]
    assert outage
    assert {status for _, _, status, _ in outage} == {503}
    for _, _, status, body in results:
        if status == 503:
            assert body["error"]["code"] == "ledger_unavailable"
            assert set(body["error"]) == {"code", "message", "details"}
    first_200_after = min(r[0] for r in results if r[0] > came_back and r[2] == 200)
    assert first_200_after - came_back <= 10
    answered = {body["decision_id"] for _, _, status, body in results if status == 200}
    for _, _, status, body in results:
        if status == 200:
            entry = LedgerEntry.objects.get(seq=body["ledger_entry_id"])
            assert entry.entry_hash == body["ledger_entry_hash"]
    unanswered = set(
        map(str, Decision.objects.exclude(pk__in=answered).values_list("pk", flat=True))
    )
    assert _marked_soon(unanswered) >= unanswered
    _assert_marks_are_entries()
    for decision in Decision.objects.filter(pk__in=unanswered):  # the retry returns it
        status, body = _post_decide(
            port, {**headers, "Idempotency-Key": decision.idempotency_key}, decision.request_id
        )
        assert (status, body["decision_id"]) == (200, str(decision.pk))
    rows = list(LedgerEntry.objects.order_by("seq").values_list("seq", "prev_hash"))
    assert [seq for seq, _ in rows] == list(range(len(rows)))
    assert len({prev for _, prev in rows}) == len(rows)
    assert selectors.ledger_verify()["valid"] is True


def test_t17_new_database_connections_hang_and_requests_fail_at_the_connect_timeout(
    proxied_server,
):
    """New database connections hang as at a postmaster stopped with SIGSTOP (the TCP handshake
    completes, nothing answers), and the open sessions end. Every /decide then fails closed with
    503 ledger_unavailable within the 5 s connect timeout plus a small budget (none waits for
    gunicorn's 60 s), the workers stay up, and once connections are answered again /decide
    answers 200 within 10 s."""
    port, arbiter, proxy = proxied_server
    headers = _demo_agent_headers()
    for index in range(6):
        assert _post_decide(port, headers, f"warm-{index}")[0] == 200
    workers = workers_of(arbiter.pid)
    proxy.hang()
    proxy.cut()
    timings = []
    hung_until = time.monotonic() + 12
    while time.monotonic() < hung_until:
        started = time.monotonic()
        status, body = _post_decide(port, headers, f"hung-{len(timings)}")
        timings.append((time.monotonic() - started, status, body))
    proxy.resume()
    assert {status for _, status, _ in timings} == {503}
    assert {body["error"]["code"] for _, _, body in timings} == {"ledger_unavailable"}
    assert max(seconds for seconds, _, _ in timings) <= 5 + 1.5
    assert any(seconds >= 4 for seconds, _, _ in timings)  # some did wait for the connect
    assert workers_of(arbiter.pid) == workers  # none was killed for hanging
    resumed = time.monotonic()
    while True:
        status, answer = _post_decide(port, headers, "after")
        if status == 200 or time.monotonic() - resumed > 10:
            break
    assert status == 200
    assert time.monotonic() - resumed <= 10
    assert (
        LedgerEntry.objects.get(seq=answer["ledger_entry_id"]).entry_hash
        == (answer["ledger_entry_hash"])
    )
    assert not Decision.objects.filter(request_id__startswith="hung-").exists()
    assert selectors.ledger_verify()["valid"] is True


def test_t15_redis_down_or_hung_leaves_decisions_working(redis_proxied_server):
    """Redis goes away (connections refused), then hangs (connected, nothing answers, as during
    ``DEBUG SLEEP``). /decide keeps deciding, every answer in under 2 s, also those that ask
    Celery for a checkpoint (every 5th entry here) and although its rate limit counts in that
    Redis (it fails open, logged: ADR 0025); that enqueue failure is logged, not swallowed;
    /status reports the cache down within 2 s; the ledger verifies. (The password lockout and
    OTP throttling keep their state in the database, not in Redis.)"""
    port, process, proxy = redis_proxied_server
    headers = _demo_agent_headers()
    assert _post_decide(port, headers, "warm")[0] == 200
    for fault, repair in ((proxy.down, proxy.up), (proxy.stall, proxy.unstall)):
        fault()
        timings = []
        for index in range(12):  # at least two of them complete a 5th entry
            started = time.monotonic()
            status, body = _post_decide(port, headers, f"{fault.__name__}-{index}")
            timings.append((time.monotonic() - started, status, body))
        assert {status for _, status, _ in timings} == {200}
        assert max(seconds for seconds, _, _ in timings) < 2
        for _, _, body in timings:
            entry = LedgerEntry.objects.get(seq=body["ledger_entry_id"])
            assert entry.entry_hash == body["ledger_entry_hash"]
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/status", headers=headers)
        response = conn.getresponse()
        state = json.loads(response.read())
        assert time.monotonic() - started < 2
        assert (response.status, state["status"], state["cache"]["ok"]) == (503, "degraded", False)
        if fault == proxy.down:  # the failed request for a checkpoint is logged, not swallowed
            assert _log_soon(process, "could not ask for a ledger checkpoint")
        assert _log_soon(process, "rate-limit store unreachable")
        repair()
    assert selectors.ledger_verify()["valid"] is True


def _log_soon(process, text: str, seconds: float = 10) -> bool:
    """Whether ``text`` appears in the server's log within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        process.log.seek(0)
        if text in process.log.read().decode():
            return True
        time.sleep(0.1)
    return False


def test_t16_a_slow_database_and_retrying_agents_make_one_decision_per_key(proxied_server):
    """Every database round trip takes 0.5 s longer (250 ms each way). Agents give up on their
    first try after 0.3 s, less than any decision takes now, then retry with the same
    Idempotency-Key, giving up after 3 s, until they get an answer; their abandoned requests
    still run. Each key makes exactly one decision with its one ledger entry, every answer for a
    key names that decision, none is a 5xx, and the chain verifies."""
    port, _, proxy = proxied_server
    headers = _demo_agent_headers()
    assert _post_decide(port, headers, "warm")[0] == 200
    proxy.latency = 0.25
    answers: dict[str, list[tuple[int, dict]]] = {}
    gave_up = [0]
    lock = threading.Lock()

    def agent(number: int) -> None:
        key = f"slow-{number}"
        for attempt in range(20):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3.0 if attempt else 0.3)
            try:
                conn.request(
                    "POST",
                    "/decide",
                    json.dumps({**DEMO, "request_id": key}),
                    {**headers, "Idempotency-Key": key},
                )
                response = conn.getresponse()
                answer = (response.status, json.loads(response.read()))
            except (TimeoutError, ConnectionError, http.client.HTTPException):
                with lock:
                    gave_up[0] += 1
                continue
            finally:
                conn.close()
            with lock:
                answers.setdefault(key, []).append(answer)
            if answer[0] == 200:
                return

    started = time.monotonic()
    threads = [threading.Thread(target=agent, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    elapsed = time.monotonic() - started
    proxy.latency = 0.0
    assert gave_up[0] >= 2  # every agent's first try, at least
    assert sorted(answers) == ["slow-0", "slow-1"]
    for key, replies in answers.items():
        assert {status for status, _ in replies} == {200}, replies
        decision = Decision.objects.get(idempotency_key=key)  # exactly one
        assert {body["decision_id"] for _, body in replies} == {str(decision.pk)}
        assert LedgerEntry.objects.get(seq=decision.ledger_seq).entry_hash == (
            decision.ledger_entry_hash
        )
    assert elapsed < 60  # about 9 s here; no one waits on a stuck worker
    assert selectors.ledger_verify()["valid"] is True
