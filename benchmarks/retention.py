"""Record-keeping benchmark on PostgreSQL (issue 17 targets in brackets).

    .venv/bin/python benchmarks/retention.py [--decisions 1000000] [--window 10] [--threads 4]
    .venv/bin/python benchmarks/retention.py --small          # 20,000 decisions, short windows

1. Load ``--decisions`` expired decisions as ``/decide`` leaves them (70 % ``standard`` made
   200-400 days ago, 30 % ``gdpr_intersect`` made 100-400 days ago, each with its context, salt
   and automated responsibility record) plus 10 % more ``high_risk`` ones that are not expired,
   and one legal hold covering an actor of about 1 % of them. Bulk SQL, not the measured path;
   then ``VACUUM ANALYZE``, as autovacuum would.
2. ``GET /compliance/eu-ai-act/article-12/status`` at that size, before the sweep (every decision
   still live and 90 % overdue: the worst case) and again after it: p50/p95 over
   ``--status-calls`` calls                                                    [p95 <= 200 ms]
   (the first call of a deployment counts its closed days once, as the daily sweep otherwise
   does: it is one of the two warm-up calls left out)
3. The sweep (``manage.py retention_sweep`` in its own process) under ``/decide`` load
   (``--threads`` threads in this process, each its own connection), interleaved: the sweep
   process is stopped (SIGSTOP) and continued (SIGCONT) every ``--window`` seconds, so windows
   with and without the sweep alternate in one run. Prints /decide per window, the ratio of the
   medians, and the sweep's running time (its continued windows)
                                     [sweep of 1,000,000 <= 10 min; /decide with it >= 80 % without]
4. Checks afterwards: no expired decision keeps its context, the held ones do.

Uses (and recreates) ``lexecon_bench_retention`` (``lexecon_bench_retention_small`` with
``--small``) on 127.0.0.1:5432. Do not run the full size on a shared machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from fresh import fresh_database  # noqa: E402

DECIDE = {
    "actor": "ai_agent:customer_service",
    "action": "read_ticket",
    "context": {"customer_email": "someone@example.org"},
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=1_000_000)
    parser.add_argument("--window", type=float, default=10.0, help="seconds per load window")
    parser.add_argument("--threads", type=int, default=4, help="/decide client threads")
    parser.add_argument("--status-calls", type=int, default=50)
    parser.add_argument("--batch-size", type=int, help="the sweep's --batch-size")
    parser.add_argument("--small", action="store_true", help="20,000 decisions, 3 s windows")
    args = parser.parse_args()
    if args.small:
        args.decisions, args.window, args.status_calls = 20_000, 3.0, 20
    return args


# Rows as /decide writes them, made by the database itself (generate_series), in chunks.
LOAD_DECISIONS = """
INSERT INTO decisions_decision (
    id, agent_key_id, idempotency_key, request_fingerprint, request_id, actor, action, resource,
    data_classes, ai_system, ai_system_registered, outcome, reason, reasons, controls,
    policy_version, risk_score, risk_level, risk_dimensions, capability_token, token_jti,
    token_expires_at, context, context_salt, context_commitment, ledger_seq, ledger_entry_hash,
    timestamp, response_unconfirmed, created_at, retention_class, anonymised_at)
SELECT gen_random_uuid(), NULL, NULL, md5(i::text) || md5((i + 1)::text), '',
       CASE WHEN i %% 100 = 0 THEN 'ai_agent:held' ELSE 'ai_agent:customer_service' END,
       'read_ticket', NULL,
       CASE WHEN %(cls)s = 'gdpr_intersect' THEN '["pii"]'::jsonb ELSE '[]'::jsonb END,
       CASE WHEN %(cls)s = 'high_risk' THEN 'cv-screening' ELSE '' END, NULL, 'allowed',
       'Support agents may read tickets.',
       '[{"rule_id": "permit-read-ticket", "effect": "permit", "message": "Support agents may read tickets."}]'::jsonb,
       '["SOC2:CC6.1"]'::jsonb, repeat('a', 64), 12.5, 'low', '{"privacy": 20}'::jsonb,
       'cap_' || repeat(md5(i::text), 10), md5(i::text || 'jti'), 1795945124,
       jsonb_build_object('customer_email', 'customer' || i || '@example.org',
                          'ticket', i, 'purpose', 'support_ticket'),
       md5(i::text || 'salt'), encode(sha256(i::text::bytea), 'hex'),
       %(seq0)s + i, encode(sha256((i || 'e')::bytea), 'hex'), '2025-01-01T00:00:00.000000Z',
       false,
       now() - make_interval(days => %(min_days)s + (i %% %(span)s)) - make_interval(secs => i %% 86400),
       %(cls)s, NULL
