"""What one checkpoint costs the request that triggers it in the embedded default.

    .venv/bin/python benchmarks/checkpoint.py [--rounds 10] [--every 1000]

Appends ``--every`` decision-sized entries, then times ``ledger_checkpoint_create()`` (stored
Merkle nodes for the new entries, the root, an Ed25519 and an RSA-4096 signature, one commit), and
repeats ``--rounds`` times. With Celery eager (``make run``) this is the stall of the worker whose
request completed every ``LEXECON_CHECKPOINT_EVERY``-th entry. Uses (and recreates) the database
``lexecon_bench_checkpoint`` on 127.0.0.1:5432.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATABASE = "lexecon_bench_checkpoint"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--every", type=int, default=1000)
    args = parser.parse_args()
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {DATABASE}"], check=True)
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {DATABASE}"], check=True)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "lexecon_site.settings.dev",
            "LEXECON_DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{DATABASE}",
            "LEXECON_SECRET_KEY": secrets.token_urlsafe(64),
            "LEXECON_MASTER_KEY": secrets.token_urlsafe(32),
            "LEXECON_LOG_LEVEL": "WARNING",
            "LEXECON_CHECKPOINT_EVERY": "0",
        }
    )
    os.environ.pop("LEXECON_REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    from apps.ledger import services
    from apps.ledger.entry_types import EntryType

    call_command("migrate", verbosity=0)
    services.signing_keys_ensure()
    payload = {"decision_id": "x" * 36, "outcome": "allowed", "risk": {"score": 46.43}}
    services.ledger_append(entry_type=EntryType.DECISION_MADE, payload=payload)
    services.ledger_checkpoint_create()  # keys unsealed and loaded once, as in a running worker
    timings = []
    for number in range(1, args.rounds + 1):
        for _ in range(args.every):
            services.ledger_append(entry_type=EntryType.DECISION_MADE, payload=payload)
        started = time.perf_counter()
        checkpoint = services.ledger_checkpoint_create()
        timings.append(1000 * (time.perf_counter() - started))
        print(
            f"round {number}: checkpoint at {checkpoint.tree_size:,} entries {timings[-1]:.1f} ms"
        )
    print(
        f"\ncheckpoint after every {args.every:,} entries: p50 {statistics.median(timings):.1f} ms, "
        f"max {max(timings):.1f} ms over {args.rounds} rounds"
    )


if __name__ == "__main__":
    main()
