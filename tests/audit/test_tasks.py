"""The export task: idempotent by export id (a redelivered task makes one file and one ledger
entry), atomic publication, retries only for transient database errors, a readable error
otherwise, progress as it goes, and the retention beat task."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from apps.audit import formats, report, services, tasks
from apps.audit.models import Export
from apps.ledger.entry_types import EntryType
from apps.ledger.models import LedgerEntry
from lexecon_site.celery import app
from tests.audit.conftest import EXPORT

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_retry_wait(monkeypatch):
    monkeypatch.setattr(tasks, "RETRY_BASE_SECONDS", 0.0)


def _queued(client, body: dict, django_capture_on_commit_callbacks) -> Export:
    """Request an export without running its task (as if the broker had not delivered it yet)."""
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(EXPORT, body, format="json")
    assert response.status_code == 202
    return Export.objects.get(pk=response.json()["export_id"])


def _files(directory) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def _export_entries() -> list[dict]:
    return [
        json.loads(p)
        for p in LedgerEntry.objects.filter(entry_type=EntryType.EXPORT_CREATED).values_list(
            "payload", flat=True
        )
    ]


def test_a_task_delivered_twice_makes_one_file_and_one_entry(
    record, exporter, export_dir, django_capture_on_commit_callbacks
):
    export = _queued(
        exporter, {"scope": "all", "format": "json"}, django_capture_on_commit_callbacks
    )
    first = tasks.export_run.apply(args=[str(export.pk)])
    second = tasks.export_run.apply(args=[str(export.pk)])
    assert (first.get(), second.get()) == ("done", "done")
    export.refresh_from_db()
    assert export.attempts == 1  # the second delivery found it done and did nothing
    assert _files(export_dir) == [f"{export.pk}.json"]
    assert [e["export_id"] for e in _export_entries()] == [str(export.pk)]


def test_two_deliveries_racing_publish_one_file_and_one_entry(
    record, exporter, export_dir, django_capture_on_commit_callbacks, monkeypatch
):
    """The second delivery starts while the first is still writing (a broker redelivery after a
    visibility timeout): it finishes first; the first then finds the export done at its final
    lock and discards its own temporary file."""
    export = _queued(
        exporter, {"scope": "decisions", "format": "json"}, django_capture_on_commit_callbacks
    )
    real_write = formats.write_json
    calls = []

    def write_and_meanwhile_redeliver(out, sel, header, progress):
        calls.append(1)
        if len(calls) == 1:
            assert tasks.export_run.apply(args=[str(export.pk)]).get() == "done"
        return real_write(out, sel, header, progress)

    monkeypatch.setattr(formats, "write_json", write_and_meanwhile_redeliver)
    assert tasks.export_run.apply(args=[str(export.pk)]).get() == "done"
    export.refresh_from_db()
    assert export.attempts == 2
    assert len(calls) == 2
    assert _files(export_dir) == [f"{export.pk}.json"]  # no temporary file left behind
    entries = _export_entries()
    assert len(entries) == 1
    assert entries[0]["sha256"] == export.sha256


def test_a_failing_export_stores_a_readable_error_and_writes_nothing(
    record, exporter, export_dir, django_capture_on_commit_callbacks, monkeypatch
):
    def broken(context):
        raise RuntimeError("the PDF fonts are not installed")

    monkeypatch.setattr(report, "render_pdf", broken)
    entries = LedgerEntry.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = exporter.post(EXPORT, {"scope": "all", "format": "pdf"}, format="json")
    assert response.status_code == 202
    status = exporter.get(response.json()["status_url"]).json()
    assert status["status"] == "failed"
    assert status["error"] == "The export failed (RuntimeError): the PDF fonts are not installed"
    assert status["sha256"] is None
    assert LedgerEntry.objects.count() == entries
    assert _files(export_dir) == []  # the temporary file is removed too
    download = exporter.get(response.json()["download_url"])
    assert download.status_code == 409
    assert download.json()["error"]["details"]["error"] == status["error"]
    # Not retried: a second delivery leaves the failed export as it is.
    assert tasks.export_run.apply(args=[response.json()["export_id"]]).get() == "failed"
    assert Export.objects.get().attempts == 1


def test_a_transient_database_error_is_retried_and_the_export_finishes(
    record, exporter, export_dir, django_capture_on_commit_callbacks, monkeypatch
):
    export = _queued(
        exporter, {"scope": "overrides", "format": "csv"}, django_capture_on_commit_callbacks
    )
    real_run = services.export_run
    failures = []

    def flaky(*, export_id):
        if not failures:
            failures.append(export_id)
            raise OperationalError("server closed the connection unexpectedly")
        return real_run(export_id=export_id)

    monkeypatch.setattr(services, "export_run", flaky)
    assert tasks.export_run.apply(args=[str(export.pk)]).get() == "done"
    export.refresh_from_db()
    assert failures == [str(export.pk)]
    assert export.status == "done"
    assert export.error == ""
    assert len(_export_entries()) == 1


def test_a_database_that_stays_down_fails_the_export_after_the_retries(
    record, exporter, django_capture_on_commit_callbacks, monkeypatch
):
    export = _queued(
        exporter, {"scope": "overrides", "format": "csv"}, django_capture_on_commit_callbacks
    )
    attempts = []

    def down(*, export_id):
        attempts.append(export_id)
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(services, "export_run", down)
    assert tasks.export_run.apply(args=[str(export.pk)]).get() == "failed"
    export.refresh_from_db()
    assert len(attempts) == tasks.MAX_RETRIES + 1
    assert export.status == "failed"
    assert "database stayed unavailable" in export.error
    assert _export_entries() == []


def test_progress_rises_from_zero_to_one(
    record, exporter, django_capture_on_commit_callbacks, monkeypatch
):
    seen: list[float] = []
    real_set = services._Progress.set

    def recording(self, fraction):
        seen.append(fraction)
        real_set(self, fraction)

    monkeypatch.setattr(formats, "PROGRESS_EVERY", 1)
    monkeypatch.setattr(services._Progress, "set", recording)
    export = _queued(
        exporter, {"scope": "ledger", "format": "json"}, django_capture_on_commit_callbacks
    )
    tasks.export_run.apply(args=[str(export.pk)])
    export.refresh_from_db()
    assert export.progress == 1.0
    assert len(seen) > 5
    assert seen == sorted(seen)
    assert 0 < seen[0] < 0.5
    assert all(0 <= value <= 1 for value in seen)


def test_files_past_retention_are_deleted_and_the_entry_stays(
    record, exporter, run_export, export_dir
):
    export = run_export(exporter, {"scope": "decisions", "format": "json"})
    assert _files(export_dir) == [f"{export.pk}.json"]
    stale = export_dir / f".{export.pk}.deadbeef.part"  # left by a killed worker
    stale.write_bytes(b"partial")
    # Within the retention period (and for a partial file less than a day old) nothing happens.
    assert services.export_files_purge() == {"files_deleted": 0, "temporary_deleted": 0}
    later = timezone.now() + timedelta(days=settings.LEXECON_EXPORT_RETENTION_DAYS, minutes=1)
    assert services.export_files_purge(now=later) == {"files_deleted": 1, "temporary_deleted": 1}
    assert _files(export_dir) == []
    assert services.export_files_purge(now=later) == {"files_deleted": 0, "temporary_deleted": 0}
    gone = exporter.get(f"/audit/download/{export.pk}")
    assert gone.status_code == 410
    assert gone.json()["error"]["code"] == "export_gone"
    status = exporter.get(f"/audit/status/{export.pk}").json()
    assert status["file_deleted_at"] is not None
    assert LedgerEntry.objects.filter(seq=export.ledger_seq).exists()


def test_the_purge_is_a_registered_beat_task():
    entry = settings.CELERY_BEAT_SCHEDULE["audit-purge"]
    assert entry["task"] == "audit.purge_expired"
    assert entry["schedule"] == 3600.0
    assert app.tasks["audit.purge_expired"].name == tasks.purge_expired.name
    assert app.tasks["audit.export_run"].acks_late is True
