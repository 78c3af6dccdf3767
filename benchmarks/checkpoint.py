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
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from fresh import fresh_database  # noqa: E402

DATABASE = "lexecon_bench_checkpoint"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--every", type=int, default=1000)
    args = parser.parse_args()
    fresh_database(DATABASE)
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
