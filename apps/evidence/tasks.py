"""Celery entry point of evidence retention: the periodic expiry (beat, ``evidence-expire``)."""

from __future__ import annotations

from celery import shared_task

from apps.core.db import longer_timeouts
from apps.evidence import services


@shared_task(name="evidence.expire", acks_late=True)
def evidence_expire() -> dict[str, int]:
    """Expire the artifacts whose retention has ended: row marked, ``evidence.expired`` entry,
    bytes deleted unless another unexpired artifact shares them. Idempotent: a second run finds
    nothing due and writes nothing."""
    with longer_timeouts():  # a sweep over every artifact due
        result = services.evidence_expire_due()
    return {"expired": result.expired, "bytes_deleted": result.bytes_deleted, "held": result.held}
