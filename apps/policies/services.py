"""Load and activate policy versions; every change is a ledger entry in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.exceptions import InvalidInput
from apps.core.logging import request_id_var
from apps.ledger import events
from apps.ledger import services as ledger
from apps.ledger.entry_types import EntryType
from apps.policies import engine
from apps.policies.models import ActivePolicy, PolicyActivation, PolicySimulation, PolicyVersion
from apps.policies.selectors import forget_active_cache


@dataclass(frozen=True)
class LoadedPolicy:
    version: PolicyVersion
    created: bool
    active: bool


def _parse(document: Any) -> engine.Policy:
    if not isinstance(document, dict):
        raise InvalidInput(
            "The policy must be a JSON object.",
            details={"errors": [{"path": "policy", "message": "expected an object"}]},
        )
    try:
        return engine.parse_policy(document)
    except engine.PolicyValidationError as exc:
        raise InvalidInput(
            f"The policy has {len(exc.errors)} error(s).", details={"errors": exc.errors}
        ) from exc


def policy_load(
    *, document: Any, actor: dict[str, Any], activate: bool = False, request_id: str | None = None
) -> LoadedPolicy:
    """Validate, normalise and store a policy version (idempotent by hash); optionally activate it.

    ``actor`` is the ledger envelope's actor (``apps.accounts.principals.actor_of``)."""
    loaded_by = actor["label"]
    policy = _parse(document)
    version_hash = engine.policy_hash(policy)
    created = False
    with transaction.atomic():
        version = PolicyVersion.objects.filter(version_hash=version_hash).first()
        if version is None:
            normalised = policy.to_document()
            appended = ledger.ledger_append(
                entry_type=EntryType.POLICY_LOADED,
                payload={
                    **events.envelope(
                        actor=actor,
                        subject_type="policy_version",
                        subject_id=version_hash,
                        request_id=request_id,
                    ),
                    "version_hash": version_hash,
                    "name": policy.name,
                    "version": policy.version,
                    "mode": policy.mode,
                    "relations": len(policy.relations),
                },
            )
            try:
                with transaction.atomic():
                    version = PolicyVersion.objects.create(
                        version_hash=version_hash,
                        name=policy.name,
                        version=policy.version,
                        mode=policy.mode,
                        dialect=engine.detect_dialect(document),
                        document=normalised,
                        source=document,
                        relation_count=len(policy.relations),
                        loaded_by=loaded_by,
                        ledger_seq=appended.seq,
                    )
                created = True
            except IntegrityError as exc:  # loaded concurrently by someone else a moment ago
                raise InvalidInput("This policy version was just loaded; retry.") from exc
        if activate:
            policy_activate(version=version, actor=actor, request_id=request_id)
    return LoadedPolicy(version, created, _is_active(version))


def _is_active(version: PolicyVersion) -> bool:
    return ActivePolicy.objects.filter(pk=1, version=version).exists()


MAX_REASON_LENGTH = 2000


@transaction.atomic
def policy_activate(
    *,
    version: PolicyVersion,
    actor: dict[str, Any],
    request_id: str | None = None,
    reason: str | None = None,
) -> PolicyActivation | None:
    """Make ``version`` the active policy (a ledger entry); a no-op if it already is.

    ``reason`` (required by the staff page, optional over the API) is a person's words: it is kept
    on the activation row, and the ledger entry carries only its salted commitment."""
    activated_by = actor["label"]
    if reason is not None:
        reason = reason.strip()
        if not reason or len(reason) > MAX_REASON_LENGTH or "\x00" in reason:
            raise InvalidInput(
                f"The reason must be 1 to {MAX_REASON_LENGTH} characters.",
                details={"errors": [{"path": "reason", "message": "required, not blank"}]},
            )
    current = ActivePolicy.objects.select_for_update().filter(pk=1).first()
    if current is not None and current.version_id == version.pk:
        return None
    previous = current.version if current is not None else None
    commitment, salt = ledger.commit_personal(reason) if reason else (None, "")
    appended = ledger.ledger_append(
        entry_type=EntryType.POLICY_ACTIVATED,
        payload={
            **events.envelope(
                actor=actor,
                subject_type="policy_version",
                subject_id=version.version_hash,
                request_id=request_id,
            ),
            "version_hash": version.version_hash,
            "previous_hash": previous.version_hash if previous else None,
            "name": version.name,
            "version": version.version,
            **({"reason_commitment": commitment} if commitment else {}),
        },
    )
    ActivePolicy.objects.update_or_create(
        pk=1, defaults={"version": version, "activated_by": activated_by}
    )
    activation = PolicyActivation.objects.create(
        version=version,
        previous=previous,
        activated_by=activated_by,
        ledger_seq=appended.seq,
        reason=reason or "",
        reason_salt=salt,
    )
    forget_active_cache()  # this process sees the change at once, other workers within the refresh
    transaction.on_commit(forget_active_cache)
    return activation


