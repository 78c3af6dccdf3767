"""Periodic ledger work: checkpoints (every N entries via ``ledger_append``, and every few minutes)."""

from celery import shared_task

from apps.core.db import longer_timeouts
from apps.ledger import services


@shared_task(name="ledger.checkpoint", acks_late=True)
def ledger_checkpoint() -> int | None:
    """Sign a checkpoint over every committed entry (idempotent: skips when nothing is new)."""
    checkpoint = services.ledger_checkpoint_create()
    return checkpoint.tree_size if checkpoint else None


@shared_task(name="ledger.verify", acks_late=True)
def ledger_verify() -> bool:
    """Verify the whole ledger and record the run (read by compliance status and the dashboard)."""
    with longer_timeouts():  # reads the whole ledger in batches
        run, _ = services.ledger_verify_recorded(trigger="schedule")
    return run.valid
