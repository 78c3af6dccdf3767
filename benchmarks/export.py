"""Audit export benchmark on PostgreSQL (issue 18 targets in brackets).

    .venv/bin/python benchmarks/export.py [--decisions 100000] [--entries 1000000]
    .venv/bin/python benchmarks/export.py --small        # 10,000 decisions, 100,000 entries

1. Load ``--decisions`` escalated decisions, each with its escalation, and their ``decision.made``
   and ``escalation.created`` ledger entries (bulk SQL made by the database, not the measured
   path), the catalogs, then ``VACUUM ANALYZE``.
2. Exports of scope ``all`` at that size, each run by ``services.export_run`` (what the Celery
   task calls) in a process of its own, which reports its wall time and peak RSS:
   JSON and PDF now; ``package`` (PDF + bundle + proofs) once ``apps.audit.package`` is in the
   build                                                 [package <= 60 s, peak RSS <= 300 MiB]
3. Filler entries up to ``--entries`` ledger entries in all, then exports of scope ``ledger`` as
   JSON and CSV                                         [each <= 60 s, peak RSS <= 300 MiB]

Uses (and recreates) ``lexecon_bench_export`` (``lexecon_bench_export_small`` with ``--small``)
on 127.0.0.1:5432. Prints one line per export and a JSON summary at the end.
"""

from __future__ import annotations

import argparse
import importlib.util
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
sys.path.insert(0, str(ROOT / "benchmarks"))
from fresh import fresh_database  # noqa: E402

TIME_TARGET = 60.0
PACKAGE_SYSTEM = "support-bot"
RSS_TARGET_MIB = 300.0

LOAD_DECISIONS = """
INSERT INTO decisions_decision (
    id, agent_key_id, idempotency_key, request_fingerprint, request_id, actor, action, resource,
    data_classes, ai_system, ai_system_registered, outcome, reason, reasons, controls,
    policy_version, risk_score, risk_level, risk_dimensions, capability_token, token_jti,
    token_expires_at, context, context_salt, context_commitment, ledger_seq, ledger_entry_hash,
    timestamp, response_unconfirmed, created_at, retention_class, anonymised_at)
SELECT gen_random_uuid(), NULL, NULL, md5(i::text) || md5((i + 1)::text), '',
       'ai_agent:customer_service', 'issue_refund', 'invoice:' || i, '[]'::jsonb, 'support-bot',
       NULL, 'escalated', 'Refunds above the limit need a person.',
       '[{"rule_id": "escalate-refund", "effect": "escalate"}]'::jsonb, '["SOC2:CC6.1"]'::jsonb,
       repeat('a', 64), 55.0, 'medium', '{"financial": 60}'::jsonb, NULL, NULL, NULL,
       jsonb_build_object('amount', i %% 10000), md5(i::text || 'salt'),
       encode(sha256(i::text::bytea), 'hex'), %(base)s + i,
       encode(sha256(((%(base)s + i) || 'e')::bytea), 'hex'),
       to_char((now() - make_interval(secs => %(count)s - i)) AT TIME ZONE 'UTC',
               'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       false, now() - make_interval(secs => %(count)s - i), 'standard', NULL
FROM generate_series(%(start)s, %(stop)s) AS i
"""
LOAD_ESCALATIONS = """
INSERT INTO escalations_escalation (
    id, created_at, updated_at, status, resolution, priority, sla_deadline, reason,
    decision_id, escalated_by, note_commitment, note_salt, reason_commitment, reason_salt,
    resolution_note, created_ledger_seq)
SELECT gen_random_uuid(), d.created_at, d.created_at, 'pending', '', 'medium',
       d.created_at + interval '24 hours', 'policy', d.id, 'policy', '', '', '', '', '',
       d.ledger_seq + %(count)s
FROM decisions_decision d WHERE d.ledger_seq BETWEEN %(first)s AND %(last)s
"""