FROM generate_series(%(start)s, %(stop)s) AS i
"""
LOAD_RECORDS = """
INSERT INTO decisions_responsibilityrecord (
    id, decision_id, kind, escalation_id, override_id, user_id, actor_kind, actor_id,
    actor_label, role, level, reason, ai_recommendation, human_decision, ledger_seq, created_at)
SELECT gen_random_uuid(), d.id, 'decision', NULL, NULL, NULL, 'agent', 'agent:bench',
       'agent:bench', '', 'automated', d.reason, d.outcome, '', d.ledger_seq, d.created_at
FROM decisions_decision d WHERE d.ledger_seq BETWEEN %(first)s AND %(last)s
"""


def prepare(database: str, decisions: int) -> str:
    fresh_database(database)
    os.environ["LEXECON_ALLOWED_HOSTS"] = "testserver"  # the in-process test client's host
    # The rate limiter stays on, with a /decide budget the load never reaches (ADR 0025).
    os.environ["LEXECON_RATE_LIMIT_DECIDE_PER_KEY"] = "999999999/60"
    os.environ["LEXECON_RATE_LIMIT_API_PER_KEY"] = "999999999/60"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from apps.accounts import services as accounts
    from apps.accounts.models import User
    from apps.accounts.principals import system_actor
    from apps.policies import services as policies
    from apps.retention import services as retention

    call_command("migrate", verbosity=0)
    document = json.loads((ROOT / "policies/examples/customer_service.json").read_text())
    policies.policy_load(document=document, actor=system_actor("benchmark"), activate=True)
    raw = accounts.agent_key_create(name="bench", scopes=["decide", "compliance:read"]).raw_key
    officer = User.objects.create_user(username="bench-officer", password=None)

    started = time.monotonic()
    plan = [
        ("standard", int(decisions * 0.7), 200, 200),
        ("gdpr_intersect", decisions - int(decisions * 0.7), 100, 300),
        ("high_risk", decisions // 10, 30, 300),
    ]
    seq0 = 10_000_000
    chunk = 100_000
    with connection.cursor() as cursor:
        first = 0
        for cls, count, min_days, span in plan:
            for start in range(first, first + count, chunk):
                stop = min(start + chunk, first + count) - 1
                cursor.execute(
                    LOAD_DECISIONS,
                    {
                        "cls": cls,
                        "seq0": seq0,
                        "start": start,
                        "stop": stop,
                        "min_days": min_days,
                        "span": span,
                    },
                )
                cursor.execute(LOAD_RECORDS, {"first": seq0 + start, "last": seq0 + stop})
            first += count
    retention.legal_hold_place(
        user=officer,
        scope=retention.HoldScope(scope="actor", actor="ai_agent:held"),
        reason="Benchmark: a hold on about one per cent of the decisions.",
        requested_by="benchmark",
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE decisions_decision")
        cursor.execute("VACUUM ANALYZE decisions_responsibilityrecord")
    print(f"loaded {first:,} decisions (+ records) in {time.monotonic() - started:.1f} s")
    return raw


def status_timings(raw: str, calls: int) -> list[float]:
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    timings = []
    for _ in range(calls + 2):
        started = time.perf_counter()
        response = client.get("/compliance/eu-ai-act/article-12/status")
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"status answered {response.status_code}: {response.content[:300]}")
    return sorted(timings[2:])  # two warm-up calls left out


def report_status(raw: str, args: argparse.Namespace, when: str) -> None:
    timings = status_timings(raw, args.status_calls)
    p50, p95 = percentile(timings, 50), percentile(timings, 95)
    print(
        f"article-12/status at {int(args.decisions * 1.1):,} decisions, {when}: p50 {p50:.1f} ms, "
        f"p95 {p95:.1f} ms  [p95 <= 200 ms: {'ok' if p95 <= 200 else 'MISSED'}]"
    )


def percentile(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


class Load:
    """``threads`` clients calling /decide as fast as they can; counts answers per window."""

    def __init__(self, raw: str, threads: int) -> None:
        self.raw, self.count, self.errors = raw, 0, 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run) for _ in range(threads)]

    def run(self) -> None:
        from django.db import connections
        from rest_framework.test import APIClient

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.raw}")
        try:
            while not self.stop.is_set():
                ok = client.post("/decide", DECIDE, format="json").status_code == 200
                with self.lock:
                    self.count += ok
                    self.errors += not ok
        finally:
            connections.close_all()

    def measure(self, seconds: float) -> float:
        with self.lock:
            before = self.count
        time.sleep(seconds)
        with self.lock:
            return (self.count - before) / seconds


def sweep_under_load(database: str, raw: str, args: argparse.Namespace) -> dict:
    env = {
        **os.environ,
        "LEXECON_DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{database}",
    }
    command = [sys.executable, "manage.py", "retention_sweep", "--json"]
    if args.batch_size:
        command += ["--batch-size", str(args.batch_size)]
    load = Load(raw, args.threads)
    for thread in load.threads:
        thread.start()
    time.sleep(1.0)  # warm
    sweep = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    os.kill(sweep.pid, signal.SIGSTOP)
    started = time.monotonic()
    running = 0.0
    with_sweep, without = [], []
    try:
        while sweep.poll() is None:
            without.append(load.measure(args.window))
            os.kill(sweep.pid, signal.SIGCONT)
            resumed = time.monotonic()
            with load.lock:
                before = load.count
            with contextlib.suppress(subprocess.TimeoutExpired):
                sweep.wait(timeout=args.window)
            elapsed = time.monotonic() - resumed
            running += elapsed
            with load.lock:
                rate = (load.count - before) / elapsed
            if sweep.poll() is None:
                with_sweep.append(rate)
                os.kill(sweep.pid, signal.SIGSTOP)
            elif elapsed >= args.window / 2:
                with_sweep.append(rate)
    finally:
        if sweep.poll() is None:
            os.kill(sweep.pid, signal.SIGCONT)
        load.stop.set()
        for thread in load.threads:
            thread.join(60)
    output, _ = sweep.communicate(timeout=60)
    return {
        "result": json.loads(output.strip().splitlines()[-1]),
        "running_seconds": running,
        "wall_seconds": time.monotonic() - started,
        "with_sweep": with_sweep,
        "without": without,
        "errors": load.errors,
    }


def main() -> None:
    args = parse_args()
    database = "lexecon_bench_retention" + ("_small" if args.small else "")
    raw = prepare(database, args.decisions)

    report_status(raw, args, "before the sweep")

    run = sweep_under_load(database, raw, args)
    result = run["result"]
    anonymised = sum(result["decisions_anonymised"].values())
    per_million = run["running_seconds"] / max(anonymised, 1) * 1_000_000
    print(
        f"sweep: {anonymised:,} anonymised ({result['decisions_anonymised']}), "
        f"{result['decisions_held']:,} held, in {run['running_seconds']:.1f} s running "
        f"({run['wall_seconds']:.1f} s wall with the stopped windows); "
        f"{per_million / 60:.1f} min per 1,000,000  [<= 10 min: "
        f"{'ok' if per_million <= 600 else 'MISSED'}]"
    )
    without = statistics.median(run["without"]) if run["without"] else 0.0
    with_sweep = statistics.median(run["with_sweep"]) if run["with_sweep"] else 0.0
    ratio = with_sweep / without if without else 0.0
    print(
        "/decide per window without the sweep: "
        + ", ".join(f"{r:.0f}" for r in run["without"])
        + "; with it: "
        + ", ".join(f"{r:.0f}" for r in run["with_sweep"])
        + f" /s; medians {without:.0f} and {with_sweep:.0f}: {ratio:.0%}  [>= 80 %: "
        f"{'ok' if ratio >= 0.8 else 'MISSED'}]; errors {run['errors']}"
    )

    report_status(raw, args, "after the sweep")

    from apps.decisions.models import Decision

    # Everything loaded but the high-risk decisions had expired (made >= 100 / 200 days ago).
    loaded = Decision.objects.filter(ledger_seq__gte=10_000_000).exclude(
        retention_class="high_risk"
    )
    left = loaded.exclude(actor="ai_agent:held").filter(context__isnull=False).count()
    held_kept = loaded.filter(actor="ai_agent:held", context__isnull=False).count()
    print(f"afterwards: {left} expired decisions keep a context [0]; {held_kept:,} held ones do")


if __name__ == "__main__":
    main()
