"""Ledger benchmark on PostgreSQL (issue targets in brackets).

    .venv/bin/python benchmarks/ledger.py [--entries 1000000] [--threads 8] [--seconds 10]

1. Append throughput: ``--threads`` threads calling ``ledger_append`` (each in its own transaction) for
   ``--seconds``                                                           [>= 1,500 entries/s]
2. Fill the ledger to ``--entries`` with a valid chain (bulk COPY of entries computed here, not the
   measured path), fill the stored Merkle nodes and sign a checkpoint.
3. Full verification of every entry against the checkpoint (``GET /ledger/verify``)       [<= 15 s]
4. Inclusion proof at that size: p50/p99 over random leaves, and its JSON size    [<= 5 ms, <= 1 KB]

Uses (and recreates) the database ``lexecon_bench`` on 127.0.0.1:5432 unless ``--database-url`` says
otherwise. Prints every figure.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--proofs", type=int, default=200)
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/lexecon_bench"
    )
    return parser.parse_args()


def setup_django(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
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


def bench_appends(threads: int, seconds: float) -> tuple[int, float]:
    from django.db import connections

    from apps.ledger import services

    services.ledger_append(entry_type="test.event", payload={"warmup": True})
    services.signing_keys_ensure()
    stop = time.perf_counter() + seconds
    counts = [0] * threads
    barrier = threading.Barrier(threads + 1)

    def worker(number: int) -> None:
        barrier.wait()
        while time.perf_counter() < stop:
            # Its own transaction: on PostgreSQL the append is one statement (see services).
            services.ledger_append(
                entry_type="test.event",
                payload={
                    "decision_id": f"d-{number}-{counts[number]}",
                    "outcome": "allowed",
                    "actor": "ai_agent:bench",
                    "action": "read",
                    "risk": 42,
                },
            )
            counts[number] += 1
        connections.close_all()

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in workers:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in workers:
        thread.join()
    return sum(counts), time.perf_counter() - started


def copy_row(
    *, seq: int, entry_type: str, timestamp: str, payload: str, prev_hash: str
) -> tuple[str, str]:
    """One ledger row as a line of PostgreSQL ``COPY`` text (columns seq, entry_type, timestamp,
    payload, prev_hash, entry_hash, leaf_hash) and its entry hash: how every benchmark's bulk fill
    writes a valid chain without going through ``ledger_append``."""
    from apps.ledger import services
    from tools.verify_bundle import leaf_hash

    data = services.canonical_entry_text(
        seq=seq,
        entry_type=entry_type,
        timestamp=timestamp,
        payload_text=payload,
        prev_hash=prev_hash,
    )
    digest = hashlib.sha256(data).hexdigest()
    escaped = payload.replace("\\", "\\\\")
    line = (
        f"{seq}\t{entry_type}\t{timestamp}\t{escaped}\t{prev_hash}\t{digest}\t"
        f"\\\\x{leaf_hash(data).hex()}\n"
    )
    return line, digest


def bulk_fill(target: int) -> float:
    """Extend the chain to ``target`` entries with COPY (setup only, not a measured path)."""

    from django.db import connection

    from apps.ledger import services
    from apps.ledger.models import ChainHead

    head = ChainHead.objects.get(pk=1)
    seq, prev = head.seq, head.entry_hash
    started = time.perf_counter()
    batch = 50_000
    with connection.cursor() as cursor:
        while seq + 1 < target:
            buffer = io.StringIO()
            for _ in range(min(batch, target - seq - 1)):
                seq += 1
                payload = services.payload_text(
                    {
                        "decision_id": f"bulk-{seq}",
                        "outcome": "allowed",
                        "actor": "ai_agent:bulk",
                        "action": "read",
                        "risk": {"score": 42, "level": "medium"},
                    }
                )
                timestamp = services.rfc3339_now()
                line, prev = copy_row(
                    seq=seq,
                    entry_type="test.event",
                    timestamp=timestamp,
                    payload=payload,
                    prev_hash=prev,
                )
                buffer.write(line)
            buffer.seek(0)
            with cursor.cursor.copy(
                "COPY ledger_ledgerentry (seq, entry_type, timestamp, payload, prev_hash, "
                "entry_hash, leaf_hash) FROM STDIN"
            ) as copy:
                copy.write(buffer.getvalue())
        cursor.execute(
            "UPDATE ledger_chainhead SET seq = %s, entry_hash = %s WHERE id = 1", [seq, prev]
        )
    return time.perf_counter() - started


def main() -> None:
    args = parse_args()
    setup_django(args.database_url)
    from django.db import connection

    from apps.ledger import selectors, services

    print(
        f"PostgreSQL {connection.cursor().connection.info.server_version}, "
        f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
    )

    appended, elapsed = bench_appends(args.threads, args.seconds)
    rate = appended / elapsed
    print(
        f"append throughput, {args.threads} threads: {appended} entries in {elapsed:.1f} s = "
        f"{rate:,.0f} entries/s  [target >= 1,500]"
    )

    fill_seconds = bulk_fill(args.entries)
    print(f"bulk fill to {args.entries:,} entries (setup): {fill_seconds:.1f} s")
    started = time.perf_counter()
    services.merkle_nodes_fill(size=args.entries)
    print(f"store Merkle nodes for {args.entries:,} entries: {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    checkpoint = services.ledger_checkpoint_create()
    print(f"sign checkpoint at {checkpoint.tree_size:,}: {time.perf_counter() - started:.2f} s")

    started = time.perf_counter()
    report = selectors.ledger_verify()
    verify_seconds = time.perf_counter() - started
    print(
        f"full verification of {report['entries_checked']:,} entries: {verify_seconds:.1f} s, "
        f"valid={report['valid']} anchored={report['anchored']}  [target <= 15 s]"
    )

    size = checkpoint.tree_size
    rng = random.Random(7)
    timings, sizes, proof_sizes, raw_sizes = [], [], [], []
    for _ in range(args.proofs):
        seq = rng.randrange(size)
        started = time.perf_counter()
        proof = selectors.inclusion_proof(seq=seq, tree_size=size)
        timings.append((time.perf_counter() - started) * 1000)
        sizes.append(len(json.dumps(proof, separators=(",", ":"))))  # as the API renders it
        proof_sizes.append(len(json.dumps(proof["proof"], separators=(",", ":"))))
        raw_sizes.append(32 * len(proof["proof"]))
    timings.sort()
    print(
        f"inclusion proof at {size:,}: p50 {statistics.median(timings):.2f} ms, "
        f"p99 {timings[int(len(timings) * 0.99) - 1]:.2f} ms  [target <= 5 ms]"
    )
    print(
        f"inclusion proof size at {size:,}: at most {max(raw_sizes)} bytes of hashes, "
        f"{max(proof_sizes)} bytes as the JSON base64 array  [target <= 1 KB = 1,024 bytes]; "
        f"the whole answer with seq, tree_size and leaf_hash: {max(sizes)} bytes"
    )


if __name__ == "__main__":
    main()