def copy_entries(kinds) -> int:
    """Append entries after the chain head with COPY, hashed exactly as ``ledger_append`` hashes
    them (the package writer and the verifier check every hash): ``kinds`` yields
    ``(entry_type, payload)``. Returns the new ledger size."""
    import hashlib
    import io

    from django.db import connection

    from apps.ledger import services
    from apps.ledger.models import ChainHead
    from tools.verify_bundle import leaf_hash

    head = ChainHead.objects.get(pk=1)
    seq, prev = head.seq, head.entry_hash
    copy_sql = (
        "COPY ledger_ledgerentry (seq, entry_type, timestamp, payload, prev_hash, entry_hash, "
        "leaf_hash) FROM STDIN"
    )
    with connection.cursor() as cursor:
        buffer = io.StringIO()
        for count, (entry_type, payload) in enumerate(kinds, 1):
            seq += 1
            text = services.payload_text(payload)
            timestamp = services.rfc3339_now()
            data = services.canonical_entry_text(
                seq=seq,
                entry_type=entry_type,
                timestamp=timestamp,
                payload_text=text,
                prev_hash=prev,
            )
            digest = hashlib.sha256(data).hexdigest()
            escaped = text.replace("\\", "\\\\")
            buffer.write(
                f"{seq}\t{entry_type}\t{timestamp}\t{escaped}\t{prev}\t{digest}\t"
                f"\\\\x{leaf_hash(data).hex()}\n"
            )
            prev = digest
            if count % 50_000 == 0:
                with cursor.cursor.copy(copy_sql) as copy:
                    copy.write(buffer.getvalue())
                buffer = io.StringIO()
        with cursor.cursor.copy(copy_sql) as copy:
            copy.write(buffer.getvalue())
    ChainHead.objects.filter(pk=1).update(seq=seq, entry_hash=prev)
    return seq + 1


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--small", action="store_true", help="10,000 decisions, 100,000 entries")
    parser.add_argument(
        "--package-only",
        action="store_true",
        help="measure only the package, on the database an earlier run left",
    )
    parser.add_argument("--run", help=argparse.SUPPRESS)  # child: run one export (its id)
    args = parser.parse_args()
    if args.small:
        args.decisions, args.entries = 10_000, 100_000
    return args


def database_name(args: argparse.Namespace) -> str:
    return "lexecon_bench_export_small" if args.small else "lexecon_bench_export"


def _chunks(first: int, count: int, size: int = 100_000):
    for start in range(first, first + count, size):
        yield start, min(start + size, first + count) - 1


def prepare(args: argparse.Namespace, export_dir: Path) -> int:
    """Load the decisions, escalations and entries; the officer's user id."""
    fresh_database(database_name(args))
    os.environ["LEXECON_EXPORT_DIR"] = str(export_dir)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from apps.accounts.models import User
    from apps.accounts.principals import system_actor
    from apps.compliance import services as compliance
    from apps.ledger.selectors import ledger_size
    from apps.policies import services as policies

    call_command("migrate", verbosity=0)
    document = json.loads((ROOT / "policies/examples/customer_service.json").read_text())
    policies.policy_load(document=document, actor=system_actor("benchmark"), activate=True)
    compliance.catalogs_load()
    officer = User.objects.create_user(username="bench-officer", password=None)
    started = time.monotonic()
    base, count = ledger_size(), args.decisions
    with connection.cursor() as cursor:
        for start, stop in _chunks(0, count):
            cursor.execute(
                LOAD_DECISIONS, {"base": base, "count": count, "start": start, "stop": stop}
            )
            cursor.execute(
                LOAD_ESCALATIONS, {"count": count, "first": base + start, "last": base + stop}
            )
    copy_entries(
        (kind, {"v": 2, "synthetic": True, "n": i})
        for kind in ("decision.made", "escalation.created")
        for i in range(count)
    )
    fill_nodes()
    vacuum()
    print(
        f"loaded {count:,} decisions + escalations, {ledger_size():,} entries in "
        f"{time.monotonic() - started:.1f} s",
        flush=True,
    )
    return officer.pk


def reuse(args: argparse.Namespace, export_dir: Path) -> int:
    """Point this process at the database an earlier run loaded; the officer's user id."""
    fresh = {
        "DJANGO_SETTINGS_MODULE": "lexecon_site.settings.dev",
        "LEXECON_DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{database_name(args)}",
        "LEXECON_LOG_LEVEL": "WARNING",
        "LEXECON_CHECKPOINT_EVERY": "0",
        "LEXECON_EXPORT_DIR": str(export_dir),
    }
    os.environ.update(fresh)
    os.environ.pop("LEXECON_REDIS_URL", None)
    import django

    django.setup()
    from apps.accounts.models import User
    from apps.ledger.services import signing_keys_rotate

    # The earlier run's signing keys are sealed with the master key it generated and did not
    # keep: new ones sign from here (the old ones verify what they signed).
    signing_keys_rotate()
    return User.objects.get(username="bench-officer").pk


