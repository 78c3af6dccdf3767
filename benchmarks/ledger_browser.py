"""Ledger browser benchmark on PostgreSQL: HTML pages at any position of a 1,000,000-entry ledger.

    .venv/bin/python benchmarks/ledger_browser.py [--entries 1000000] [--tail 900] [--runs 40] [--reuse]

1. Fill the ledger (bulk COPY of a valid chain, computed here; setup, not measured) with entries in
   the version-2 envelope: 200 agents, one rare person (``user:42``, every 997th entry), one subject
   per entry, timestamps 2.5 s apart; store the Merkle nodes, fill the browser's actor/subject side table
   (timed) and sign a checkpoint, then append ``--tail`` more entries that only the
   tail scan can find.
2. GET each page ``--runs`` times through Django's test client as a signed-in, OTP-verified officer
   (middleware, session, template and all): the newest page, a middle position, the oldest page,
   filtered pages (type, actor, subject, time range, actor + time), and an entry page with its
   proof. Prints p50/p95 per page                                              [p95 <= 100 ms]
3. Prints the PostgreSQL plans of the keyset queries.

Uses (and recreates) the database ``lexecon_bench_ledgerui`` on 127.0.0.1:5432 unless
``--database-url`` says otherwise.
"""

from __future__ import annotations

import argparse
import io
import os
import secrets
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

START = datetime(2026, 11, 1, tzinfo=UTC)
STEP = timedelta(seconds=2.5)
RARE_EVERY = 997


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--tail", type=int, default=900)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the pages of the database a previous run filled (no setup)",
    )
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/lexecon_bench_ledgerui"
    )
    return parser.parse_args()


