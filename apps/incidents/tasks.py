"""Celery entry points of serious incidents: the periodic clock check and the warning e-mails."""

from __future__ import annotations

from celery import shared_task

from apps.incidents import services


@shared_task(name="incidents.check_clocks", acks_late=True)
def incident_check_clocks() -> dict[str, int]:
    """Beat (``incidents-clocks``): write and e-mail each deadline warning whose moment has come,
    once. Idempotent: a warning already written is never written or sent again."""
    return services.incident_check_clocks()


@shared_task(name="incidents.notify", acks_late=True)
def incident_notify(warning_id: int) -> int:
    """E-mail one deadline warning to its recipients."""
    return services.incident_warning_send(warning_id=warning_id)
