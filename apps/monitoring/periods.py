"""Periods and windows: how ``from``/``to`` are read, and the whole-day windows of Art. 72.

Pure functions (no database). Times are aware and in UTC throughout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from apps.core.exceptions import InvalidInput
from apps.monitoring.constants import PERIOD_MAX_DAYS


@dataclass(frozen=True)
class Window:
    """``[start, end)``: an aware start, an exclusive aware end (the Annex IV seam's Window has
    the same two fields)."""

    start: datetime
    end: datetime

    def as_dict(self) -> dict[str, str]:
        return {"from": stamp(self.start), "to": stamp(self.end)}


@dataclass(frozen=True)
class DayWindow:
    """Whole UTC days ``[first, end)`` (``end`` exclusive), as the Art. 72 figures use them."""

    first: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.first).days

    def bounds(self) -> Window:
        return Window(midnight(self.first), midnight(self.end))

    def previous(self) -> DayWindow:
        return DayWindow(self.first - timedelta(days=self.days), self.first)


def stamp(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with ``Z``, as every other answer of the API writes times."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def day_of_end(end: datetime) -> date:
    """The first day not touched by ``[..., end)``: the day after ``end``'s, unless ``end`` is a
    midnight itself."""
    end = end.astimezone(UTC)
    return end.date() if end.time() == time.min else end.date() + timedelta(days=1)


def _parse(raw: str, field: str, *, is_end: bool) -> datetime:
    text = raw.strip()
    try:
        if len(text) == 10:  # a date: the whole day (a "to" date is included)
            day = date.fromisoformat(text)
            return midnight(day + timedelta(days=1) if is_end else day)
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"{field} is a date (YYYY-MM-DD) or an RFC 3339 time.", details={field: raw}
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def period(raw_from: str | None, raw_to: str | None, *, default_days: int, now: datetime) -> Window:
    """``from``/``to`` of a query as ``[start, end)``. Either may be a date (a ``to`` date counts
    whole) or an RFC 3339 time (naive is UTC); ``to`` defaults to ``now``, ``from`` to
    ``default_days`` before ``to``. ``InvalidInput`` when empty, reversed or too long."""
    end = _parse(raw_to, "to", is_end=True) if raw_to else now
    start = (
        _parse(raw_from, "from", is_end=False) if raw_from else end - timedelta(days=default_days)
    )
    if start >= end:
        raise InvalidInput(
            "from must be before to.", details={"from": stamp(start), "to": stamp(end)}
        )
    if end - start > timedelta(days=PERIOD_MAX_DAYS):
        raise InvalidInput(
            f"The period may span at most {PERIOD_MAX_DAYS} days.",
            details={"from": stamp(start), "to": stamp(end)},
        )
    return Window(start, end)


def day_windows(window: Window, window_days: int) -> list[DayWindow]:
    """Consecutive windows of ``window_days`` whole days, oldest first, covering ``window``: the
    last ends with the day of ``window.end``; as many as it takes to reach back to its start."""
    end = day_of_end(window.end)
    first = window.start.astimezone(UTC).date()
    count = max(1, math.ceil((end - first).days / window_days))
    step = timedelta(days=window_days)
    return [DayWindow(end - step * k, end - step * (k - 1)) for k in range(count, 0, -1)]


def latest_complete(now: datetime, window_days: int) -> DayWindow:
    """The last window of whole days that ended by ``now`` (the periodic check evaluates it)."""
    end = now.astimezone(UTC).date()
    return DayWindow(end - timedelta(days=window_days), end)
