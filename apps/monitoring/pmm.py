"""Post-market monitoring arithmetic (Art. 72): a window's metric values from day buckets, and
the comparison of a window against the one before it.

No database access: ``aggregates.daily_figures`` counts, this module adds up and compares, so the
report and the periodic check judge a window the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from apps.monitoring.aggregates import LEVELS
from apps.monitoring.constants import DECISION_RATES, Direction, Metric
from apps.monitoring.periods import DayWindow

# Differences smaller than this are rounding noise, not a move past a threshold.
EPSILON = 1e-9
_SUMMED = (
    "total",
    "allowed",
    "denied",
    "escalated",
    "risk_sum",
    *LEVELS,
    "verdicts",
    "disagreements",
    "sla_breaches",
    "incidents",
)


def sum_days(daily: Mapping[date, Mapping[str, Any]], window: DayWindow) -> dict[str, float]:
    """The day buckets of ``window`` added up (days without a bucket count zero)."""
    totals = dict.fromkeys(_SUMMED, 0.0)
    day = window.first
    while day < window.end:
        for key, value in daily.get(day, {}).items():
            totals[key] = totals.get(key, 0.0) + float(value or 0)
        day += timedelta(days=1)
    return totals


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def metric_values(totals: Mapping[str, float], *, incidents_tracked: bool) -> dict[str, Any]:
    """Every metric of ``constants.Metric`` for one window, unrounded (None: nothing to divide
    by; incidents left out when not tracked)."""
    total = totals["total"]
    values: dict[str, Any] = {
        Metric.DECISIONS: int(total),
        Metric.DENY_RATE: _share(totals["denied"], total),
        Metric.ESCALATION_RATE: _share(totals["escalated"], total),
        Metric.OVERRIDE_RATE: _share(totals["disagreements"], totals["verdicts"]),
        Metric.HIGH_RISK_SHARE: _share(totals["high"] + totals["critical"], total),
        Metric.MEAN_RISK_SCORE: _share(totals["risk_sum"], total),
        Metric.SLA_BREACHES: int(totals["sla_breaches"]),
    }
    if incidents_tracked:
        values[Metric.INCIDENTS] = int(totals["incidents"])
    return values


def rounded(metric: str, value: Any) -> Any:
    """How a value is shown: rates to 4 decimals, the mean score to 2, counts as they are."""
    if value is None or isinstance(value, int):
        return value
    return round(value, 2 if metric == Metric.MEAN_RISK_SCORE else 4)


def compare(
    item: Mapping[str, Any],
    current: Mapping[str, Any],
    previous: Mapping[str, Any],
    *,
    min_decisions: int,
) -> dict[str, Any]:
    """One plan metric (``{"metric", "threshold", "direction"}``) of a window against the one
    before: both values, the change, and ``breached`` — True when the change is past the
    threshold in the watched direction, False when not, None when the two cannot be compared
    (a value is missing, or a rate over decisions rests on fewer than ``min_decisions``)."""
    metric, threshold, direction = item["metric"], float(item["threshold"]), item["direction"]
    value, before = current.get(metric), previous.get(metric)
    comparable = value is not None and before is not None
    if comparable and metric in DECISION_RATES:
        needed = max(1, min_decisions)
        comparable = current[Metric.DECISIONS] >= needed and previous[Metric.DECISIONS] >= needed
    change = value - before if comparable else None
    breached: bool | None = None
    if change is not None:
        if direction == Direction.UP:
            breached = change > threshold + EPSILON
        elif direction == Direction.DOWN:
            breached = -change > threshold + EPSILON
        else:
            breached = abs(change) > threshold + EPSILON
    return {
        "metric": metric,
        "value": rounded(metric, value),
        "previous": rounded(metric, before),
        "change": round(change, 4) if change is not None else None,
        "threshold": threshold,
        "direction": direction,
        "breached": breached,
    }
