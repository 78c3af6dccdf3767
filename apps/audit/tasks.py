"""Celery entry points of audit exports: run one export, and delete files past retention (beat,
``audit-purge``)."""

from __future__ import annotations

import time
from typing import Any

from celery import shared_task
from django.db import InterfaceError, OperationalError

from apps.audit import services

#: Errors worth another try: the database was unreachable or dropped the connection.
TRANSIENT = (OperationalError, InterfaceError)
MAX_RETRIES = 5
#: The first retry waits this long; each next one twice as long (at most a minute).
RETRY_BASE_SECONDS = 1.0


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
    errors are retried with backoff (by the broker in a worker, in place when eager); any other
    error is stored on the export as its reason and not retried (it would fail the same way)."""
    eager_retries = 0
    while True:
        try:
            return services.export_run(export_id=export_id).status
        except TRANSIENT as exc:
            retries = eager_retries if self.request.is_eager else self.request.retries
            if retries >= MAX_RETRIES:
                services.export_mark_failed(
                    export_id=export_id,
                    error=f"The database stayed unavailable after {MAX_RETRIES} retries: {exc}",
                )
                return "failed"
            delay = min(RETRY_BASE_SECONDS * 2**retries, 60.0)
            if not self.request.is_eager:
                raise self.retry(exc=exc, countdown=delay) from exc
            # Eager (the embedded default): no broker to hand the retry to; wait and try again.
            eager_retries += 1
            time.sleep(delay)
        except Exception as exc:  # noqa: BLE001 - final: every other failure is stored, not retried
            services.export_mark_failed(export_id=export_id, error=services.readable_error(exc))
            return "failed"


@shared_task(name="audit.purge_expired", acks_late=True)
def purge_expired() -> dict[str, int]:
    """Beat (``audit-purge``): delete export files past ``LEXECON_EXPORT_RETENTION_DAYS``; the
    rows and their ``export.created`` ledger entries stay. Idempotent."""
    return services.export_files_purge()