def fill_ledger(total: int) -> None:

    from apps.ledger.selectors import ledger_size

    size = ledger_size()
    if size >= total:
        return
    started = time.monotonic()
    copy_entries(("test.event", {"v": 2, "synthetic": True, "n": n}) for n in range(total - size))
    fill_nodes()
    vacuum()
    print(
        f"filled the ledger to {total:,} entries in {time.monotonic() - started:.1f} s", flush=True
    )


def fill_nodes() -> None:
    """Store the Merkle nodes of the loaded entries, as the checkpoint after each 1,000 appends
    does in a running deployment (proofs and roots read them)."""
    from apps.ledger.selectors import ledger_size
    from apps.ledger.services.nodes import merkle_nodes_fill

    merkle_nodes_fill(size=ledger_size())


def vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in (
            "decisions_decision",
            "escalations_escalation",
            "ledger_ledgerentry",
            "ledger_merklenode",
        ):
            cursor.execute(f"VACUUM (ANALYZE) {table}")


def measure(user_id: int, scope: str, fmt: str, ai_system: str = "") -> dict:
    """Run one export in a child process (its own peak RSS); its figures."""
    from apps.audit.models import Export

    export = Export.objects.create(
        scope=scope,
        format=fmt,
        ai_system=ai_system,
        requested_by=f"user:{user_id}",
        requested_by_user_id=user_id,
    )
    child = subprocess.run(
        [sys.executable, __file__, "--run", str(export.pk)],
        capture_output=True,
        text=True,
        env=os.environ,
        check=False,
    )
    if child.returncode != 0:
        raise SystemExit(child.stdout + child.stderr)
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    ok = figures["seconds"] <= TIME_TARGET and figures["peak_rss_mib"] <= RSS_TARGET_MIB
    print(
        f"{scope:>8} {fmt:<8} rows {figures['rows']:>9,}  {figures['bytes'] / 1e6:8.1f} MB  "
        f"{figures['seconds']:6.1f} s  peak RSS {figures['peak_rss_mib']:6.1f} MiB  "
        f"[{'met' if ok else 'NOT met'}: <= {TIME_TARGET:.0f} s, <= {RSS_TARGET_MIB:.0f} MiB]",
        flush=True,
    )
    return {"scope": scope, "format": fmt, **figures, "met": ok}


def run_child(export_id: str) -> None:
    import django

    django.setup()
    from apps.audit import services

    started = time.perf_counter()
    export = services.export_run(export_id=export_id)
    seconds = time.perf_counter() - started
    if export.status != "done":
        raise SystemExit(f"export {export_id} {export.status}: {export.error}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(
        json.dumps(
            {
                "seconds": round(seconds, 2),
                "peak_rss_mib": round(peak, 1),
                "rows": export.rows,
                "bytes": export.bytes,
            }
        )
    )


def main() -> None:
    args = parse_args()
    if args.run:
        run_child(args.run)
        return
    export_dir = Path(tempfile.mkdtemp(prefix=f"{database_name(args)}-"))
    if args.package_only:
        user_id = reuse(args, export_dir)
        print(json.dumps(measure(user_id, "all", "package", PACKAGE_SYSTEM)))
        return
    user_id = prepare(args, export_dir)
    results = [measure(user_id, "all", "json"), measure(user_id, "all", "pdf")]
    if importlib.util.find_spec("apps.audit.package") is not None:
        # Every loaded decision is the support bot's: the package of its decisions and their
        # escalations, whatever filler the ledger has (the same set before and after step 3).
        results.append(measure(user_id, "all", "package", PACKAGE_SYSTEM))
    else:
        print("package: apps.audit.package is not in this build yet (not measured)", flush=True)
    fill_ledger(args.entries)
    results += [measure(user_id, "ledger", "json"), measure(user_id, "ledger", "csv")]
    print(json.dumps({"decisions": args.decisions, "entries": args.entries, "results": results}))


if __name__ == "__main__":
    main()
