"""Periodic ledger work: checkpoints (every N entries via ``ledger_append``, and every few minutes)
and full verifications (on a schedule, or started from the dashboard with a job id whose progress
is kept in the cache: ``verify_job_state``)."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.core.cache import cache

from apps.core.db import longer_timeouts
from apps.ledger import selectors, services

#: How long the state of a started verification stays readable.
VERIFY_JOB_TTL = 3600


def _job_key(job: str) -> str:
    return f"ledger:verify:{job}"


def verify_job_state(job: str) -> dict[str, Any] | None:
    """``{"state": "queued"|"running"|"done"|"failed", "checked", "total", "run_id"}`` or None."""
    return cache.get(_job_key(job))


def verify_job_set(job: str, **state: Any) -> None:
    cache.set(_job_key(job), state, VERIFY_JOB_TTL)


@shared_task(name="ledger.checkpoint", acks_late=True)
def ledger_checkpoint() -> int | None:
    """Sign a checkpoint over every committed entry (idempotent: skips when nothing is new)."""
    checkpoint = services.ledger_checkpoint_create()
    return checkpoint.tree_size if checkpoint else None


@shared_task(name="ledger.verify", acks_late=True)
def ledger_verify(trigger: str = "schedule", job: str | None = None) -> bool:
    """Verify the whole ledger and record the run (read by compliance status and the dashboard).
    With ``job``, the entries checked so far and the result are kept under that id."""
    with longer_timeouts():  # reads the whole ledger in batches
        if job is None:
            run, _ = services.ledger_verify_recorded(trigger=trigger)
            return run.valid
        total = selectors.ledger_size()
        verify_job_set(job, state="running", checked=0, total=total, run_id=None)

        def progress(checked: int) -> None:
            verify_job_set(job, state="running", checked=checked, total=total, run_id=None)

        try:
            run, _ = services.ledger_verify_recorded(trigger=trigger, progress=progress)
        except Exception:
            verify_job_set(job, state="failed", checked=0, total=total, run_id=None)
            raise
        verify_job_set(job, state="done", checked=run.entries_checked, total=total, run_id=run.pk)
    return run.valid
