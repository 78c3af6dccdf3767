"""Periodic dashboard work: keep the hourly roll-up caught up with the decisions."""

from celery import shared_task

from apps.dashboard import services


@shared_task(name="dashboard.rollup", acks_late=True)
def dashboard_rollup() -> int:
    """Count every decision past the roll-up's cursor (idempotent: the cursor moves with it)."""
    return services.rollup_catch_up()
