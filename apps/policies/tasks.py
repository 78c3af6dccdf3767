"""Celery entry point of policy simulation (ADR 0030)."""

from __future__ import annotations

from functools import partial

from celery import shared_task
from django.db import transaction

from apps.decisions import simulation
from apps.policies import services


@shared_task(name="policies.simulate", acks_late=True)
def policy_simulate(simulation_id: str) -> dict[str, int | str]:
    """Replay the decisions of one pending simulation and store its result. Idempotent: a run
    already done is returned as it is."""
    try:
        run = simulation.simulation_run(simulation_id=simulation_id)
    except Exception as exc:
        services.simulation_fail(simulation_id=simulation_id, error=f"{type(exc).__name__}: {exc}")
        raise
    return {"simulation_id": str(run.pk), "status": run.status}


def simulation_enqueue(simulation_id: str) -> None:
    """Start the task once the transaction that recorded the run has committed."""
    transaction.on_commit(partial(policy_simulate.delay, simulation_id))
