"""Compliance benchmark on PostgreSQL (issue 16, "Performance"; targets in brackets).

    .venv/bin/python benchmarks/compliance.py [--decisions 1000000] [--links 100000]
                                              [--requests 200] [--uploads 200] [--small]
                                              [--in-process] [--full-plans]

1. A fresh database (migrate, ``load_catalogs``, the demo policy active, an agent key with the
   scopes ``compliance:read``, ``evidence:write`` and ``decide``, a few staff users).
2. Bulk data written with SQL (``INSERT … SELECT generate_series``), not through ``/decide``:
   ``--decisions`` decisions spread over the last 365 days, their rule tags taken from the demo
   policy, each with its ``decision.made`` ledger entry; ``--links // 10`` evidence artifacts with
   their ``evidence.registered`` entries and ``--links`` control links with their
   ``evidence.linked`` entries; an escalation for every escalated decision (some late).
3. The evidence tally catching up over all of it (``services.tally_catch_up()``): entries/s.
4. GET /compliance/statistics, /compliance/{soc2,iso27001,nist_csf}/controls and
   /compliance/soc2/controls/CC6.1 against the stock gunicorn of ``gunicorn.conf.py`` (2 sync
   workers; ``--in-process`` uses django's test Client instead), ``--requests`` each after 10
   warm-up requests, one at a time: p50/p95/p99                 [statistics, controls p95 <= 150 ms]
5. ``--uploads`` multipart POST /evidence/register of distinct random 1 MiB files (after 10
   warm-up uploads): p50/p95                                                          [p50 <= 20 ms]
6. EXPLAIN (ANALYZE, BUFFERS) of every query one /compliance/statistics request runs (captured in
   process with CaptureQueriesContext): none may read decisions_decision. Then the same after a few
   new decisions, when the request's own tally catch-up has work to do.

The synthetic ledger entries carry synthetic hashes (``md5`` text, unique per seq, chained through
``prev_hash`` so that UNIQUE(prev_hash) holds and the chain head points at the last one): nothing
here verifies the chain, and the tally and the status rules never read hashes. Decision payloads
are a small JSON object (the tally reads a decision's tags from its row, never its payload);
evidence payloads carry exactly the fields the tally reads. Automatic checkpoints are off
(``LEXECON_CHECKPOINT_EVERY=0``; in production a Celery worker signs them), so the upload timings
do not include a checkpoint over a million synthetic leaves.

Uses (and recreates) the database ``lexecon_bench_compliance`` on 127.0.0.1:5432; uploaded bytes go
to a temporary directory that is removed afterwards. 2 cores shared by client, server and database:
the figures are indicative.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
import decide_load  # noqa: E402

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEMO_POLICY = ROOT / "policies/examples/customer_service.json"
SCOPES = ["compliance:read", "evidence:write", "decide"]
ROUTES = [
    ("/compliance/statistics", 150.0),
    ("/compliance/soc2/controls", 150.0),
    ("/compliance/iso27001/controls", 150.0),
    ("/compliance/nist_csf/controls", 150.0),
    ("/compliance/soc2/controls/CC6.1", None),  # no target of its own; measured for reference
]
UPLOAD_P50_TARGET_MS = 20.0
UPLOAD_BYTES = 1024 * 1024
WARMUP = 10
DAYS = 365
# Staff users: (username, role, has a confirmed TOTP device).
STAFF = [
    ("bench_admin", "admin", True),
    ("bench_officer", "compliance_officer", True),
    ("bench_officer2", "compliance_officer", True),
    ("bench_reviewer", "reviewer", True),
    ("bench_auditor", "auditor", False),  # one without a second factor: staff_mfa non_compliant
]
ACTIONS = ["access_customer_data", "issue_refund", "delete_record", "export_report", "send_email"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=1_000_000)
    parser.add_argument("--links", type=int, default=100_000)
    parser.add_argument("--artifacts", type=int, help="default: --links // 10")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per route")
    parser.add_argument("--uploads", type=int, default=200, help="1 MiB registrations")
    parser.add_argument(
        "--small",
        action="store_true",
        help="smoke size: 20,000 decisions, 2,000 links, 50 requests and uploads",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, help="default: a free port")
    parser.add_argument("--database", default="lexecon_bench_compliance")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="time requests through django's test Client in this process (no gunicorn)",
    )
    parser.add_argument("--full-plans", action="store_true", help="print every plan line")
    args = parser.parse_args()
    if args.small:
        args.decisions, args.links = 20_000, 2_000
        args.requests, args.uploads = min(args.requests, 50), min(args.uploads, 50)
    if args.artifacts is None:
        args.artifacts = max(1, args.links // 10)
    return args


def server_env(database: str, evidence_dir: str) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "lexecon_site.settings.dev",
        "LEXECON_DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{database}",
        "LEXECON_SECRET_KEY": secrets.token_urlsafe(64),
        "LEXECON_MASTER_KEY": secrets.token_urlsafe(32),
        "LEXECON_LOG_LEVEL": "WARNING",
        "LEXECON_CHECKPOINT_EVERY": "0",
        "LEXECON_EVIDENCE_DIR": evidence_dir,
        # The limiter stays on, with a per-key API budget far above what this run sends (1,300
        # requests in about a minute would exceed the default 1200/60).
        "LEXECON_RATE_LIMIT_API_PER_KEY": "1000000/60",
        # The set-up inserts a million rows in one statement: no request-sized statement timeout
        # (ADR 0033) for this process; the measured requests answer far below any such limit.
        "LEXECON_DB_STATEMENT_TIMEOUT_MS": "0",
    }


# --- 1. Set-up -----------------------------------------------------------------------------------


def prepare(database: str, env: dict[str, str]) -> str:
    """A fresh database with catalogs, the demo policy, staff users and the bench agent key."""
    subprocess.run(["psql", ADMIN_URL, "-qc", f"DROP DATABASE IF EXISTS {database}"], check=True)
    subprocess.run(["psql", ADMIN_URL, "-qc", f"CREATE DATABASE {database}"], check=True)
    os.environ.update(env)
    os.environ.pop("LEXECON_REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from apps.accounts import services as accounts
    from apps.accounts.principals import system_actor
    from apps.ledger import services as ledger
    from apps.policies import services as policies

    call_command("migrate", verbosity=0)
    call_command("load_catalogs", verbosity=0, stdout=io.StringIO())
    document = json.loads(DEMO_POLICY.read_text())
    policies.policy_load(document=document, actor=system_actor("benchmark"), activate=True)
    ledger.signing_keys_ensure()
    for username, role, with_otp in STAFF:
        user = accounts.user_create(
            username=username,
            password=secrets.token_urlsafe(16),
            role=role,
            validate_password=False,
        )
        if with_otp:
            TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    return accounts.agent_key_create(name="bench-compliance", scopes=SCOPES).raw_key


# --- 2. Bulk data --------------------------------------------------------------------------------

# Synthetic hashes: 64 hex characters, unique per seq. ``prev_hash`` of seq s is the entry_hash of
# s - 1 (the first synthetic entry continues from the real chain head), so UNIQUE(prev_hash) holds.
ENTRY_HASH = "(md5('lexecon-bench-a' || {seq}) || md5('lexecon-bench-b' || {seq}))"
TIMESTAMP = (
    "to_char((%(start)s::timestamptz + (({seq}) - %(base)s) * %(step)s::interval) "
    "AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
)
ARTIFACT_ID = "md5('lexecon-bench-artifact' || {idx})::uuid"


def _hash(seq: str) -> str:
    return ENTRY_HASH.format(seq=seq)


def _prev_hash(seq: str) -> str:
    return f"CASE WHEN {seq} = %(base)s + 1 THEN %(head_hash)s ELSE {_hash(f'({seq} - 1)')} END"


def _timestamp(seq: str) -> str:
    return TIMESTAMP.format(seq=seq)


def rule_tag_lists() -> list[list[str]]:
    """The ``controls`` of every rule of the demo policy, plus [] (no rule matched: default deny)."""
    lists: list[list[str]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "controls" and isinstance(value, list):
                    lists.append([str(tag) for tag in value])
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(json.loads(DEMO_POLICY.read_text()))
    return [*lists, []]


def generate(decisions: int, artifacts: int, links: int, key_prefix: str) -> dict[str, Any]:
    """Write the synthetic decisions, evidence, escalations and their ledger entries.

    The SQL texts are assembled here from constants of this file only; every value is a bound
    parameter (hence the S608 exemptions)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from apps.accounts.models import AgentKey, User
    from apps.compliance.models import Control
    from apps.ledger.models import ChainHead
    from apps.policies import selectors as policy_selectors

    head = ChainHead.objects.get(pk=1)
    key = AgentKey.objects.get(prefix=key_prefix)
    total = decisions + artifacts + links
    now = timezone.now()
    start = now - timedelta(days=DAYS)
    step = timedelta(days=DAYS) / (total + 1)
    tag_lists = rule_tag_lists()
    controls = list(
        Control.objects.filter(assessable=True, withdrawn=False)
        .order_by("framework_id", "position")
        .values_list("framework_id", "control_id")
    )
    params = {
        "base": head.seq,
        "head_hash": head.entry_hash,
        "start": start,
        "step": step,
        "n": decisions,
        "a": artifacts,
        "l": links,
        "key_id": key.pk,
        "actor": f"agent:{key.prefix}",
        "policy": policy_selectors.active_version().version_hash,
        "rules": len(tag_lists),
        "controls": len(controls),
        "reviewer": User.objects.get(username="bench_reviewer").pk,
    }
    timings: dict[str, float] = {}

    def run(label: str, sql: str) -> None:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        timings[label] = time.perf_counter() - started

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE bench_rules (n int PRIMARY KEY, tags jsonb) ON COMMIT DROP"
            )
            cursor.executemany(
                "INSERT INTO bench_rules VALUES (%s, %s::jsonb)",
                [(n, json.dumps(tags)) for n, tags in enumerate(tag_lists)],
            )
            cursor.execute(
                "CREATE TEMP TABLE bench_controls (n int PRIMARY KEY, framework text, "
                "control_id text) ON COMMIT DROP"
            )
            cursor.executemany(
                "INSERT INTO bench_controls VALUES (%s, %s, %s)",
                [(n, fw, cid) for n, (fw, cid) in enumerate(controls)],
            )
        # Where each synthetic entry goes in the ledger: the three kinds interleaved evenly over
        # time (kind 1 an artifact registration, 2 a decision, 3 a control link). Link i belongs to
        # artifact floor(i * a / l), which is registered at or before it.
        run(
            "plan",
            """
            CREATE TEMP TABLE bench_plan ON COMMIT DROP AS
            SELECT (%(base)s + row_number() OVER (ORDER BY pos, kind, idx))::bigint AS seq,
                   kind, idx
            FROM (
                SELECT 1 AS kind, i AS idx, i::float8 / %(a)s AS pos
                FROM generate_series(0, %(a)s - 1) i
                UNION ALL
                SELECT 2, i, i::float8 / %(n)s FROM generate_series(0, %(n)s - 1) i
                UNION ALL
                SELECT 3, i, i::float8 / %(l)s FROM generate_series(0, %(l)s - 1) i
            ) s
            """,
        )
        with connection.cursor() as cursor:
            cursor.execute("CREATE INDEX ON bench_plan (kind, idx)")
            cursor.execute("ANALYZE bench_plan")
        # Decisions: 5 % escalated, 25 % denied, 70 % allowed; tags of a demo-policy rule.
        run(
            "decisions",
            f"""
            INSERT INTO decisions_decision (
                id, idempotency_key, request_fingerprint, request_id, actor, action, resource,
                data_classes, ai_system, outcome, reason, reasons, controls, policy_version,
                risk_score, risk_level, risk_dimensions, capability_token, token_jti,
                token_expires_at, context, context_salt, context_commitment, ledger_seq,
                ledger_entry_hash, timestamp, created_at, agent_key_id, response_unconfirmed,
                retention_class)
            SELECT gen_random_uuid(), NULL, md5('fp' || p.idx) || md5('fq' || p.idx), '',
                   'ai_agent:bench_' || (p.idx %% 50),
                   (ARRAY{ACTIONS!r})[1 + (p.idx / 7) %% {len(ACTIONS)}], NULL, '[]', '',
                   CASE WHEN p.idx %% 20 = 0 THEN 'escalated'
                        WHEN p.idx %% 20 <= 5 THEN 'denied' ELSE 'allowed' END,
                   'synthetic decision', '[]', r.tags, %(policy)s,
                   (p.idx %% 100) / 100.0,
                   CASE WHEN p.idx %% 100 < 50 THEN 'low' WHEN p.idx %% 100 < 85 THEN 'medium'
                        ELSE 'high' END,
                   '{{}}', NULL, NULL, NULL, NULL, '', '', p.seq, {_hash("p.seq")},
                   {_timestamp("p.seq")},
                   %(start)s::timestamptz + (p.seq - %(base)s) * %(step)s::interval,
                   %(key_id)s, false, 'standard'
            FROM bench_plan p
            JOIN bench_rules r ON r.n = abs(hashint4(p.idx::int)) %% %(rules)s
            WHERE p.kind = 2
            """,  # noqa: S608
        )
        run(
            "artifacts",
            f"""
            INSERT INTO evidence_evidenceartifact (
                id, artifact_type, title, sha256, size_bytes, media_type, source, metadata,
                retention_days, retention_until, registered_by, ledger_seq, created_at,
                registered_by_key_id, retention_class)
            SELECT {ARTIFACT_ID.format(idx="p.idx")}, 'audit_trail', 'synthetic artifact ' || p.idx,
                   md5('sha-a' || p.idx) || md5('sha-b' || p.idx), 1000 + p.idx %% 100000,
                   'application/pdf', 'benchmark', '{{}}', 2555,
                   %(start)s::timestamptz + (p.seq - %(base)s) * %(step)s::interval
                       + interval '2555 days',
                   %(actor)s, p.seq,
                   %(start)s::timestamptz + (p.seq - %(base)s) * %(step)s::interval, %(key_id)s,
                   'standard'
            FROM bench_plan p WHERE p.kind = 1
            """,  # noqa: S608
        )
        # Link i: artifact floor(i * a / l), control (i * 7919) mod C over every assessable
        # control of every framework (the ten links of one artifact name ten different controls).
        run(
            "links",
            f"""
            INSERT INTO evidence_evidencecontrollink (
                artifact_id, framework, control_id, ledger_seq, created_at)
            SELECT {ARTIFACT_ID.format(idx="(p.idx::bigint * %(a)s / %(l)s)")}, c.framework,
                   c.control_id, p.seq,
                   %(start)s::timestamptz + (p.seq - %(base)s) * %(step)s::interval
            FROM bench_plan p
            JOIN bench_controls c ON c.n = (p.idx::bigint * 7919) %% %(controls)s
            WHERE p.kind = 3
            """,  # noqa: S608
        )
        run(
            "ledger",
            f"""
            INSERT INTO ledger_ledgerentry (
                seq, entry_type, timestamp, payload, prev_hash, entry_hash, leaf_hash)
            SELECT p.seq,
                   CASE p.kind WHEN 1 THEN 'evidence.registered' WHEN 2 THEN 'decision.made'
                               ELSE 'evidence.linked' END,
                   {_timestamp("p.seq")},
                   CASE p.kind
                     WHEN 1 THEN jsonb_build_object(
                         'artifact_id', {ARTIFACT_ID.format(idx="p.idx")}::text,
                         'control_ids', '[]'::jsonb, 'synthetic', true)::text
                     WHEN 2 THEN jsonb_build_object('synthetic', true, 'n', p.idx)::text
                     ELSE jsonb_build_object(
                         'artifact_id',
                         {ARTIFACT_ID.format(idx="(p.idx::bigint * %(a)s / %(l)s)")}::text,
                         'link', 'control', 'framework', c.framework,
                         'control_id', c.control_id)::text
                   END,
                   {_prev_hash("p.seq")}, {_hash("p.seq")},
                   decode({_hash("p.seq")}, 'hex')
            FROM bench_plan p
            LEFT JOIN bench_controls c
                   ON p.kind = 3 AND c.n = (p.idx::bigint * 7919) %% %(controls)s
            ORDER BY p.seq
            """,  # noqa: S608
        )
        # An escalation per escalated decision, due 24 h later: 5 % resolved after the deadline,
        # 5 % expired, the rest resolved in time; those not yet due are pending.
        run(
            "escalations",
            """
            INSERT INTO escalations_escalation (
                id, created_at, updated_at, status, resolution, priority, sla_deadline, reason,
                decision_id, escalated_by, note_commitment, note_salt, reason_commitment,
                reason_salt, resolution_note, resolved_at, resolved_by_id, created_ledger_seq)
            SELECT gen_random_uuid(), d.created_at, d.created_at,
                   CASE WHEN due > now() THEN 'pending'
                        WHEN d.ledger_seq %% 20 = 1 THEN 'expired' ELSE 'resolved' END,
                   CASE WHEN due > now() THEN ''
                        WHEN d.ledger_seq %% 20 = 1 THEN 'denied'
                        WHEN d.ledger_seq %% 20 = 0 THEN 'denied' ELSE 'approved' END,
                   'medium', due, 'synthetic escalation', d.id, 'policy', '', '', '', '', '',
                   CASE WHEN due > now() OR d.ledger_seq %% 20 = 1 THEN NULL
                        WHEN d.ledger_seq %% 20 = 0 THEN due + interval '2 hours'
                        ELSE d.created_at + interval '1 hour' END,
                   CASE WHEN due > now() OR d.ledger_seq %% 20 = 1 THEN NULL
                        ELSE %(reviewer)s END,
                   d.ledger_seq
            FROM (SELECT *, created_at + interval '24 hours' AS due FROM decisions_decision
                  WHERE outcome = 'escalated') d
            """,
        )
        last = head.seq + total
        ChainHead.objects.filter(pk=1).update(
            seq=last,
            entry_hash=_hex_hash(last),
        )
    # A recorded full verification (a recent, valid one), as the ledger.verify task would leave.
    from apps.ledger.models import VerificationRun

    VerificationRun.objects.create(
        started_at=now,
        finished_at=timezone.now(),
        valid=True,
        entries_checked=last + 1,
        trigger="benchmark (synthetic)",
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for table in (
            "decisions_decision",
            "ledger_ledgerentry",
            "evidence_evidenceartifact",
            "evidence_evidencecontrollink",
            "escalations_escalation",
        ):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
        cursor.execute("ANALYZE")  # the catalog tables too, as autovacuum would have by now
    timings["vacuum"] = time.perf_counter() - started
    return {"timings": timings, "last_seq": last, "total": total, "controls": len(controls)}


def _hex_hash(seq: int) -> str:
    import hashlib

    return (
        hashlib.md5(f"lexecon-bench-a{seq}".encode()).hexdigest()  # noqa: S324 - synthetic
        + hashlib.md5(f"lexecon-bench-b{seq}".encode()).hexdigest()  # noqa: S324
    )


# --- 4./5. Requests ------------------------------------------------------------------------------


class HttpClient:
    """One request per connection, as the stock sync worker serves them."""

    name = "gunicorn"

    def __init__(self, port: int, raw_key: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {raw_key}", "Host": "127.0.0.1"}

    def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str | None = None
    ) -> tuple[int, bytes]:
        headers = dict(self.headers)
        if content_type:
            headers["Content-Type"] = content_type
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()


class InProcessClient:
    """django's test Client: the same middleware and views, no server and no sockets."""

    name = "in-process (django test Client)"

    def __init__(self, raw_key: str) -> None:
        from django.test import Client

        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {raw_key}", HTTP_HOST="127.0.0.1")

    def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str | None = None
    ) -> tuple[int, bytes]:
        if method == "GET":
            response = self.client.get(path)
        else:
            response = self.client.generic(
                method, path, data=body or b"", content_type=content_type or ""
            )
        return response.status_code, b"".join(response) if response.streaming else response.content


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, int(-(-p * len(ordered) // 100)))
    return ordered[min(rank, len(ordered)) - 1]


def time_route(client: Any, path: str, count: int) -> dict[str, Any]:
    errors = 0
    size = 0
    for _ in range(WARMUP):
        client.request("GET", path)
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        status, body = client.request("GET", path)
        timings.append((time.perf_counter() - started) * 1000)
        if status != 200:
            errors += 1
            print(f"  {path}: {status} {body[:200]!r}")
        size = len(body)
    return {
        "p50": percentile(timings, 50),
        "p95": percentile(timings, 95),
        "p99": percentile(timings, 99),
        "errors": errors,
        "bytes": size,
    }


def multipart(fields: dict[str, str], content: bytes) -> tuple[bytes, str]:
    boundary = f"bench{uuid.uuid4().hex}"
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="bench.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
    )
    parts.append(content)
    parts.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def time_uploads(client: Any, count: int) -> dict[str, Any]:
    timings, errors = [], 0
    for number in range(count + WARMUP):
        body, content_type = multipart(
            {"artifact_type": "screenshot", "title": f"bench upload {number}"},
            os.urandom(UPLOAD_BYTES),
        )
        started = time.perf_counter()
        status, answer = client.request("POST", "/evidence/register", body, content_type)
        elapsed = (time.perf_counter() - started) * 1000
        if status != 201:
            errors += 1
            print(f"  /evidence/register: {status} {answer[:200]!r}")
        if number >= WARMUP:
            timings.append(elapsed)
    return {
        "p50": percentile(timings, 50),
        "p95": percentile(timings, 95),
        "p99": percentile(timings, 99),
        "errors": errors,
    }


# --- 6. Plans ------------------------------------------------------------------------------------

PLAN_KEEP = re.compile(r"Scan|Join|Loop|Aggregate|Sort|Limit|Result|LockRows|Execution Time")


def capture_statistics_queries(raw_key: str) -> tuple[int, list[str]]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw_key}", HTTP_HOST="127.0.0.1")
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/compliance/statistics")
    return response.status_code, [q["sql"] for q in captured.captured_queries]


