"""Celery entry points of audit exports: run one export, and delete files past retention (beat,
``audit-purge``)."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import InterfaceError, OperationalError

from apps.audit import services

#: Errors worth another try: the database was unreachable or dropped the connection.
TRANSIENT = (OperationalError, InterfaceError)
MAX_RETRIES = 5


# acks_late: a worker killed mid-export leaves the message unacknowledged, so the broker hands it
# to another worker (CELERY_TASK_REJECT_ON_WORKER_LOST); the run is idempotent by export_id. The
# limits are above a 100,000-decision package and below the broker's visibility timeout (3,600 s).
@shared_task(
    name="audit.export_run",
    bind=True,
    acks_late=True,
    max_retries=MAX_RETRIES,
    soft_time_limit=3300,
    time_limit=3500,
)
def export_run(self: Any, export_id: str) -> str:
    """Produce one export's file and ledger entry (``services.export_run``). Transient database
    errors are retried with backoff; any other error is stored on the export as its reason and
    not retried (it would fail the same way)."""
    try:
        return services.export_run(export_id=export_id).status
    except TRANSIENT as exc:
        if self.request.retries >= MAX_RETRIES:
            services.export_mark_failed(
                export_id=export_id,
                error=f"The database stayed unavailable after {MAX_RETRIES} retries: {exc}",
            )
            return "failed"
        raise self.retry(exc=exc, countdown=min(2**self.request.retries, 60)) from exc
    except Exception as exc:  # noqa: BLE001 - final: every non-transient failure is stored, not retried
        services.export_mark_failed(export_id=export_id, error=services.readable_error(exc))
        return "failed"


@shared_task(name="audit.purge_expired", acks_late=True)
def purge_expired() -> dict[str, int]:
    """Beat (``audit-purge``): delete export files past ``LEXECON_EXPORT_RETENTION_DAYS``; the
    rows and their ``export.created`` ledger entries stay. Idempotent."""
    return services.export_files_purge()
