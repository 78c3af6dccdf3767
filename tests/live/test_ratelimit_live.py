"""T28 against a real gunicorn (2 workers) on PostgreSQL with the limiter in Redis (ADR 0025).

One agent key bursts /decide from 32 concurrent clients, three times its limit, while a second
key keeps deciding. The two workers count in the same Redis, so the key gets exactly its limit
of 200s (≤ limit + 1 % is the requirement) and 429s with Retry-After for the rest; nothing is
written for a refused call; the other key is never refused. Marked ``live``; the PostgreSQL +
Redis pass of .ci/run runs it.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
from urllib.parse import urlsplit

import pytest

from apps.accounts import services as accounts
from apps.decisions.models import Decision
from apps.ledger import selectors
from tests.conftest import DEMO, load_demo_policy
from tests.ledger.conftest import ledger_transactional_db  # noqa: F401
from tests.live.test_decide_live import _serve, _stop

pytestmark = pytest.mark.live

LIMIT, BURST, CLIENTS = 200, 600, 32


def _post(port: int, raw_key: str, request_id: str) -> tuple[int, dict, dict[str, str], float]:
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(
            "POST",
            "/decide",
            json.dumps({**DEMO, "request_id": request_id}),
            {"Authorization": f"Bearer {raw_key}", "Content-Type": "application/json"},
        )
        response = conn.getresponse()
        body = json.loads(response.read())
        return response.status, body, dict(response.getheaders()), time.monotonic() - started
    finally:
        conn.close()


@pytest.mark.usefixtures("ledger_transactional_db")
def test_t28_a_burst_from_one_key_is_held_to_its_limit_while_another_key_keeps_deciding():
    url = os.environ.get("LEXECON_REDIS_URL", "")
    if urlsplit(url).scheme != "redis":
        pytest.skip("needs Redis (the PostgreSQL + Redis pass of .ci/run)")
    load_demo_policy()
    burster = accounts.agent_key_create(name="burster", scopes=["decide"])
    steady = accounts.agent_key_create(name="steady", scopes=["decide"])
    port, process = _serve(
        extra_env={
            "LEXECON_RATE_LIMIT_REDIS_URL": url,
            "LEXECON_RATE_LIMIT_DECIDE_PER_KEY": f"{LIMIT}/300",
        }
    )
    burst: list[tuple[int, dict, dict[str, str], float]] = []
    other: list[tuple[int, dict, dict[str, str], float]] = []
    lock = threading.Lock()
    done = threading.Event()
    start = threading.Barrier(CLIENTS + 1)

    def burst_client(number: int) -> None:
        start.wait()
        for index in range(number, BURST, CLIENTS):
            answer = _post(port, burster.raw_key, f"burst-{index}")
            with lock:
                burst.append(answer)

    def steady_client() -> None:
        start.wait()
        index = 0
        while not done.is_set():
            index += 1
            answer = _post(port, steady.raw_key, f"steady-{index}")
            with lock:
                other.append(answer)

    try:
        threads = [threading.Thread(target=burst_client, args=(n,)) for n in range(CLIENTS)]
        steady_thread = threading.Thread(target=steady_client)
        for thread in [*threads, steady_thread]:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        done.set()
        steady_thread.join(timeout=60)
    finally:
        _stop(process)

    assert len(burst) == BURST
    statuses = [status for status, _, _, _ in burst]
    admitted = statuses.count(200)
    assert admitted <= LIMIT * 1.01
    assert admitted == LIMIT  # one atomic counter for both workers: not one more, not one less
    assert statuses.count(429) == BURST - LIMIT
    for status, body, headers, _ in burst:
        assert headers["X-RateLimit-Limit"] == str(LIMIT)
        if status == 429:
            assert body["error"]["code"] == "rate_limited"
            assert 1 <= int(headers["Retry-After"]) <= 300
            assert headers["X-RateLimit-Remaining"] == "0"
    # Nothing written for the refused calls: one decision per 200, with its ledger entry.
    assert Decision.objects.filter(agent_key_id=burster.key.pk).count() == LIMIT
    answered = {body["decision_id"] for status, body, _, _ in burst if status == 200}
    assert (
        set(
            map(
                str,
                Decision.objects.filter(agent_key_id=burster.key.pk).values_list("pk", flat=True),
            )
        )
        == answered
    )
    # The other key decided all along and was never refused.
    assert len(other) >= 5
    assert {status for status, _, _, _ in other} == {200}
    assert Decision.objects.filter(agent_key_id=steady.key.pk).count() == len(other)
    assert selectors.ledger_verify()["valid"] is True