def explain(queries: list[str], *, full: bool) -> tuple[list[str], list[str]]:
    """Print each query's plan; return the queries and the plans that mention decisions_decision."""
    from django.db import connection, transaction

    touching_sql, touching_plan = [], []
    for number, sql in enumerate(queries, 1):
        first = sql.lstrip().split(None, 1)[0].upper()
        short = re.sub(r"\s+", " ", sql)
        short = short if len(short) <= 150 else short[:147] + "..."
        if "decisions_decision" in sql:
            touching_sql.append(sql)
        if first not in ("SELECT", "WITH"):
            print(f"  [{number}] {short}\n      (not a SELECT: not explained)")
            continue
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
                plan = [row[0] for row in cursor.fetchall()]
            transaction.set_rollback(True)
        if any("decisions_decision" in line for line in plan):
            touching_plan.append(sql)
        print(f"  [{number}] {short}")
        shown = plan if full else [line for line in plan if PLAN_KEEP.search(line)]
        for line in shown:
            print(f"      {line.rstrip()}")
    return touching_sql, touching_plan


# --- main ----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def row(label: str, figures: dict[str, Any], target: float | None, key: str) -> str:
    verdict = "  [no target of its own]"
    if target is not None:
        verdict = (
            f"  [target {key} <= {target:.0f} ms: {'PASS' if figures[key] <= target else 'FAIL'}]"
        )
    return (
        f"{label:<36} p50 {figures['p50']:7.1f} ms  p95 {figures['p95']:7.1f} ms  "
        f"p99 {figures['p99']:7.1f} ms  errors {figures['errors']}{verdict}"
    )


