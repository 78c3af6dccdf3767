"""A worker killed mid-export: a real Celery worker (prefork, one pool process) on PostgreSQL and
Redis runs an export whose writer is slowed down; the test kills the pool process with SIGKILL
half-way. The task is ``acks_late`` and the worker rejects it when its process is lost, so the
broker delivers it again; the second run finishes, publishing one file and one ``export.created``
entry. Marked ``live``; runs in the PostgreSQL + Redis pass."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest
from django.db import connection

from apps.accounts import services as accounts
from apps.audit.models import Export
from apps.ledger import services as ledger
from apps.ledger.entry_types import EntryType
from apps.ledger.models import LedgerEntry
from lexecon_site.celery import app
from tests.ledger.conftest import ledger_transactional_db  # noqa: F401
from tests.live.conftest import ROOT, workers_of

pytestmark = pytest.mark.live


def _wait(condition, *, timeout: float, what: str, log) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    log.seek(0)
    pytest.fail(f"timed out waiting for {what}: " + log.read().decode()[-3000:])


@pytest.fixture
def worker(ledger_transactional_db, tmp_path):  # noqa: F811
    if connection.vendor != "postgresql":
        pytest.skip("the live export test runs on PostgreSQL")
    redis = os.environ.get("LEXECON_REDIS_URL", "")
    if not redis.startswith("redis://"):
        pytest.skip("needs Redis (the PostgreSQL + Redis pass)")
    db = connection.settings_dict
    exports = tmp_path / "exports"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "lexecon_site.settings.test",
        "LEXECON_DATABASE_URL": f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "LEXECON_REDIS_URL": redis,
        "LEXECON_CELERY_EAGER": "0",
        "LEXECON_EXPORT_DIR": str(exports),
        "LEXECON_TEST_EXPORT_ROW_DELAY": "0.015",
        "LEXECON_LOG_LEVEL": "WARNING",
    }
    app.control.purge()  # nothing left over from an earlier run of this test
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.live.audit_worker"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    _wait(lambda: len(workers_of(process.pid)) == 1, timeout=30, what="the worker", log=log)
    yield process, exports, log
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


# send_task goes to the broker whatever this process's eager setting: that is the point here.
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
def test_a_worker_killed_mid_export_is_redelivered_and_finishes(worker):
    process, exports, log = worker
    for n in range(300):
        ledger.ledger_append(entry_type="test.event", payload={"n": n})
    key = accounts.agent_key_create(name="regulator", scopes=["audit:export"]).key
    export = Export.objects.create(
        scope="ledger", format="json", requested_by=f"agent:{key.prefix}", requested_by_key=key
    )
    app.send_task("audit.export_run", args=[str(export.pk)])

    def progressed() -> bool:
        export.refresh_from_db()
        return export.status == "running" and export.progress >= 0.2

    _wait(progressed, timeout=60, what="the export to be under way", log=log)
    (child,) = workers_of(process.pid)
    os.kill(child, signal.SIGKILL)

    def finished() -> bool:
        export.refresh_from_db()
        return export.status in ("done", "failed")

    _wait(finished, timeout=90, what="the redelivered export to finish", log=log)
    assert export.status == "done", export.error
    assert export.attempts == 2
    published = exports / f"{export.pk}.json"
    assert sorted(p.name for p in exports.iterdir() if not p.name.endswith(".part")) == [
        published.name
    ]
    document = json.loads(published.read_bytes())
    assert len(document["records"]["ledger"]) == export.rows
    assert export.rows >= 300
    entries = LedgerEntry.objects.filter(entry_type=EntryType.EXPORT_CREATED)
    assert entries.count() == 1
    assert json.loads(entries.get().payload)["sha256"] == export.sha256
    assert process.poll() is None  # the worker itself lived on; only its pool process died
