"""The decision append statement alone, with and without a deferred foreign key to agent keys.

    .venv/bin/python benchmarks/decision_append.py [--threads 2] [--seconds 5] [--rounds 3]

Runs the exact statement ``/decide`` sends (ledger entry + decision row, one statement, its own
commit) from ``--threads`` connections for ``--seconds``, first as the schema is now (no database
foreign key; ADR 0007), then with the ``DEFERRABLE INITIALLY DEFERRED`` foreign key the decisions
table used to carry, alternating ``--rounds`` times, and prints appends/s for both and the ratio.
Each append gets fresh unique values (decision id, token id, fingerprint). Uses (and recreates) the
database ``lexecon_bench_append`` on 127.0.0.1:5432.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from fresh import fresh_database  # noqa: E402

DATABASE = "lexecon_bench_append"
FOREIGN_KEY = (
    "ALTER TABLE decisions_decision ADD CONSTRAINT bench_decision_agent_key_fk "
    "FOREIGN KEY (agent_key_id) REFERENCES accounts_agentkey(id) DEFERRABLE INITIALLY DEFERRED"
)


def capture_statement() -> tuple[str, dict]:
    """Make one real decision and keep the statement and parameters it was appended with."""
    import django

    django.setup()
    import json

    from django.core.management import call_command
    from django.db import connection

    from apps.accounts import services as accounts
    from apps.accounts.principals import system_actor
    from apps.decisions.services import DecideRequest, decision_make
    from apps.ledger.services import append
    from apps.policies import services as policies

    call_command("migrate", verbosity=0)
    document = json.loads((ROOT / "policies/examples/customer_service.json").read_text())
    policies.policy_load(document=document, actor=system_actor("benchmark"), activate=True)
    key = accounts.agent_key_create(name="bench", scopes=["decide"]).key
    captured: dict = {}
    original = append._execute_prepared

    def keep(statement, params):
        captured["statement"], captured["params"] = statement, params
        return original(statement, params)

    append._execute_prepared = keep
    try:
        decision_make(
            request=DecideRequest(
                actor="ai_agent:customer_service",
                action="access_customer_data",
                context={"purpose": "support_ticket", "data_sensitivity": "high"},
            ),
            agent_key=key,
        )
    finally:
        append._execute_prepared = original
    connection.close()
    return captured["statement"], captured["params"]


def unique_keys(params: dict) -> dict[str, str]:
    """Which parameters must differ per append: the decision id, the token id, the fingerprint."""
    from apps.decisions.models import Decision

    names = [field.name for field in Decision._meta.concrete_fields]
    by_field = {}
    for index, name in enumerate(names):
        if name in ("id", "token_jti", "request_fingerprint") and f"linked_{index}" in params:
            by_field[name] = f"linked_{index}"
    return by_field


def run(statement: str, params: dict, keys: dict[str, str], threads: int, seconds: float) -> float:
    import psycopg

    stop = threading.Event()
    counts = [0] * threads

    def append(slot: int) -> None:
        with psycopg.connect(
            f"host=127.0.0.1 user=postgres dbname={DATABASE}",
            autocommit=True,
            prepare_threshold=2**31 - 1,
        ) as conn:
            while not stop.is_set():
                values = dict(params)
                values[keys["id"]] = uuid.uuid4()
                values[keys["token_jti"]] = secrets.token_hex(16)
                values[keys["request_fingerprint"]] = secrets.token_hex(32)
                conn.execute(statement, values, prepare=True)
                counts[slot] += 1

    workers = [threading.Thread(target=append, args=(slot,)) for slot in range(threads)]
    for worker in workers:
        worker.start()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join()
    return sum(counts) / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    fresh_database(DATABASE)
    statement, params = capture_statement()
    keys = unique_keys(params)
    import psycopg

    results: dict[str, list[float]] = {"no foreign key (now)": [], "deferred foreign key": []}
    with psycopg.connect(
        f"host=127.0.0.1 user=postgres dbname={DATABASE}", autocommit=True
    ) as admin:
        for number in range(1, args.rounds + 1):
            now = run(statement, params, keys, args.threads, args.seconds)
            admin.execute(FOREIGN_KEY)
            before = run(statement, params, keys, args.threads, args.seconds)
            admin.execute(
                "ALTER TABLE decisions_decision DROP CONSTRAINT bench_decision_agent_key_fk"
            )
            results["no foreign key (now)"].append(now)
            results["deferred foreign key"].append(before)
            print(
                f"round {number}: no foreign key {now:,.0f} appends/s | deferred foreign key "
                f"{before:,.0f} appends/s | ratio {now / before:.2f}"
            )
    print(f"\n{args.threads} threads, {args.seconds:g} s per run, median of {args.rounds}:")
    for label, values in results.items():
        print(f"  {label}: {statistics.median(values):,.0f} appends/s")
    ratios = [a / b for a, b in zip(*results.values(), strict=True)]
    print(f"  no foreign key / deferred foreign key = {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