# --- Simulation (ADR 0030) ------------------------------------------------------------------------

SIMULATION_DEFAULT = 1_000
SIMULATION_MAX = 100_000


def simulation_request(
    *, version: PolicyVersion, requested: int, actor: dict[str, Any]
) -> PolicySimulation:
    """Record a simulation to run (``pending``); the caller enqueues the task after commit.

    Writes no ledger entry: only the finished summary is ledgered (``simulation_finish``)."""
    if (
        isinstance(requested, bool)
        or not isinstance(requested, int)
        or not 1 <= requested <= SIMULATION_MAX
    ):
        raise InvalidInput(
            f"The number of decisions to replay must be 1 to {SIMULATION_MAX:,}.",
            details={"errors": [{"path": "limit", "message": f"1 to {SIMULATION_MAX}"}]},
        )
    active = ActivePolicy.objects.select_related("version").filter(pk=1).first()
    simulation = PolicySimulation(
        version=version,
        baseline=active.version if active else None,
        requested=requested,
        requested_by=actor["label"],
        actor=actor,
        request_id="" if request_id_var.get() == "-" else request_id_var.get(),
    )
    simulation.full_clean()
    simulation.save()
    return simulation


def simulation_start(*, simulation: PolicySimulation, total: int) -> None:
    """Mark the run as started over ``total`` decisions."""
    simulation.status = PolicySimulation.Status.RUNNING
    simulation.total = total
    simulation.processed = 0
    simulation.started_at = timezone.now()
    simulation.save(update_fields=["status", "total", "processed", "started_at", "updated_at"])


def simulation_progress(*, simulation: PolicySimulation, processed: int) -> None:
    """Record how many decisions were replayed so far (read by the status page and API)."""
    simulation.processed = processed
    simulation.save(update_fields=["processed", "updated_at"])


@transaction.atomic
def simulation_finish(*, simulation: PolicySimulation, result: dict[str, Any]) -> PolicySimulation:
    """Store the result and append the one ``policy.simulated`` summary entry, together; the
    entry's actor is whoever asked for the simulation."""
    flips = {key: count for key, count in sorted(result["flips"].items()) if count}
    appended = ledger.ledger_append(
        entry_type=EntryType.POLICY_SIMULATED,
        payload={
            **events.envelope(
                actor=simulation.actor,
                subject_type="policy_version",
                subject_id=simulation.version.version_hash,
                request_id=simulation.request_id or None,
            ),
            "simulation_id": str(simulation.pk),
            "version_hash": simulation.version.version_hash,
            "baseline_hash": simulation.baseline.version_hash if simulation.baseline else None,
            "requested": simulation.requested,
            "replayed": result["replayed"],
            "skipped_erased": result["skipped_erased"],
            "flipped": result["flipped"],
            "flips": flips,
        },
    )
    simulation.status = PolicySimulation.Status.DONE
    simulation.result = result
    simulation.processed = result["replayed"] + result["skipped_erased"]
    simulation.finished_at = timezone.now()
    simulation.ledger_seq = appended.seq
    simulation.save(
        update_fields=[
            "status",
            "result",
            "processed",
            "finished_at",
            "ledger_seq",
            "updated_at",
        ]
    )
    return simulation


def simulation_fail(*, simulation_id: Any, error: str) -> None:
    """Mark a run failed (the task's failure path); no ledger entry."""
    PolicySimulation.objects.filter(pk=simulation_id).exclude(
        status=PolicySimulation.Status.DONE
    ).update(
        status=PolicySimulation.Status.FAILED,
        error=error[:2000],
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