def setup_django(url: str, *, reuse: bool = False) -> None:
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    if not reuse:
        subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {name}"], check=True)
        subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True)
    os.environ["LEXECON_DATABASE_URL"] = url
    os.environ.pop("LEXECON_REDIS_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "lexecon_site.settings.dev"
    os.environ.setdefault("LEXECON_LEDGER_TEST_EVENTS", "1")  # free-form benchmark entries
    os.environ["LEXECON_LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def payload_of(seq: int) -> dict:
    actor = "user:42" if seq % RARE_EVERY == 0 else f"agent:bot{seq % 200}"
    kind = actor.split(":", 1)[0]
    return {
        "v": 2,
        "actor": {"kind": kind, "id": actor, "label": actor, "role": None},
        "subject": {"type": "decision", "id": f"d-{seq:08d}"},
        "request_id": None,
        "reason": None,
        "decision_id": f"d-{seq:08d}",
        "outcome": "allowed",
        "risk": {"score": 42, "level": "medium"},
    }


def bulk_fill(target: int) -> float:
    """Extend the chain to ``target`` entries with COPY (setup only, not a measured path)."""
    from django.db import connection

    from apps.ledger import services
    from apps.ledger.models import ChainHead
    from benchmarks.ledger import copy_row

    head = ChainHead.objects.get(pk=1)
    seq, prev = head.seq, head.entry_hash
    started = time.perf_counter()
    with connection.cursor() as cursor:
        while seq + 1 < target:
            buffer = io.StringIO()
            for _ in range(min(50_000, target - seq - 1)):
                seq += 1
                payload = services.payload_text(payload_of(seq))
                timestamp = (START + STEP * seq).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                line, prev = copy_row(
                    seq=seq,
                    entry_type="test.event",
                    timestamp=timestamp,
                    payload=payload,
                    prev_hash=prev,
                )
                buffer.write(line)
            with cursor.cursor.copy(
                "COPY ledger_ledgerentry (seq, entry_type, timestamp, payload, prev_hash, "
                "entry_hash, leaf_hash) FROM STDIN"
            ) as copy:
                copy.write(buffer.getvalue())
        cursor.execute(
            "UPDATE ledger_chainhead SET seq = %s, entry_hash = %s WHERE id = 1", [seq, prev]
        )
        cursor.execute("ANALYZE ledger_ledgerentry")
    return time.perf_counter() - started


def officer_client(*, reuse: bool = False):
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY

    from apps.accounts import services as accounts
    from apps.accounts.models import User

    if reuse:
        user = User.objects.get(username="bench-officer")
        device = user.totpdevice_set.get(confirmed=True)
    else:
        user = accounts.user_create(
            username="bench-officer", password=secrets.token_urlsafe(16), role="compliance_officer"
        )
        device = accounts.totp_device_create(user=user, confirmed=True)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def measure(client, url: str, runs: int) -> tuple[float, float, int]:
    response = client.get(url)  # warm
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
    timings.sort()
    p95 = timings[max(0, round(len(timings) * 0.95) - 1)]
    return statistics.median(timings), p95, response.content.count(b'aria-label="Entry ')


def explain(sql: str, params: list) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) " + sql, params)
        return "\n".join("    " + row[0] for row in cursor.fetchall())


def main() -> None:
    args = parse_args()
    setup_django(args.database_url, reuse=args.reuse)
    from django.db import connection, transaction

    from apps.ledger import selectors, services
    from apps.ledger.services.facets import facets_high_water

    print(
        f"PostgreSQL {connection.cursor().connection.info.server_version}, "
        f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
    )
    if not args.reuse:
        with transaction.atomic():
            services.ledger_append(entry_type="test.event", payload=payload_of(1))
        services.signing_keys_ensure()
        print(f"bulk fill to {args.entries:,} entries (setup): {bulk_fill(args.entries):.1f} s")
        started = time.perf_counter()
        services.merkle_nodes_fill(size=args.entries)
        print(f"store Merkle nodes (setup): {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        services.ledger_facets_fill()
        print(
            f"first fill of the actor/subject side table ({facets_high_water() + 1:,} rows, as "
            f"manage.py ledger_facets_fill does): {time.perf_counter() - started:.1f} s"
        )
        services.ledger_checkpoint_create()
    # The tail: entries the side table does not hold yet (stays under the next inline checkpoint,
    # signed every 1,000 entries, which would index them).
    first = selectors.ledger_size()
    started = time.perf_counter()
    for index in range(args.tail):
        with transaction.atomic():
            services.ledger_append(entry_type="test.event", payload=payload_of(first + index))
    print(
        f"{args.tail} more entries appended: {time.perf_counter() - started:.1f} s; "
        f"{selectors.ledger_size() - facets_high_water() - 1} entries are not in the side table"
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    size = selectors.ledger_size()
    middle = size // 2
    day = (START + STEP * middle).strftime("%Y-%m-%dT%H:%M")
    day_end = (START + STEP * middle + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M")
    pages = [
        ("newest page", "/ledger/browse/"),
        ("middle (before=size/2)", f"/ledger/browse/?before={middle}"),
        ("oldest page (after=-1)", "/ledger/browse/?after=-1"),
        ("type filter, middle", f"/ledger/browse/?entry_type=test.event&before={middle}"),
        ("actor filter (rare actor), newest", "/ledger/browse/?actor=user:42"),
        ("actor filter (rare actor), middle", f"/ledger/browse/?actor=user:42&before={middle}"),
        ("actor filter (rare actor), oldest", "/ledger/browse/?actor=user:42&after=-1"),
        ("subject filter (one entry)", f"/ledger/browse/?subject_id=d-{middle:08d}"),
        ("time range, 6 hours mid-ledger", f"/ledger/browse/?time_from={day}&time_to={day_end}"),
        (
            "actor + time range",
            f"/ledger/browse/?actor=agent:bot7&time_from={day}&time_to={day_end}",
        ),
        ("entry page with its proof (middle)", f"/ledger/browse/entries/{middle}/"),
        ("checkpoints page", "/ledger/browse/checkpoints/"),
    ]
    client = officer_client(reuse=args.reuse)
    print(f"\nHTML pages, {args.runs} runs each, ledger of {size:,} entries  [p95 <= 100 ms]")
    for label, url in pages:
        p50, p95, rows = measure(client, url, args.runs)
        print(f"  {label:<38} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  ({rows} rows)  {url}")

    print("\nPlans")
    print("  middle page (keyset on the primary key):")
    print(
        explain(
            "SELECT seq FROM ledger_ledgerentry WHERE seq > -1 AND seq < %s "
            "ORDER BY seq DESC LIMIT 50",
            [middle],
        )
    )
    print("  actor filter, middle (side table, index (actor, seq)):")
    print(
        explain(
            "SELECT seq FROM ledger_ledgerentryfacet WHERE seq > -1 AND seq < %s "
            "AND actor = %s ORDER BY seq DESC LIMIT 50",
            [middle, "user:42"],
        )
    )
    print("  type filter, middle (index (entry_type, seq)):")
    print(
        explain(
            "SELECT seq FROM ledger_ledgerentry WHERE seq > -1 AND seq < %s "
            "AND entry_type = %s ORDER BY seq DESC LIMIT 50",
            [middle, "test.event"],
        )
    )


if __name__ == "__main__":
    main()
