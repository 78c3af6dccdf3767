"""Decisions per retention class and day (``DecisionDayCount``): what lets the Art. 12 status
answer at a million decisions without counting them one by one (ADR 0021).

- ``made``: decisions written that day, counted once the day has closed (:func:`fill`; a day
  counts as closed an hour after its end, longer than any transaction that writes a decision).
  A decision's class and ``created_at`` never change, so a closed day's count never does either.
- ``anonymised``: moved by the sweep in the transaction of each batch (:func:`add_anonymised`),
  so it is exact whatever happens to the run.

The status adds, per class, the closed days' ``made - anonymised`` and counts only the open
tail (today's decisions) and the one day that straddles a cutoff in the index of live decisions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Count, F
from django.db.models.functions import TruncDate

from apps.decisions.models import Decision
from apps.retention.models import DayCountCursor, DecisionDayCount

#: How long after its end a day is taken as closed.
SETTLE = timedelta(hours=1)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def closed_until(now: datetime) -> date:
    """Every day before this one has closed."""
    return (now - SETTLE).astimezone(UTC).date()


def filled_until() -> date | None:
    return DayCountCursor.objects.filter(pk=1).values_list("filled_until", flat=True).first()


def fill(*, now: datetime) -> date:
    """Count the decisions of every closed day not counted yet; the first day not counted.

    One ``GROUP BY`` over the days since the last fill (the first fill of a deployment reads
    its whole history once); serialised by a row lock on the cursor."""
    target = closed_until(now)
    current = filled_until()
    if current is not None and current >= target:
        return current
    with transaction.atomic():
        cursor, _ = DayCountCursor.objects.select_for_update().get_or_create(pk=1)
        start = cursor.filled_until
        if start is not None and start >= target:
            return start
        rows = Decision.objects.filter(created_at__lt=day_start(target))
        if start is not None:
            rows = rows.filter(created_at__gte=day_start(start))
        counts = (
            rows.annotate(day=TruncDate("created_at"))
            .order_by()
            .values("retention_class", "day")
            .annotate(n=Count("id"))
        )
        DecisionDayCount.objects.bulk_create(
            [
                DecisionDayCount(
                    retention_class=row["retention_class"], day=row["day"], made=row["n"]
                )
                for row in counts
            ],
            update_conflicts=True,
            unique_fields=["retention_class", "day"],
            update_fields=["made"],
            batch_size=1000,
        )
        cursor.filled_until = target
        cursor.save(update_fields=["filled_until"])
    return target


def add_anonymised(retention_class: str, created: Iterable[datetime]) -> None:
    """The sweep anonymised decisions of ``retention_class`` written at ``created`` (inside its
    batch transaction)."""
    per_day = Counter(moment.astimezone(UTC).date() for moment in created)
    DecisionDayCount.objects.bulk_create(
        [DecisionDayCount(retention_class=retention_class, day=day) for day in per_day],
        ignore_conflicts=True,
    )
    for day, n in per_day.items():
        DecisionDayCount.objects.filter(retention_class=retention_class, day=day).update(
            anonymised=F("anonymised") + n
        )


def per_class() -> dict[str, list[tuple[date, int, int]]]:
    """Every counted day, per class: ``(day, made, anonymised)`` in day order."""
    found: dict[str, list[tuple[date, int, int]]] = {}
    for name, day, made, anonymised in DecisionDayCount.objects.order_by(
        "retention_class", "day"
    ).values_list("retention_class", "day", "made", "anonymised"):
        found.setdefault(name, []).append((day, made, anonymised))
    return found
