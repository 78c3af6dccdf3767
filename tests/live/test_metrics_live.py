"""Metrics under real gunicorn with two workers (ADR 0033): each worker counts in its own files
(prometheus_client multiprocess mode, set up by gunicorn.conf.py), and every scrape, whichever
worker answers it, shows the sum. Marked ``live``; the PostgreSQL + Redis pass runs it."""

from __future__ import annotations

import http.client
import json
import threading
from pathlib import Path

import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import DEMO
from tests.ledger.conftest import ledger_transactional_db  # noqa: F401
from tests.live.test_decide_live import _demo_agent_headers, _serve, _stop

pytestmark = pytest.mark.live

CLIENTS, EACH = 8, 5


def _scrape(port: int) -> dict[tuple[str, tuple], float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/metrics")
        response = conn.getresponse()
        body = response.read().decode()
        assert response.status == 200, body[:300]
        # T35 on the real server: gunicorn names itself, with no version.
        assert response.getheader("Server") == "gunicorn"
    finally:
        conn.close()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def _allowed_per_process(directory: Path) -> dict[int, float]:
    """lexecon_decisions_total{outcome="allowed"} in each worker's own file."""
    counts = {}
    for path in directory.glob("counter_*.db"):
        pid = int(path.stem.split("_")[1])
        for family in MultiProcessCollector.merge([str(path)], accumulate=True):
            for sample in family.samples:
                if sample.name == "lexecon_decisions_total" and sample.labels == {
                    "outcome": "allowed"
                }:
                    counts[pid] = sample.value
    return counts


@pytest.mark.usefixtures("ledger_transactional_db")
def test_counts_from_both_workers_are_summed_in_every_scrape(tmp_path):
    headers = _demo_agent_headers()
    port, process = _serve(extra_env={"LEXECON_METRICS_DIR": str(tmp_path)})
    try:
        statuses: list[int] = []
        lock = threading.Lock()

        def client(number: int) -> None:
            for index in range(EACH):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request(
                    "POST",
                    "/decide",
                    json.dumps({**DEMO, "request_id": f"m{number}-{index}"}),
                    headers,
                )
                response = conn.getresponse()
                response.read()
                conn.close()
                with lock:
                    statuses.append(response.status)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert statuses == [200] * (CLIENTS * EACH)

        per_worker = _allowed_per_process(tmp_path / "web")
        busy = {pid: count for pid, count in per_worker.items() if count > 0}
        assert len(busy) == 2, per_worker  # both workers decided
        assert sum(busy.values()) == CLIENTS * EACH
        # Every scrape sums both, whichever worker answers it.
        for _ in range(6):
            values = _scrape(port)
            assert values[("lexecon_decisions_total", (("outcome", "allowed"),))] == CLIENTS * EACH
            assert values[("lexecon_decide_seconds_count", ())] == CLIENTS * EACH
            assert values[("lexecon_ledger_size", ())] >= CLIENTS * EACH + 1
    finally:
        _stop(process)