def load() -> str:
    return "load average " + " ".join(f"{n:.2f}" for n in os.getloadavg())


def main() -> None:
    args = parse_args()
    # The embedded-default settings name a static root that benchmarks never collect.
    warnings.filterwarnings("ignore", message="No directory at")
    evidence_dir = tempfile.mkdtemp(prefix="lexecon-bench-evidence-")
    env = server_env(args.database, evidence_dir)
    server = None
    try:
        raw_key = prepare(args.database, env)
        from django.db import connection

        from apps.compliance import services
        from apps.compliance.models import ControlEvidence, EvidenceTally

        print(
            f"PostgreSQL {connection.cursor().connection.info.server_version}, "
            f"{os.cpu_count()} cores, Python {sys.version.split()[0]}; database {args.database}; "
            f"{load()}"
        )
        key_prefix = raw_key.split("_")[1]
        generated = generate(args.decisions, args.artifacts, args.links, key_prefix)
        t = generated["timings"]
        print(
            f"bulk data (setup, SQL): {args.decisions:,} decisions, {args.artifacts:,} artifacts, "
            f"{args.links:,} control links over {generated['controls']} controls, "
            f"{generated['total']:,} ledger entries (last seq {generated['last_seq']:,}); "
            + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in t.items())
        )

        # 3. The tally over everything.
        started = time.perf_counter()
        counted = services.tally_catch_up()
        elapsed = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) compliance_evidencetally")
            cursor.execute("VACUUM (ANALYZE) compliance_controlevidence")
        print(
            f"tally catch-up: {counted:,} entries in {elapsed:.1f} s = "
            f"{counted / elapsed:,.0f} entries/s; {EvidenceTally.objects.count():,} tally rows, "
            f"{ControlEvidence.objects.count():,} control-evidence rows"
        )
        connection.close()

        # 4. Reads.
        if args.in_process:
            client: Any = InProcessClient(raw_key)
        else:
            port = args.port or free_port()
            server = decide_load.start_server(None, args.workers, port, env)
            decide_load.wait_until_up(f"http://127.0.0.1:{port}")
            client = HttpClient(port, raw_key)
        served = (
            f"gunicorn.conf.py (stock sync worker), {args.workers} workers"
            if not args.in_process
            else client.name
        )
        print(
            f"\nreads: {served}; {args.requests} requests per route after {WARMUP} warm-up, "
            "one at a time"
            + (" (no server)" if args.in_process else ", a new connection each")
            + f"; {load()}"
        )
        results = {}
        for path, target in ROUTES:
            results[path] = figures = time_route(client, path, args.requests)
            print(row(f"GET {path}", figures, target, "p95") + f"  ({figures['bytes']:,} bytes)")

        # 5. Uploads.
        uploads = time_uploads(client, args.uploads)
        print(
            row(
                f"POST /evidence/register 1 MiB x{args.uploads}",
                uploads,
                UPLOAD_P50_TARGET_MS,
                "p50",
            )
        )

        # 6. Plans: the steady state (tally caught up) ...
        print(load())
        # The uploads' entries are counted first, as the compliance.tally task would.
        services.tally_catch_up()
        print("\nqueries of one GET /compliance/statistics (tally caught up), EXPLAIN ANALYZE:")
        status, queries = capture_statistics_queries(raw_key)
        touching_sql, touching_plan = explain(queries, full=args.full_plans)
        ok = not touching_sql and not touching_plan and status == 200
        print(
            f"  {len(queries)} queries, answer {status}; decisions_decision in a query: "
            f"{len(touching_sql)}, in a plan: {len(touching_plan)}  "
            f"[target: never read: {'PASS' if ok else 'FAIL'}]"
        )
        # ... and with new decisions the request's own catch-up counts (at most CATCH_UP entries).
        new = 5
        for _ in range(new):
            status, answer = client.request(
                "POST",
                "/decide",
                json.dumps(decide_load.DEMO).encode(),
                "application/json",
            )
            if status != 200:
                print(f"  /decide: {status} {answer[:200]!r}")
        status, queries = capture_statistics_queries(raw_key)
        touching = [sql for sql in queries if "decisions_decision" in sql]
        print(
            f"\nwith {new} new decisions not yet counted, the same request runs {len(queries)} "
            f"queries; those on decisions_decision (the catch-up reading the new decisions' tags "
            f"by ledger_seq):"
        )
        explain(touching, full=True)
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        shutil.rmtree(evidence_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
