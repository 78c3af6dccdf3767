"""The dashboard's one write: counting decisions into the hourly roll-up (``models``).

``rollup_catch_up`` reads decisions past the cursor in ``ledger_seq`` order and adds them to
``DecisionHour`` / ``RiskFactorHour``; each batch and the cursor's advance commit together, so a
crash repeats nothing and loses nothing. The ``dashboard.rollup`` task runs it every minute; reads
never write (they add the live tail themselves: ``selectors``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction

from apps.dashboard.models import NO_AGENT_KEY, DecisionHour, RiskFactorHour, RollupCursor
from apps.decisions.models import Decision

ROLLUP_BATCH = 20_000
#: Risk levels whose rules and data classes are counted ("the factors behind high risk").
HIGH_RISK_LEVELS = ("high", "critical")
#: What the roll-up reads of a decision (the live tail reads the same).
DECISION_FIELDS = (
    "ledger_seq",
    "created_at",
    "outcome",
    "risk_level",
    "ai_system",
    "agent_key_id",
    "reasons",
    "data_classes",
)

HourKey = tuple[datetime, str, str, str, str]
FactorKey = tuple[datetime, str, str, str, str]


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def count_rows(rows: Iterable[tuple[Any, ...]]) -> tuple[Counter[HourKey], Counter[FactorKey]]:
    """Count decision rows (``DECISION_FIELDS`` order) by hour key and by risk-factor key. One
    definition for the roll-up and the live tail, so both count alike (docs/dashboard.md)."""
    hours: Counter[HourKey] = Counter()
    factors: Counter[FactorKey] = Counter()
    for _seq, created_at, outcome, level, ai_system, agent_key, reasons, data_classes in rows:
        hour = hour_of(created_at)
        key = str(agent_key) if agent_key else NO_AGENT_KEY
        hours[(hour, outcome, level, ai_system or "", key)] += 1
        if level not in HIGH_RISK_LEVELS:
            continue
        rules = {str(r.get("rule_id")) for r in reasons or () if isinstance(r, dict)}
        for rule in rules - {"None", ""}:
            factors[(hour, RiskFactorHour.Kind.RULE, rule[:200], ai_system or "", key)] += 1
        for data_class in {str(c) for c in data_classes or ()}:
            factors[
                (hour, RiskFactorHour.Kind.DATA_CLASS, data_class[:200], ai_system or "", key)
            ] += 1
    return hours, factors


def rollup_catch_up(*, limit: int | None = None) -> int:
    """Count decisions past the cursor into the roll-up; returns how many were counted."""
    counted = 0
    while limit is None or counted < limit:
        batch = ROLLUP_BATCH if limit is None else min(ROLLUP_BATCH, limit - counted)
        done = _rollup_batch(batch)
        counted += done
        if done < batch:
            break
    return counted


@transaction.atomic
def _rollup_batch(batch: int) -> int:
    cursor, _ = RollupCursor.objects.select_for_update().get_or_create(pk=1)
    rows = list(
        Decision.objects.filter(ledger_seq__gt=cursor.last_seq)
        .order_by("ledger_seq")
        .values_list(*DECISION_FIELDS)[:batch]
    )
    if not rows:
        return 0
    hours, factors = count_rows(rows)
    _add(DecisionHour, ("hour", "outcome", "risk_level", "ai_system", "agent_key"), hours)
    _add(RiskFactorHour, ("hour", "kind", "name", "ai_system", "agent_key"), factors)
    cursor.last_seq = rows[-1][0]
    cursor.save(update_fields=["last_seq", "updated_at"])
    return len(rows)


def _add(model: Any, fields: tuple[str, ...], counts: Counter[Any]) -> None:
    if not counts:
        return
    hours = {key[0] for key in counts}
    existing = {
        tuple(getattr(row, f) for f in fields): row for row in model.objects.filter(hour__in=hours)
    }
    new, changed = [], []
    for key, n in counts.items():
        row = existing.get(key)
        if row is None:
            new.append(model(**dict(zip(fields, key, strict=True)), count=n))
        else:
            row.count += n
            changed.append(row)
    model.objects.bulk_create(new, batch_size=2000)
    model.objects.bulk_update(changed, ["count"], batch_size=2000)
