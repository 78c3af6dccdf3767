"""Load and activate policy versions; every change is a ledger entry in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from apps.core.exceptions import InvalidInput
from apps.ledger import events
from apps.ledger import services as ledger
from apps.ledger.entry_types import EntryType
from apps.policies import engine
from apps.policies.models import ActivePolicy, PolicyActivation, PolicyVersion
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


@transaction.atomic
def policy_activate(
    *, version: PolicyVersion, actor: dict[str, Any], request_id: str | None = None
) -> PolicyActivation | None:
    """Make ``version`` the active policy (a ledger entry); a no-op if it already is."""
    activated_by = actor["label"]
    current = ActivePolicy.objects.select_for_update().filter(pk=1).first()
    if current is not None and current.version_id == version.pk:
        return None
    previous = current.version if current is not None else None
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
        },
    )
    ActivePolicy.objects.update_or_create(
        pk=1, defaults={"version": version, "activated_by": activated_by}
    )
    activation = PolicyActivation.objects.create(
        version=version, previous=previous, activated_by=activated_by, ledger_seq=appended.seq
    )
    forget_active_cache()  # this process sees the change at once, other workers within the refresh
    transaction.on_commit(forget_active_cache)
    return activation
