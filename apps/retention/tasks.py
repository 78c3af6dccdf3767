"""Celery entry point of record-keeping: the daily retention sweep (beat,
``compliance-retention-sweep``)."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from apps.core.db import longer_timeouts
from apps.retention import services


# Longer than the default task limits (a large backlog takes minutes), shorter than the broker's
# visibility timeout (3,600 s), so a running sweep is never handed to a second worker; the sweep
# itself stops at LEXECON_RETENTION_SWEEP_MAX_SECONDS and completes its run before that.
@shared_task(
    name="compliance.retention_sweep", acks_late=True, soft_time_limit=3300, time_limit=3500
)
def retention_sweep() -> dict[str, Any]:
    """Anonymise the decisions past their retention class and not under a legal hold, expire the
    evidence past its retention, and ledger the run (``retention.sweep_completed``). Idempotent
    and resumable: a run killed half-way is finished by the next one. IRREVERSIBLE (see
    ``apps.retention.services``)."""
    limit = float(settings.LEXECON_RETENTION_SWEEP_MAX_SECONDS)
    with longer_timeouts():  # batches of a large backlog may take longer than a request
        return services.retention_sweep(trigger="task", max_seconds=limit or None).as_dict()
