"""Evidence package benchmark on PostgreSQL (issue 18 targets in brackets).

    .venv/bin/python benchmarks/verify_package.py [--scope 100000] [--ledger 150000]

1. Fill a ledger of ``--ledger`` entries (bulk COPY, setup only): decisions, every third one
   followed by its escalation entry, then escalation-shaped padding; store the Merkle nodes and
   sign a checkpoint.
2. ``write_package`` for the first ``--scope`` decisions (their escalations are other entries of
   the tree, proven through the proofs), in a fresh process so its peak resident memory is the
   package's alone                                     [<= 60 s with the PDF; worker <= 300 MiB]
3. ``python tools/verify_bundle.py package.zip --json`` in a fresh process  [<= 15 s]

Uses (and recreates) the database ``lexecon_bundle_bench`` on 127.0.0.1:5432 unless
``--database-url`` says otherwise. The reports inside are placeholders (the PDF is rendered by the
export task, measured by ``benchmarks/export.py``). Prints every figure; exit code 1 if a target
is missed.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PACKAGE_TARGET_SECONDS = 60.0
MEMORY_TARGET_MIB = 300.0
VERIFY_TARGET_SECONDS = 15.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scope", type=int, default=100_000, help="decisions in the package")
    parser.add_argument("--ledger", type=int, default=150_000, help="entries in the ledger")
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/lexecon_bundle_bench"
    )
    parser.add_argument(
        "--phase", choices=["all", "package"], default="all", help=argparse.SUPPRESS
    )
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


def setup_django(url: str, *, create: bool) -> None:
    if create:
        name = url.rsplit("/", 1)[1]
        admin = url.rsplit("/", 1)[0] + "/postgres"
        subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {name}"], check=True)
        subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True)
    os.environ["LEXECON_DATABASE_URL"] = url
    os.environ.pop("LEXECON_REDIS_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "lexecon_site.settings.dev"
    os.environ["LEXECON_LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("LEXECON_LEDGER_TEST_EVENTS", "1")  # the one free-form start entry
    import django

    django.setup()
    if create:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def fill(ledger_size: int, scope: int) -> None:
    """Extend the chain to ``ledger_size`` entries with COPY (setup, not measured)."""
    from django.db import connection

    from apps.ledger import services
    from apps.ledger.models import ChainHead
    from benchmarks.ledger import copy_row

    services.signing_keys_ensure()
    services.ledger_append(entry_type="test.event", payload={"bench": "start"})  # + genesis
    head = ChainHead.objects.get(pk=1)
    seq, prev = head.seq, head.entry_hash
    decisions, escalation_due = 0, False
    with connection.cursor() as cursor:
        while seq + 1 < ledger_size:
            buffer = io.StringIO()
            for _ in range(min(50_000, ledger_size - seq - 1)):
                seq += 1
                if decisions < scope and not escalation_due:
                    entry_type = "decision.made"
                    decisions += 1
                    escalation_due = decisions % 3 == 1  # its escalation is the next entry
                    body = {
                        "decision_id": f"00000000-0000-7000-8000-{seq:012d}",
                        "outcome": "escalated" if escalation_due else "allowed",
                        "request": {"actor": "ai_agent:bench", "action": "refund"},
                        "risk": {"score": seq % 101, "level": "medium"},
                        "context_commitment": hashlib.sha256(str(seq).encode()).hexdigest(),
                    }
                else:
                    entry_type, escalation_due = "escalation.created", False
                    body = {
                        "escalation_id": f"00000000-0000-7000-9000-{seq:012d}",
                        "priority": "high",
                        "reason_commitment": hashlib.sha256(str(-seq).encode()).hexdigest(),
                    }
                payload = services.payload_text({"v": 2, **body})
                timestamp = services.rfc3339_now()
                line, prev = copy_row(
                    seq=seq,
                    entry_type=entry_type,
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
    services.merkle_nodes_fill(size=seq + 1)
    services.ledger_checkpoint_create()


def package_phase(out: Path, scope: int) -> None:
    """Runs in its own process: write the package and print its figures as JSON."""
    from apps.audit.package import PackageSpec, write_package
    from apps.ledger.models import LedgerEntry

    seqs = (
        LedgerEntry.objects.filter(entry_type="decision.made")
        .order_by("seq")
        .values_list("seq", flat=True)[:scope]
        .iterator(chunk_size=5000)
    )
    spec = PackageSpec(
        export_id="0193a5f0-0000-7000-8000-00000000bench",
        scope="decisions",
        period_from=None,
        period_to=None,
        requested_by="user:1",
        generator="benchmarks/verify_package.py",
        entry_seqs=seqs,
        evidence_ids=[],
        report_html="<html><body>placeholder</body></html>",
        report_pdf=b"%PDF-1.7\n%placeholder\n%%EOF\n",
    )
    started = time.perf_counter()
    with out.open("wb") as handle:
        result = write_package(handle, spec)
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mib": peak_mib, "entries": result.entries}))


def main() -> int:
    args = parse_args()
    if args.phase == "package":
        setup_django(args.database_url, create=False)
        package_phase(args.out, args.scope)
        return 0
    setup_django(args.database_url, create=True)
    from django.db import connection

    print(
        f"PostgreSQL {connection.cursor().connection.info.server_version}, "
        f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
    )
    started = time.perf_counter()
    fill(args.ledger, args.scope)
    print(
        f"fill {args.ledger:,} entries, store Merkle nodes, sign checkpoint (setup): "
        f"{time.perf_counter() - started:.1f} s"
    )
    connection.close()
    failed = False
    with tempfile.TemporaryDirectory(prefix="lexecon-package-") as directory:
        archive = Path(directory) / "package.zip"
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--phase",
                "package",
                "--out",
                str(archive),
                "--scope",
                str(args.scope),
                "--database-url",
                args.database_url,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        figures = json.loads(child.stdout.strip().splitlines()[-1])
        size_mib = archive.stat().st_size / 2**20
        print(
            f"write_package, {figures['entries']:,} entries: {figures['seconds']:.1f} s, "
            f"peak RSS of the process {figures['peak_mib']:.0f} MiB, ZIP {size_mib:.1f} MiB  "
            f"[<= {PACKAGE_TARGET_SECONDS:.0f} s, <= {MEMORY_TARGET_MIB:.0f} MiB]"
        )
        failed |= figures["seconds"] > PACKAGE_TARGET_SECONDS
        failed |= figures["peak_mib"] > MEMORY_TARGET_MIB
        started = time.perf_counter()
        verify = subprocess.run(
            [sys.executable, str(ROOT / "tools" / "verify_bundle.py"), str(archive), "--json"],
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        report = json.loads(verify.stdout)
        print(
            f"verify_bundle.py on the ZIP: {seconds:.1f} s, valid={report['valid']}, "
            f"{report['entries_checked']:,} entries, {report['files_checked']} files  "
            f"[<= {VERIFY_TARGET_SECONDS:.0f} s]"
        )
        failed |= seconds > VERIFY_TARGET_SECONDS or not report["valid"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
