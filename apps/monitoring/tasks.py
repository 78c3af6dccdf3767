"""Celery entry points of EU AI Act monitoring: the periodic Art. 72 check and the alert e-mail."""

from __future__ import annotations

from celery import shared_task

from apps.monitoring import services


@shared_task(name="monitoring.pmm_check", acks_late=True)
def pmm_check() -> dict[str, int]:
    """Periodically (beat, ``LEXECON_PMM_CHECK_INTERVAL_SECONDS``): evaluate every live
    post-market monitoring plan; fire and clear drift alerts. Idempotent per complete window."""
    result = services.pmm_check()
    return {"plans": result.plans, "fired": result.fired, "cleared": result.cleared}


@shared_task(name="monitoring.drift_alert_mail", acks_late=True)
def drift_alert_mail(alert_id: str) -> int:
    """E-mail one fired drift alert to the system's and the plan's owners (after its commit)."""
    return services.drift_alert_mail_send(alert_id=alert_id)
