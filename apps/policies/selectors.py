"""Reads: versions, the active version, and the compiled engine cached per process by version hash.

Every worker re-reads the one-row active pointer at most every ``LEXECON_POLICY_REFRESH_SECONDS``
(default 1 s), so an activation reaches all workers without a restart; the compiled index of a version
is built once per process and kept (versions are immutable).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from django.conf import settings

from apps.core.exceptions import NotFound, ServiceUnavailable
from apps.policies import engine
from apps.policies.models import ActivePolicy, PolicyActivation, PolicySimulation, PolicyVersion

_compiled: dict[str, engine.CompiledPolicy] = {}
_active: dict[str, Any] = {"hash": None, "checked": 0.0}


def forget_active_cache() -> None:
    _active.update(hash=None, checked=0.0)


def compiled_for(version: PolicyVersion) -> engine.CompiledPolicy:
    compiled = _compiled.get(version.version_hash)
    if compiled is None:
        policy = engine.parse_policy(version.document)
        compiled = engine.compile_policy(policy, version.version_hash)
        if engine.policy_hash(policy) != version.version_hash:
            raise ServiceUnavailable("A stored policy version no longer matches its hash.")
        _compiled[version.version_hash] = compiled
    return compiled


def active_version_hash() -> str | None:
    now = time.monotonic()
    if now - _active["checked"] >= settings.LEXECON_POLICY_REFRESH_SECONDS:
        _active["hash"] = (
            ActivePolicy.objects.filter(pk=1)
            .values_list("version__version_hash", flat=True)
            .first()
        )
        _active["checked"] = now
    return _active["hash"]


def active_compiled() -> engine.CompiledPolicy | None:
    """The compiled active policy, or None when no policy was ever activated."""
    version_hash = active_version_hash()
    if version_hash is None:
        return None
    compiled = _compiled.get(version_hash)
    if compiled is None:
        compiled = compiled_for(PolicyVersion.objects.get(version_hash=version_hash))
    return compiled


def version_get(*, identifier: str) -> PolicyVersion:
    """By UUID or by version hash."""
    queryset = PolicyVersion.objects.all()
    version = None
    if len(identifier) == 64:
        version = queryset.filter(version_hash=identifier.lower()).first()
    else:
        try:
            version = queryset.filter(pk=uuid.UUID(identifier)).first()
        except ValueError:
            version = None
    if version is None:
        raise NotFound(f"No policy version {identifier!r}.")
    return version


def versions_list() -> list[PolicyVersion]:
    return list(PolicyVersion.objects.order_by("-created_at"))


def versions_count() -> int:
    return PolicyVersion.objects.count()


def active_version() -> PolicyVersion | None:
    row = ActivePolicy.objects.select_related("version").filter(pk=1).first()
    return row.version if row else None


def activations_list() -> list[PolicyActivation]:
    """Every activation, newest first, with both versions (the staff page's history)."""
    return list(PolicyActivation.objects.select_related("version", "previous"))


def simulation_get(*, identifier: str) -> PolicySimulation:
    """A simulation run by its UUID (404 otherwise)."""
    try:
        key = uuid.UUID(identifier)
    except ValueError:
        key = None
    simulation = (
        PolicySimulation.objects.select_related("version", "baseline").filter(pk=key).first()
        if key
        else None
    )
    if simulation is None:
        raise NotFound(f"No policy simulation {identifier!r}.")
    return simulation


def simulations_list(*, version: PolicyVersion | None = None, limit: int = 20) -> list:
    """The latest simulation runs (of one version, or of any)."""
    queryset = PolicySimulation.objects.select_related("version", "baseline")
    if version is not None:
        queryset = queryset.filter(version=version)
    return list(queryset[:limit])
