"""What a legal hold covers: one predicate, in SQL (``Q`` over decisions) and in Python.

A hold covers a decision when

- ``ai_system``: the decision names that AI system,
- ``actor``: the decision's ``actor`` (the one on its ``decision.made`` entry) is that actor,
- ``decision_ids``: it is one of the named decisions,
- ``time_range``: it was made in the period,

and, for ``ai_system`` and ``actor`` holds with a period, it was made in that period (bounds
included). A hold on a decision also holds its oversight texts and the evidence linked to it; an
artifact is held too when a ``time_range`` hold's period contains its registration, or an
``ai_system`` hold names the system of its ``metadata.ai_system`` (within the period, if any).

Besides the holds people place (``LegalHold`` rows), apps above retention may keep records by a
rule of their own: an open serious incident keeps its decisions and evidence (apps.incidents).
Such an app registers a *hold source* (``register_hold_source``) that answers the holds it
implies right now as ``DerivedHold`` values of scope ``decision_ids`` (plus, optionally, artifact
ids); ``holds_in_force`` is every placed hold and every derived one, and every predicate here
treats both alike. A derived hold has no row and no ledger entry of its own: the record that
implies it (the incident and its ``incident.opened`` entry) is the reason, and it ends by itself
when that record's state changes (the incident is closed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Q

from apps.evidence.models import EvidenceDecisionLink
from apps.retention.constants import HOLDS_LOCK, LOCK_CLASS
from apps.retention.models import LegalHold, Scope


def lock_holds(*, exclusive: bool) -> None:
    """Hold, until the current transaction ends, the lock between holds and erasures: exclusive
    to place or release a hold, shared to erase what no hold covers. PostgreSQL: an advisory
    lock. SQLite: nothing to do, every transaction starts with ``BEGIN IMMEDIATE`` and so
    already holds the database's one write lock."""
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", [LOCK_CLASS, HOLDS_LOCK])


def active_holds() -> list[LegalHold]:
    """Every hold in force (not released), oldest first."""
    return list(LegalHold.objects.filter(released_at__isnull=True).order_by("placed_at", "id"))


@dataclass(frozen=True)
class DerivedHold:
    """A hold implied by another app's record (see the module docstring): the fields the
    predicates read, with the scope always ``decision_ids``."""

    source: str
    source_id: str
    reason: str
    decision_ids: tuple[str, ...] = ()
    artifact_ids: tuple[str, ...] = ()
    scope: str = Scope.DECISION_IDS
    ai_system: str = ""
    actor: str = ""
    period_from: datetime | None = None
    period_to: datetime | None = None


#: Hold sources by name: each answers the holds its records imply now.
hold_sources: dict[str, Callable[[], Sequence[DerivedHold]]] = {}


def register_hold_source(name: str, source: Callable[[], Sequence[DerivedHold]]) -> None:
    """Register (or replace) a hold source; call it from the owning app's ``AppConfig.ready``."""
    hold_sources[name] = source


def derived_holds() -> list[DerivedHold]:
    return [hold for source in hold_sources.values() for hold in source()]


def holds_in_force() -> list[LegalHold | DerivedHold]:
    """Every hold that keeps records now: the placed ones in force, then the derived ones."""
    return [*active_holds(), *derived_holds()]


def _in_period(hold: Any, field: str) -> Q:
    bounds = Q()
    if hold.period_from is not None:
        bounds &= Q(**{f"{field}__gte": hold.period_from})
    if hold.period_to is not None:
        bounds &= Q(**{f"{field}__lte": hold.period_to})
    return bounds


def decisions_q(holds: Iterable[Any], prefix: str = "") -> Q | None:
    """A ``Q`` over decisions (fields under ``prefix``, e.g. ``"decision__"``) matching every
    decision one of ``holds`` covers; None when there are no holds."""
    parts: list[Q] = []
    ids: list[str] = []
    for hold in holds:
        if hold.scope == Scope.DECISION_IDS:
            ids.extend(hold.decision_ids)
        elif hold.scope == Scope.AI_SYSTEM:
            parts.append(
                Q(**{f"{prefix}ai_system": hold.ai_system})
                & _in_period(hold, f"{prefix}created_at")
            )
        elif hold.scope == Scope.ACTOR:
            parts.append(
                Q(**{f"{prefix}actor": hold.actor}) & _in_period(hold, f"{prefix}created_at")
            )
        elif hold.scope == Scope.TIME_RANGE:
            parts.append(_in_period(hold, f"{prefix}created_at"))
    if ids:
        parts.append(Q(**{f"{prefix}pk__in": sorted(set(ids))}))
    if not parts:
        return None
    combined = parts[0]
    for part in parts[1:]:
        combined |= part
    return combined


def _within(hold: Any, moment: datetime) -> bool:
    if hold.period_from is not None and moment < hold.period_from:
        return False
    return not (hold.period_to is not None and moment > hold.period_to)


def covers_decision(hold: Any, decision: Any) -> bool:
    """The Python twin of :func:`decisions_q` for one hold and one decision."""
    if hold.scope == Scope.DECISION_IDS:
        return str(decision.pk) in hold.decision_ids
    if hold.scope == Scope.AI_SYSTEM:
        return decision.ai_system == hold.ai_system and _within(hold, decision.created_at)
    if hold.scope == Scope.ACTOR:
        return decision.actor == hold.actor and _within(hold, decision.created_at)
    return _within(hold, decision.created_at)


def covers_artifact(hold: Any, artifact: Any, linked: Iterable[Any]) -> bool:
    """Whether ``hold`` covers an artifact whose linked decisions are ``linked``."""
    if str(artifact.pk) in getattr(hold, "artifact_ids", ()):
        return True
    if any(covers_decision(hold, decision) for decision in linked):
        return True
    if hold.scope == Scope.TIME_RANGE:
        return _within(hold, artifact.created_at)
    if hold.scope == Scope.AI_SYSTEM:
        named = (artifact.metadata or {}).get("ai_system")
        return named == hold.ai_system and _within(hold, artifact.created_at)
    return False


def artifacts_q(holds: Iterable[Any]) -> Q | None:
    """A ``Q`` over evidence artifacts matching every artifact one of ``holds`` covers (the SQL
    twin of :func:`covers_artifact`); None when there are no holds."""
    holds = list(holds)
    by_decision = decisions_q(holds, "decision__")
    named = sorted({pk for hold in holds for pk in getattr(hold, "artifact_ids", ())})
    if by_decision is None and not named:
        return None
    parts = []
    if by_decision is not None:
        parts.append(
            Q(pk__in=EvidenceDecisionLink.objects.filter(by_decision).values("artifact_id"))
        )
    if named:
        parts.append(Q(pk__in=named))
    for hold in holds:
        if hold.scope == Scope.TIME_RANGE:
            parts.append(_in_period(hold, "created_at"))
        elif hold.scope == Scope.AI_SYSTEM:
            parts.append(Q(metadata__ai_system=hold.ai_system) & _in_period(hold, "created_at"))
    combined = parts[0]
    for part in parts[1:]:
        combined |= part
    return combined
