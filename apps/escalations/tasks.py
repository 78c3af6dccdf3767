"""Celery entry points of human oversight: the periodic SLA check and e-mail notifications."""

from __future__ import annotations

from celery import shared_task

from apps.escalations import services


@shared_task(name="escalations.check_sla", acks_late=True)
def escalation_check_sla() -> dict[str, int]:
    """Every minute (beat): expire escalations past their SLA (fail closed), warn those nearly due.
    Idempotent: each escalation is re-checked under its row lock."""
    return services.escalation_check_sla()


@shared_task(name="escalations.notify", acks_late=True)
def escalation_notify(kind: str, escalation_id: str, user_ids: list[int]) -> int:
    """E-mail one oversight notification (assigned / warning / expired) to the given users."""
    return services.escalation_notification_send(
        kind=kind, escalation_id=escalation_id, user_ids=user_ids
    )
