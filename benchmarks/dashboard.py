"""Dashboard benchmark on PostgreSQL (issue 19, "Performance"; target in brackets).

    .venv/bin/python benchmarks/dashboard.py [--decisions 1000000] [--escalations 10000]
                                             [--requests 100] [--tail 1000] [--small]
                                             [--full-plans]

1. A fresh database and the bulk data of benchmarks/compliance.py (``prepare`` and ``generate``:
   ``INSERT … SELECT generate_series``), with the decisions spread over the last ``--days`` days
   (default 60, so a 30-day window holds half of them and the previous window the other half).
   High-risk decisions then get rule reasons, data classes and an AI system (one ``UPDATE``), and
   only the ``--escalations`` newest escalations are kept (the pending ones among them).
2. The evidence tally and the dashboard roll-up catch up, as their minute tasks keep them in
   production; the roll-up stops ``--tail`` decisions short, so the requests of step 3 also count
   a live tail (about a minute of traffic at 16 decisions/s).
3. GET /dashboard/ (30-day window, day buckets) as a compliance officer with a verified session,
   through django's test Client in this process (no server: the figure is the view's own cost),
   ``--requests`` times after 10 warm-up requests: p50/p95/p99 — with the tail, with an AI-system
   filter, and once the roll-up has caught up.                            [30-day p95 <= 300 ms]
4. EXPLAIN (ANALYZE, BUFFERS) of the roll-up, tail and oversight queries one request runs.

Uses (and recreates) the database ``lexecon_bench_dashboard`` on 127.0.0.1:5432. 2 cores shared
by the client and the database (and, on the shared development machine, other work): the figures
are indicative.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
import compliance as bulk  # noqa: E402

TARGET_P95_MS = 300.0
WARMUP = 10
PATH = "/dashboard/?window=30d"
SYSTEMS = ["support-bot", "claims-triage", "cv-screening"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=1_000_000)
    parser.add_argument("--escalations", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--tail", type=int, default=1000)
    parser.add_argument("--small", action="store_true", help="smoke size: 20,000 decisions")
    parser.add_argument("--database", default="lexecon_bench_dashboard")
    parser.add_argument("--full-plans", action="store_true", help="print every plan line")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="time the requests against the database of an earlier run (no new bulk data); the "
        "live tail is the last hour's decisions, taken back out of the roll-up",
    )
    args = parser.parse_args()
    if args.small:
        args.decisions, args.escalations = 20_000, 500
        args.requests = min(args.requests, 30)
    return args


def enrich(escalations: int) -> dict[str, float]:
    """High-risk decisions get reasons, data classes and an AI system; keep the newest
    ``escalations`` escalations. Written with the append-only triggers off (this is set-up)."""
    from django.db import connection

    timings = {}
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        started = time.perf_counter()
        cursor.execute(
            """
            UPDATE decisions_decision SET
                reasons = jsonb_build_array(jsonb_build_object(
                    'rule_id', (ARRAY['cs-no-deletion', 'cs-refund-review', 'cs-export-review',
                                      'risk:auto-escalation'])[1 + ledger_seq %% 4],
                    'effect', 'forbid', 'message', 'synthetic')),
                data_classes = (ARRAY['["customer_pii"]', '["payment_card"]',
                                      '["customer_pii", "payment_card"]'])[1 + ledger_seq %% 3]::jsonb,
                ai_system = (ARRAY[%s, %s, %s])[1 + ledger_seq %% 3]
            WHERE risk_level = 'high'
            """,
            SYSTEMS,
        )
        timings["enrich"] = time.perf_counter() - started
        started = time.perf_counter()
        cursor.execute(
            """
            DELETE FROM escalations_escalation WHERE id IN (
                SELECT id FROM escalations_escalation ORDER BY created_at DESC OFFSET %s)
            """,
            [escalations],
        )
        cursor.execute("SET session_replication_role = origin")
        cursor.execute("VACUUM (ANALYZE) decisions_decision")
        cursor.execute("VACUUM (ANALYZE) escalations_escalation")
        timings["trim"] = time.perf_counter() - started
    return timings


def register_systems() -> None:
    """The three AI systems the high-risk decisions name, in the registry (the filter offers
    registered systems; the Annex IV panel validates each one's document)."""
    from apps.accounts.models import User
    from apps.aisystems import services as registry

    admin = User.objects.get(username="bench_admin")
    for system_id in SYSTEMS:
        registry.ai_system_register(
            principal=admin,
            system_id=system_id,
            name=system_id.replace("-", " ").capitalize(),
            version="1.0.0",
            role="provider",
            intended_purpose="Synthetic system of the dashboard benchmark.",
            annex_iii_point="4(a)",
            risk_class="high",
            owner=admin,
            status="active",
        )


def officer_client():
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY

    from apps.accounts.models import User

    user = User.objects.get(username="bench_officer")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = user.totpdevice_set.get().persistent_id
    session.save()
    return client


def time_page(client: Any, path: str, count: int) -> dict[str, Any]:
    for _ in range(WARMUP):
        client.get(path)
    timings, errors, size = [], 0, 0
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            errors += 1
        size = len(response.content)
    return {
        "p50": bulk.percentile(timings, 50),
        "p95": bulk.percentile(timings, 95),
        "p99": bulk.percentile(timings, 99),
        "errors": errors,
        "bytes": size,
    }


def capture(client: Any, path: str) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        status = client.get(path).status_code
    if status != 200:
        raise SystemExit(f"GET {path} answered {status}")
    return [q["sql"] for q in captured.captured_queries]


PLANNED = re.compile(r"dashboard_|escalations_escalation|escalations_override|decisions_decision")


def reopen_last_hour() -> int:
    """Take the newest hour's decisions back out of the roll-up (rows and cursor), so that they
    are the live tail again; returns how many."""
    from django.db import transaction

    from apps.dashboard.models import DecisionHour, RiskFactorHour, RollupCursor
    from apps.dashboard.services import hour_of
    from apps.decisions.models import Decision

    last_hour = hour_of(Decision.objects.order_by("-ledger_seq").first().created_at)
    before = Decision.objects.filter(created_at__lt=last_hour).order_by("-ledger_seq").first()
    with transaction.atomic():
        DecisionHour.objects.filter(hour__gte=last_hour).delete()
        RiskFactorHour.objects.filter(hour__gte=last_hour).delete()
        RollupCursor.objects.filter(pk=1).update(last_seq=before.ledger_seq)
    return Decision.objects.filter(ledger_seq__gt=before.ledger_seq).count()


def timings_only(args: argparse.Namespace) -> None:
    os.environ.update(bulk.server_env(args.database, tempfile.mkdtemp(prefix="lexecon-bench-")))
    os.environ.pop("LEXECON_REDIS_URL", None)
    import django

    django.setup()
    from apps.dashboard import services as dashboard

    dashboard.rollup_catch_up()
    tail = reopen_last_hour()
    client = officer_client()
    results = {f"30 days, live tail of {tail}": time_page(client, PATH, args.requests)}
    results["30 days, one AI system"] = time_page(
        client, f"{PATH}&ai_system={SYSTEMS[0]}", args.requests
    )
    queries = capture(client, PATH)
    dashboard.rollup_catch_up()
    results["30 days, roll-up caught up"] = time_page(client, PATH, args.requests)
    results["90 days, week buckets"] = time_page(client, "/dashboard/?window=90d", args.requests)
    report(results, args.requests, queries, args.full_plans)


def report(results: dict[str, Any], requests: int, queries: list[str], full: bool) -> None:
    print(f"\nGET /dashboard/ in process ({requests} requests after {WARMUP} warm-up):")
    for label, r in results.items():
        verdict = "met" if r["p95"] <= TARGET_P95_MS and not r["errors"] else "NOT MET"
        print(
            f"  {label:<34} p50 {r['p50']:6.1f} ms  p95 {r['p95']:6.1f} ms  p99 {r['p99']:6.1f} ms"
            f"  errors {r['errors']}  {r['bytes']:,} B  [p95 <= {TARGET_P95_MS:.0f} ms: {verdict}]"
        )
    print(f"\n{len(queries)} queries per request; plans of those on the big tables:")
    bulk.explain([q for q in queries if PLANNED.search(q)], full=full)


def main() -> None:
    args = parse_args()
    if args.reuse:
        timings_only(args)
        return
    bulk.DAYS = args.days
    env = bulk.server_env(args.database, tempfile.mkdtemp(prefix="lexecon-bench-dash-"))
    env["LEXECON_SECRET_KEY"] = secrets.token_urlsafe(64)
    raw_key = bulk.prepare(args.database, env)
    from django.db import connection

    from apps.compliance import services as compliance
    from apps.dashboard import services as dashboard
    from apps.dashboard.models import DecisionHour, RiskFactorHour

    print(f"PostgreSQL {connection.cursor().connection.info.server_version}; host: 2 cores, shared")
    started = time.perf_counter()
    generated = bulk.generate(args.decisions, 100, 1000, raw_key.split("_")[1])
    print(f"bulk data: {args.decisions:,} decisions in {time.perf_counter() - started:.1f} s")
    print(f"enrich/trim: {enrich(args.escalations)}")
    register_systems()
    started = time.perf_counter()
    tallied = compliance.tally_catch_up()
    print(f"compliance tally: {tallied:,} entries in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    counted = dashboard.rollup_catch_up(limit=max(args.decisions - args.tail, 0))
    elapsed = time.perf_counter() - started
    print(
        f"roll-up: {counted:,} decisions in {elapsed:.1f} s ({counted / elapsed:,.0f}/s) → "
        f"{DecisionHour.objects.count():,} hour rows, {RiskFactorHour.objects.count():,} factor rows"
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) dashboard_decisionhour")
        cursor.execute("VACUUM (ANALYZE) dashboard_riskfactorhour")

    client = officer_client()
    results = {}
    results[f"30 days, live tail of {args.tail}"] = time_page(client, PATH, args.requests)
    results["30 days, one AI system"] = time_page(
        client, f"{PATH}&ai_system={SYSTEMS[0]}", args.requests
    )
    queries = capture(client, PATH)
    dashboard.rollup_catch_up()
    results["30 days, roll-up caught up"] = time_page(client, PATH, args.requests)
    results["90 days, week buckets"] = time_page(client, "/dashboard/?window=90d", args.requests)

    report(results, args.requests, queries, args.full_plans)
    print(f"\nledger last seq {generated['last_seq']:,}")
    os.environ.pop("LEXECON_DATABASE_URL", None)


if __name__ == "__main__":
    main()
