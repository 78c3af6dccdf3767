"""Record-keeping end to end on PostgreSQL (the second pass of .ci/run): the database dump holds no
context of an anonymised decision and the chain still verifies, on the server and offline; a held
decision keeps its context; a sweep killed by SIGKILL is finished by the next run; ``/decide``
keeps answering while a sweep of 5,000 decisions runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, connections
from rest_framework.test import APIClient

from apps.accounts import services as accounts
from apps.decisions.models import Decision
from apps.escalations import services as oversight
from apps.escalations.models import Escalation
from apps.ledger import bundle
from apps.ledger import services as ledger
from apps.retention import services
from apps.retention.constants import HOLDS_LOCK, LOCK_CLASS, SWEEP_LOCK
from apps.retention.models import RetentionRun
from tests.conftest import load_demo_policy
from tests.escalations.conftest import JUSTIFICATION, NOTE, REFUND
from tests.factories import UserFactory
from tests.retention.conftest import FAR_FUTURE, decide, later, sweep_entries

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("retention_transactional_db")]

ROOT = Path(__file__).resolve().parents[2]


def agent() -> APIClient:
    client = APIClient()
    raw = accounts.agent_key_create(
        name=f"a{uuid.uuid4().hex[:6]}", scopes=["decide", "ledger:read"]
    ).raw_key
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def database_url() -> str:
    db = settings.DATABASES["default"]
    return f"postgresql://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def subprocess_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEXECON_")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "lexecon_site.settings.test",
            "LEXECON_DATABASE_URL": database_url(),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def dump() -> str:
    db = settings.DATABASES["default"]
    result = subprocess.run(
        [
            "pg_dump",
            "-h",
            db["HOST"] or "127.0.0.1",
            "-U",
            db["USER"] or "postgres",
            "--data-only",
            db["NAME"],
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout


def test_anonymisation_end_to_end(tmp_path):
    load_demo_policy()
    client = agent()
    officer = UserFactory(username="olga", role="compliance_officer")
    reviewer = UserFactory(username="rita", role="reviewer")
    answers = [decide(client) for _ in range(12)] + [
        decide(client, data_classes=["pii"]) for _ in range(4)
    ]
    # Oversight on one: a resolution note and an override justification, both people's words.
    escalated = decide(client, **REFUND)
    escalation = Escalation.objects.get(pk=escalated["escalation_id"])
    oversight.escalation_assign(escalation_id=escalation.pk, user=officer, reviewer_username="rita")
    oversight.escalation_acknowledge(escalation_id=escalation.pk, user=reviewer)
    oversight.escalation_resolve(
        escalation_id=escalation.pk, user=reviewer, resolution="approved", note=NOTE
    )
    oversight.override_execute(
        decision=escalation.decision,
        user=officer,
        override_type="executive_override",
        outcome="denied",
        justification=JUSTIFICATION,
    )
    held = decide(client)
    services.legal_hold_place(
        user=officer,
        scope=services.HoldScope(scope="decision_ids", decision_ids=(held["decision_id"],)),
        reason="Kept for litigation 2026-17.",
        requested_by="Legal department",
    )
    markers = {
        a["decision_id"]: Decision.objects.get(pk=a["decision_id"]).context["customer_email"]
        for a in [*answers, escalated, held]
    }
    before = dump()
    assert all(marker in before for marker in markers.values())
    assert NOTE in before
    assert JUSTIFICATION in before

    result = services.retention_sweep(as_of=later(FAR_FUTURE.days))
    assert result.decisions_anonymised == 17
    assert result.decisions_held == 1
    ledger.ledger_checkpoint_create()

    after = dump()
    for decision_id, marker in markers.items():
        assert (marker in after) is (decision_id == held["decision_id"]), decision_id
    assert NOTE not in after
    assert JUSTIFICATION not in after
    salts = Decision.objects.exclude(pk=held["decision_id"]).exclude(context_salt="").count()
    assert salts == 0

    verify = client.get("/ledger/verify")
    assert verify.status_code == 200
    assert verify.json()["valid"] is True
    counts = bundle.bundle_write(tmp_path)
    offline = subprocess.run(
        [sys.executable, str(tmp_path / "verify_bundle.py"), str(tmp_path), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert offline.returncode == 0, offline.stdout + offline.stderr
    report = json.loads(offline.stdout)
    assert report["valid"] is True
    assert report["checkpoint_size"] == counts["entries"]


def test_a_sweep_killed_by_sigkill_is_finished_by_the_next_run():
    """The command runs in its own process and prints each committed batch. After the first,
    this test takes the holds lock exclusively, so the process's next batch waits for it; the
    process is then killed (SIGKILL) mid-run. The next run finds the dead run, marks it
    interrupted and finishes; exactly one ``retention.sweep_completed`` entry exists."""
    load_demo_policy()
    client = agent()
    ids = {decide(client)["decision_id"] for _ in range(120)}
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "retention_sweep",
            "--as-of",
            "2040-01-01",
            "--batch-size",
            "3",
            "-v",
            "2",
        ],
        cwd=ROOT,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = process.stdout.readline()
        assert first.startswith("batch:"), first + process.stderr.read()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_CLASS, HOLDS_LOCK])
        try:
            time.sleep(0.3)  # the process reaches its next batch and waits on the lock
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, HOLDS_LOCK])
    finally:
        if process.poll() is None:
            process.kill()
        process.stdout.close()
        process.stderr.close()
    killed = RetentionRun.objects.get()
    assert killed.status == "running"
    assert killed.ledger_seq is None
    done_by_killed = killed.decisions_anonymised
    assert 3 <= done_by_killed < 120
    assert Decision.objects.filter(anonymised_at__isnull=False).count() == done_by_killed
    assert sweep_entries() == []

    # PostgreSQL freed the dead process's sweep lock with its connection: the rerun proceeds.
    for _ in range(50):
        rerun = services.retention_sweep(as_of=later(FAR_FUTURE.days), batch_size=7)
        if not rerun.skipped:
            break
        time.sleep(0.1)
    assert rerun.decisions_anonymised == 120 - done_by_killed
    assert rerun.resumed == [
        {"run_id": str(killed.pk), "decisions_anonymised": done_by_killed, "artifacts_expired": 0}
    ]
    killed.refresh_from_db()
    assert killed.status == "interrupted"
    assert {
        str(pk) for pk in Decision.objects.filter(context__isnull=True).values_list("pk", flat=True)
    } == ids
    (payload,) = sweep_entries()
    assert payload["run_id"] == rerun.run_id
    assert client.get("/ledger/verify").json()["valid"] is True


def test_one_run_at_a_time():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_CLASS, SWEEP_LOCK])
    try:
        # This connection holds the run lock as a running sweep would; a sweep started from
        # another connection (a thread) does nothing.
        outcome = {}

        def other() -> None:
            try:
                outcome["result"] = services.retention_sweep()
            finally:
                connections.close_all()

        thread = threading.Thread(target=other)
        thread.start()
        thread.join(30)
        assert outcome["result"].skipped is True
        assert RetentionRun.objects.count() == 0
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, SWEEP_LOCK])


def _bulk_decisions(count: int) -> None:
    """Decisions written straight to the table (no ledger entries: the chain is another test's
    subject), each with a context and its salt, as /decide leaves them."""
    rows = []
    for index in range(count):
        rows.append(
            Decision(
                request_fingerprint="f" * 64,
                actor="ai_agent:bulk",
                action="read_ticket",
                outcome="allowed",
                reason="bulk",
                risk_score=10.0,
                risk_level="low",
                context={"customer_email": f"bulk-{index}@example.org"},
                context_salt="ab" * 16,
                context_commitment="c" * 64,
                ledger_seq=10**12 + index,
                ledger_entry_hash="0" * 64,
                timestamp="2026-01-01T00:00:00Z",
            )
        )
    Decision.objects.bulk_create(rows, batch_size=1000)


def test_decide_keeps_answering_during_a_sweep_of_5000_decisions():
    load_demo_policy()
    client = agent()
    _bulk_decisions(5000)
    decide(client)  # warm caches
    stop = threading.Event()
    answers: list[tuple[float, float, int]] = []

    def keep_deciding() -> None:
        caller = client
        try:
            while not stop.is_set():
                started = time.monotonic()
                response = caller.post(
                    "/decide",
                    {
                        "actor": "ai_agent:customer_service",
                        "action": "read_ticket",
                        "context": {"n": 1},
                    },
                    format="json",
                )
                answers.append((started, time.monotonic(), response.status_code))
        finally:
            connections.close_all()

    thread = threading.Thread(target=keep_deciding)
    thread.start()
    try:
        time.sleep(0.2)
        began = time.monotonic()
        result = services.retention_sweep(as_of=later(FAR_FUTURE.days), batch_size=100)
        ended = time.monotonic()
    finally:
        stop.set()
        thread.join(60)
    assert result.decisions_anonymised >= 5000
    assert Decision.objects.filter(actor="ai_agent:bulk", context__isnull=False).count() == 0
    during = [a for a in answers if a[0] >= began and a[1] <= ended]
    assert {status for _, _, status in answers} == {200}
    assert len(during) >= 3, (len(answers), ended - began)
    assert max(end - start for start, end, _ in during) < 5.0
    assert ended - began < 20.0
