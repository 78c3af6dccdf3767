"""Periodic compliance work: keep the evidence tally caught up with the ledger."""

from celery import shared_task

from apps.compliance import services


@shared_task(name="compliance.tally", acks_late=True)
def compliance_tally() -> int:
    """Count every ledger entry past the tally's cursor (idempotent: the cursor moves with it)."""
    return services.tally_catch_up()
