"""Reads of the AI system registry, and the per-process set of registered ids that ``/decide``
checks ``ai_system`` against.

The registry is not secret per caller: whoever may read it (agent scope ``compliance:read``,
staff with ``view_dashboard``; checked by the API) reads every system.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, QuerySet

from apps.aisystems.models import AISystem, AISystemChange
from apps.core.exceptions import NotFound


def _with_history(queryset: QuerySet[AISystem]) -> QuerySet[AISystem]:
    return queryset.prefetch_related(
        Prefetch("changes", queryset=AISystemChange.objects.order_by("ledger_seq"))
    )


def ai_system_get(*, system_id: str) -> AISystem:
    """One system with its history; ``NotFound`` if no system has that id."""
    found = _with_history(AISystem.objects.filter(pk=system_id)).first()
    if found is None:
        raise NotFound("No AI system is registered with that id.", details={"id": system_id})
    return found


def ai_system_list(
    *, status: str | None = None, risk_class: str | None = None
) -> QuerySet[AISystem]:
    """Every registered system, by id, filtered by status and risk class."""
    queryset = AISystem.objects.order_by("id")
    if status:
        queryset = queryset.filter(status=status)
    if risk_class:
        queryset = queryset.filter(risk_class=risk_class)
    return _with_history(queryset)


def _stamp(value: Any) -> str:
    return value.isoformat().replace("+00:00", "Z")


def ai_system_as_dict(system: AISystem) -> dict[str, Any]:
    """The API representation: the registry fields and the ledger entries of its history."""
    return {
        "id": system.pk,
        "name": system.name,
        "version": system.version,
        "role": system.role,
        "intended_purpose": system.intended_purpose,
        "annex_iii_point": system.annex_iii_point or None,
        "art_6_3_exempt": system.art_6_3_exempt,
        "art_6_3_condition": system.art_6_3_condition or None,
        "art_6_3_reasoning": system.art_6_3_reasoning,
        "risk_class": system.risk_class,
        "owner": f"user:{system.owner_id}" if system.owner_id is not None else None,
        "status": system.status,
        "created_by": system.created_by,
        "created_at": _stamp(system.created_at),
        "updated_at": _stamp(system.updated_at),
        "ledger_entry_ids": [change.ledger_seq for change in system.changes.all()],
    }


# --- The registered ids, cached per process --------------------------------------------------------
#
# /decide asks "is this ai_system registered?" on every call that names one, and takes the system's
# risk class for the decision's retention class (apps.core.retention). Both come from one map of
# every registered id to its risk class, loaded in one query and kept for
# LEXECON_AI_SYSTEM_CACHE_SECONDS (0 disables the cache). A registration or change in this process
# forgets the map at once (and again when its transaction commits); other processes see it within
# the TTL. Suspended and retired systems stay registered: their decisions are linked to them as
# before.

_registered: tuple[dict[str, str], float] | None = None
# Bumped by every forget: a map loaded while a registration was being written is not kept.
_generation = 0
_lock = threading.Lock()


def forget_registered_ids() -> None:
    global _registered, _generation
    with _lock:
        _registered = None
        _generation += 1


def _registered_map() -> dict[str, str]:
    """Every registered system id → its risk class (cached for a short while, see above)."""
    global _registered
    ttl = float(settings.LEXECON_AI_SYSTEM_CACHE_SECONDS)
    cached = _registered
    now = time.monotonic()
    if ttl > 0 and cached is not None and cached[1] > now:
        return cached[0]
    generation = _generation
    found = dict(AISystem.objects.values_list("id", "risk_class"))
    if ttl > 0:
        with _lock:
            if generation == _generation:
                _registered = (found, now + ttl)
    return found


def registered_ids() -> frozenset[str]:
    """The ids of every registered system (cached for a short while, see above)."""
    return frozenset(_registered_map())


def ai_system_is_registered(system_id: str) -> bool:
    """Whether ``system_id`` names a registered system, whatever its status."""
    return system_id in _registered_map()


def registered_risk_class(system_id: str) -> str | None:
    """The risk class of a registered system (None: not registered), from the same cached map."""
    return _registered_map().get(system_id)
