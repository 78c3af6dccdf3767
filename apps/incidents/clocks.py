"""The deadlines of an incident, computed from ``aware_at`` — never stored, never a constant.

Two clocks (ADR 0023):

- **Art. 73** (every incident): the first report to the market surveillance authority is due
  ``REPORT_DAYS[category]`` calendar days after awareness — 15 (general), 10 (death), 2
  (widespread infringement or critical-infrastructure disruption). It stops when the incident
  moves to ``initial_report_sent`` (or is closed as not reportable).
- **GDPR Art. 33** (only when personal data are involved): 72 hours after awareness. It stops
  when the officer records that the supervisory authority was notified (or the incident closes).

Each clock has two times. ``due_at`` is awareness plus the period counted to the second: what the
product shows, warns against and calls overdue — the Act asks for the report *immediately*, the
period is an outer limit, so the earlier reading is the safe one. ``legal_end`` is the end of the
period as Regulation 1182/71 counts it, for information: the day of awareness does not count, the
period ends at midnight (time zone of the Member State, else ``LEXECON_INCIDENT_TIMEZONE``) at the
end of its last day, and a last day that is a Saturday, a Sunday or a listed public holiday
(``LEXECON_INCIDENT_PUBLIC_HOLIDAYS``) moves to the next working day. Periods in hours (GDPR) are
not extended: their ``legal_end`` is ``due_at``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from apps.incidents.constants import (
    GDPR_NOTIFICATION_PERIOD,
    MEMBER_STATE_TIMEZONES,
    REPORT_BASIS,
    REPORT_DAYS,
    Clock,
)

RUNNING = "running"  # before due_at, not stopped
OVERDUE = "overdue"  # past due_at, not stopped
MET = "met"  # stopped on or before due_at
LATE = "late"  # stopped after due_at
CLOSED_UNREPORTED = "closed_unreported"  # stopped by closing the incident without the act


@dataclass(frozen=True)
class ClockState:
    """One clock of one incident at ``now``."""

    clock: str
    basis: str
    period: str
    started_at: datetime
    due_at: datetime
    legal_end: datetime
    stopped_at: datetime | None
    state: str
    seconds_left: int | None  # None once stopped; negative when overdue
    time_left: str
    warnings: tuple[dict[str, Any], ...] = field(default=())

    @property
    def running(self) -> bool:
        return self.stopped_at is None


def rfc3339(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(ZoneInfo("UTC")).isoformat().replace("+00:00", "Z")


def words(seconds: int) -> str:
    """``3 d 04 h left`` / ``2 h 05 min left`` / ``overdue by 12 min``."""
    minutes = abs(seconds) // 60
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        text = f"{days} d {hours:02d} h"
    elif hours:
        text = f"{hours} h {minutes:02d} min"
    else:
        text = f"{minutes} min"
    return f"{text} left" if seconds > 0 else f"overdue by {text}"


def holidays() -> frozenset[date]:
    return frozenset(date.fromisoformat(d) for d in settings.LEXECON_INCIDENT_PUBLIC_HOLIDAYS)


def zone_for(member_state: str) -> ZoneInfo:
    name = MEMBER_STATE_TIMEZONES.get(member_state) or settings.LEXECON_INCIDENT_TIMEZONE
    return ZoneInfo(name)


def legal_end_of_days(aware_at: datetime, days: int, *, member_state: str = "") -> datetime:
    """The end of a period of ``days`` calendar days from ``aware_at`` per Regulation 1182/71:
    the day of the event is not counted (Art. 3(1)), the period ends with the last hour of its
    last day (Art. 3(2)(b)), moved to the next working day when that day is a Saturday, Sunday or
    public holiday (Art. 3(4))."""
    zone = zone_for(member_state)
    last_day = aware_at.astimezone(zone).date() + timedelta(days=days)
    off = holidays()
    while last_day.weekday() >= 5 or last_day in off:
        last_day += timedelta(days=1)
    return datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=zone)


def _state(due_at: datetime, stopped_at: datetime | None, now: datetime, *, closed: bool) -> str:
    if stopped_at is None:
        return RUNNING if now < due_at else OVERDUE
    if closed:
        return CLOSED_UNREPORTED
    return MET if stopped_at <= due_at else LATE


def art73_clock(
    *,
    category: str,
    aware_at: datetime,
    member_state: str,
    stopped_at: datetime | None,
    closed_unreported: bool,
    now: datetime,
) -> ClockState:
    days = REPORT_DAYS[category]
    due_at = aware_at + timedelta(days=days)
    seconds = int((due_at - now).total_seconds())
    return ClockState(
        clock=Clock.ART73,
        basis=REPORT_BASIS[category],
        period=f"{days} days",
        started_at=aware_at,
        due_at=due_at,
        legal_end=legal_end_of_days(aware_at, days, member_state=member_state),
        stopped_at=stopped_at,
        state=_state(due_at, stopped_at, now, closed=closed_unreported),
        seconds_left=None if stopped_at else seconds,
        time_left=_stopped_words(due_at, stopped_at) if stopped_at else words(seconds),
    )


def gdpr_clock(
    *, aware_at: datetime, stopped_at: datetime | None, closed_unnotified: bool, now: datetime
) -> ClockState:
    due_at = aware_at + GDPR_NOTIFICATION_PERIOD
    seconds = int((due_at - now).total_seconds())
    return ClockState(
        clock=Clock.GDPR_ART33,
        basis="GDPR Art. 33(1)",
        period="72 hours",
        started_at=aware_at,
        due_at=due_at,
        legal_end=due_at,
        stopped_at=stopped_at,
        state=_state(due_at, stopped_at, now, closed=closed_unnotified),
        seconds_left=None if stopped_at else seconds,
        time_left=_stopped_words(due_at, stopped_at) if stopped_at else words(seconds),
    )


def _stopped_words(due_at: datetime, stopped_at: datetime) -> str:
    seconds = int((due_at - stopped_at).total_seconds())
    if seconds >= 0:
        return f"done with {words(seconds).removesuffix(' left')} to spare"
    return f"done late, {words(seconds).removeprefix('overdue ')}"


def period_hours(clock: ClockState) -> float:
    return (clock.due_at - clock.started_at).total_seconds() / 3600


def warning_leads(clock: ClockState) -> list[int]:
    """The hours before ``due_at`` at which this clock warns, most distant first, ending with 0
    (the deadline itself). Leads as long as the whole period are left out: they would fire the
    moment the incident is opened."""
    leads = sorted({int(h) for h in settings.LEXECON_INCIDENT_WARNING_HOURS if int(h) > 0})
    period = period_hours(clock)
    return [h for h in reversed(leads) if h < period] + [0]


def due_lead(clock: ClockState, now: datetime) -> int | None:
    """The most urgent lead whose moment has come (``now >= due_at - lead``), or None."""
    crossed = [h for h in warning_leads(clock) if now >= clock.due_at - timedelta(hours=h)]
    return min(crossed) if crossed else None


def clock_as_dict(clock: ClockState) -> dict[str, Any]:
    return {
        "clock": clock.clock,
        "basis": clock.basis,
        "period": clock.period,
        "started_at": rfc3339(clock.started_at),
        "due_at": rfc3339(clock.due_at),
        "legal_end": rfc3339(clock.legal_end),
        "state": clock.state,
        "stopped_at": rfc3339(clock.stopped_at),
        "seconds_left": clock.seconds_left,
        "time_left": clock.time_left,
        "warnings": list(clock.warnings),
    }
