"""The suggestion queue: incidents proposed from runtime signals, computed from live data.

Three signals, each a candidate serious incident an officer should look at:

- an agent was stopped (``escalations.AgentStop``, the Art. 14(4)(e) stop) — key
  ``agent_stop:<stop id>``;
- an emergency bypass override (``escalations.Override`` of type ``emergency_bypass``) — key
  ``emergency_bypass:<override id>``;
- a deny-rate spike of one AI system: its share of denied decisions over the last hour exceeds
  its share over the day before that by at least ``LEXECON_INCIDENT_DENY_SPIKE_POINTS``
  percentage points, with at least ``LEXECON_INCIDENT_DENY_SPIKE_MIN_DECISIONS`` decisions in the
  hour — key ``deny_spike:<system>:<UTC date>`` (one per system and day).

Nothing is stored until a person decides: accepting a suggestion opens an incident, dismissing it
records why (``SuggestionDecision``); a decided key leaves the queue. Stops and bypasses are
looked for over the last ``LEXECON_INCIDENT_SUGGESTION_DAYS`` days.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from apps.aisystems import selectors as registry
from apps.core.exceptions import NotFound
from apps.decisions.models import Decision, Outcome
from apps.escalations.models import AgentStop, Override
from apps.incidents.clocks import rfc3339
from apps.incidents.constants import SPIKE_DECISIONS_SHOWN, SuggestionSource
from apps.incidents.models import SuggestionDecision


@dataclass(frozen=True)
class Suggestion:
    key: str
    source: str
    ai_system: str | None
    observed_at: datetime
    summary: str
    decision_ids: tuple[str, ...]
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Spike:
    ai_system: str
    recent_total: int
    recent_denied: int
    base_total: int
    base_denied: int

    @property
    def recent_rate(self) -> float:
        return self.recent_denied / self.recent_total if self.recent_total else 0.0

    @property
    def base_rate(self) -> float:
        return self.base_denied / self.base_total if self.base_total else 0.0


def spike_threshold_points() -> float:
    return float(settings.LEXECON_INCIDENT_DENY_SPIKE_POINTS)


def spike_min_decisions() -> int:
    return int(settings.LEXECON_INCIDENT_DENY_SPIKE_MIN_DECISIONS)


def deny_rates(*, now: datetime, ai_system: str | None = None) -> list[Spike]:
    """Per AI system, decisions and denials over the last hour and over the 24 hours before it,
    in one aggregate query over the decisions table (its ``created_at`` index bounds it)."""
    hour_ago = now - timedelta(hours=1)
    day_before = hour_ago - timedelta(days=1)
    recent = Q(created_at__gte=hour_ago)
    base = Q(created_at__lt=hour_ago)
    denied = Q(outcome=Outcome.DENIED)
    rows = Decision.objects.filter(created_at__gte=day_before, created_at__lt=now).exclude(
        ai_system=""
    )
    if ai_system is not None:
        rows = rows.filter(ai_system=ai_system)
    aggregated = (
        rows.order_by()
        .values("ai_system")
        .annotate(
            recent_total=Count("pk", filter=recent),
            recent_denied=Count("pk", filter=recent & denied),
            base_total=Count("pk", filter=base),
            base_denied=Count("pk", filter=base & denied),
        )
        .order_by("ai_system")
    )
    return [
        Spike(
            ai_system=row["ai_system"],
            recent_total=row["recent_total"],
            recent_denied=row["recent_denied"],
            base_total=row["base_total"],
            base_denied=row["base_denied"],
        )
        for row in aggregated
    ]


def is_spike(rates: Spike) -> bool:
    return (
        rates.recent_total >= spike_min_decisions()
        and (rates.recent_rate - rates.base_rate) * 100 >= spike_threshold_points()
    )


def _spike_suggestion(rates: Spike, now: datetime) -> Suggestion:
    denied_ids = (
        Decision.objects.filter(
            ai_system=rates.ai_system,
            outcome=Outcome.DENIED,
            created_at__gte=now - timedelta(hours=1),
            created_at__lt=now,
        )
        .order_by("-created_at")
        .values_list("pk", flat=True)[:SPIKE_DECISIONS_SHOWN]
    )
    return Suggestion(
        key=f"{SuggestionSource.DENY_SPIKE}:{rates.ai_system}:{now.date().isoformat()}",
        source=SuggestionSource.DENY_SPIKE,
        ai_system=rates.ai_system,
        observed_at=now,
        summary=(
            f"{rates.ai_system}: {rates.recent_denied} of {rates.recent_total} decisions denied in "
            f"the last hour ({rates.recent_rate:.0%}), against {rates.base_rate:.0%} over the day "
            "before."
        ),
        decision_ids=tuple(str(pk) for pk in denied_ids),
        facts={
            "last_hour": {"decisions": rates.recent_total, "denied": rates.recent_denied},
            "previous_day": {"decisions": rates.base_total, "denied": rates.base_denied},
            "last_hour_rate": round(rates.recent_rate, 4),
            "previous_day_rate": round(rates.base_rate, 4),
            "threshold_points": spike_threshold_points(),
            "min_decisions": spike_min_decisions(),
        },
    )


def _stop_suggestion(stop: AgentStop) -> Suggestion:
    decision = stop.decision
    return Suggestion(
        key=f"{SuggestionSource.AGENT_STOP}:{stop.pk}",
        source=SuggestionSource.AGENT_STOP,
        ai_system=decision.ai_system or None,
        observed_at=stop.created_at,
        summary=(
            f"user:{stop.stopped_by_id} stopped the agent behind decision {decision.pk} "
            f"({decision.action}); {len(stop.revoked_jtis)} tokens were revoked."
        ),
        decision_ids=(str(decision.pk),),
        facts={
            "stopped_by": f"user:{stop.stopped_by_id}",
            "action": decision.action,
            "revoked_tokens": len(stop.revoked_jtis),
            "ledger_entry_id": stop.ledger_seq,
        },
    )


def _bypass_suggestion(override: Override) -> Suggestion:
    decision = override.decision
    return Suggestion(
        key=f"{SuggestionSource.EMERGENCY_BYPASS}:{override.pk}",
        source=SuggestionSource.EMERGENCY_BYPASS,
        ai_system=decision.ai_system or None,
        observed_at=override.created_at,
        summary=(
            f"user:{override.executed_by_id} let decision {decision.pk} ({decision.action}) through "
            f"by emergency bypass; it had been {override.previous_outcome}."
        ),
        decision_ids=(str(decision.pk),),
        facts={
            "executed_by": f"user:{override.executed_by_id}",
            "action": decision.action,
            "previous_outcome": override.previous_outcome,
            "ledger_entry_id": override.ledger_seq,
        },
    )


def _decided_keys(keys: list[str]) -> set[str]:
    return set(SuggestionDecision.objects.filter(key__in=keys).values_list("key", flat=True))


def suggestions_list(
    *, now: datetime | None = None, ai_system: str | None = None
) -> list[Suggestion]:
    """The undecided suggestions, newest first."""
    now = now or timezone.now()
    since = now - timedelta(days=int(settings.LEXECON_INCIDENT_SUGGESTION_DAYS))
    stops = AgentStop.objects.select_related("decision").filter(created_at__gte=since)
    bypasses = Override.objects.select_related("decision").filter(
        override_type=Override.Type.EMERGENCY_BYPASS, created_at__gte=since
    )
    if ai_system is not None:
        stops = stops.filter(decision__ai_system=ai_system)
        bypasses = bypasses.filter(decision__ai_system=ai_system)
    found = [_stop_suggestion(s) for s in stops]
    found += [_bypass_suggestion(o) for o in bypasses]
    found += [
        _spike_suggestion(rates, now)
        for rates in deny_rates(now=now, ai_system=ai_system)
        if is_spike(rates)
    ]
    decided = _decided_keys([s.key for s in found])
    found = [s for s in found if s.key not in decided]
    found.sort(key=lambda s: (s.observed_at, s.key), reverse=True)
    return found


def suggestion_get(*, key: str, now: datetime | None = None) -> Suggestion:
    """The suggestion ``key`` as it stands now; ``NotFound`` if it is not (or no longer)
    proposed. A decided key is found too (the caller checks ``SuggestionDecision``)."""
    now = now or timezone.now()
    source, _, rest = key.partition(":")
    missing = NotFound("No such suggestion is proposed (now).", details={"key": key})
    row_id = _uuid(rest)
    if source == SuggestionSource.AGENT_STOP and row_id is not None:
        stop = AgentStop.objects.select_related("decision").filter(pk=row_id).first()
        if stop is None:
            raise missing
        return _stop_suggestion(stop)
    if source == SuggestionSource.EMERGENCY_BYPASS and row_id is not None:
        override = (
            Override.objects.select_related("decision")
            .filter(pk=row_id, override_type=Override.Type.EMERGENCY_BYPASS)
            .first()
        )
        if override is None:
            raise missing
        return _bypass_suggestion(override)
    if source == SuggestionSource.DENY_SPIKE:
        system, _, day = rest.rpartition(":")
        if day != now.date().isoformat():
            raise missing
        for rates in deny_rates(now=now, ai_system=system):
            if is_spike(rates):
                return _spike_suggestion(rates, now)
    raise missing


def _uuid(text: str) -> str | None:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


def suggestion_as_dict(suggestion: Suggestion) -> dict[str, Any]:
    registered = suggestion.ai_system is not None and registry.ai_system_is_registered(
        suggestion.ai_system
    )
    return {
        "key": suggestion.key,
        "source": suggestion.source,
        "ai_system": suggestion.ai_system,
        "ai_system_registered": registered,
        "observed_at": rfc3339(suggestion.observed_at),
        "summary": suggestion.summary,
        "decision_ids": list(suggestion.decision_ids),
        "facts": suggestion.facts,
    }
