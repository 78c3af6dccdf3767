"""Geometry of the dashboard's charts, drawn as inline SVG by our own templates (no chart library).

Each function returns plain numbers and labels; the templates turn them into ``<rect>`` and
``<text>`` elements, and every chart is also rendered as a table (the screen-reader equivalent).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 10, 28
COLOURS = {"allowed": "#1a7f37", "denied": "#cf222e", "escalated": "#9a6700"}
LEVEL_COLOURS = {"low": "#57606a", "medium": "#0969da", "high": "#9a6700", "critical": "#cf222e"}


def _nice_max(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above ``value`` (at least 1): a readable axis top."""
    top = 1
    while True:
        for step in (1, 2, 5):
            if step * top >= value:
                return step * top
        top *= 10


def bucket_label(start: datetime, bucket: str) -> str:
    if bucket == "hour":
        return start.strftime("%d %b %H:00")
    if bucket == "week":
        return "week of " + start.strftime("%d %b")
    return start.strftime("%d %b")


def stacked_columns(buckets: list[dict[str, Any]], outcomes: tuple[str, ...], bucket: str) -> dict:
    """One column per bucket, its outcomes stacked bottom-up, with a 0 / half / top axis."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_max(max((sum(b["counts"].values()) for b in buckets), default=0))
    slot = plot_w / max(len(buckets), 1)
    bar = max(slot * 0.8, 1.0)
    label_every = max(1, round(len(buckets) / 8))
    columns = []
    for i, b in enumerate(buckets):
        x = LEFT + i * slot + (slot - bar) / 2
        y = TOP + plot_h
        segments = []
        for outcome in outcomes:
            n = b["counts"].get(outcome, 0)
            h = plot_h * n / top
            y -= h
            if n:
                segments.append(
                    {
                        "x": round(x, 2),
                        "y": round(y, 2),
                        "w": round(bar, 2),
                        "h": round(h, 2),
                        "colour": COLOURS[outcome],
                        "outcome": outcome,
                        "n": n,
                    }
                )
        columns.append(
            {
                "segments": segments,
                "label": bucket_label(b["start"], bucket),
                "show_label": i % label_every == 0,
                "label_x": round(LEFT + i * slot + slot / 2, 2),
            }
        )
    ticks = [
        {"value": value, "y": round(TOP + plot_h - plot_h * value / top, 2)}
        for value in (0, top // 2, top)
    ]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "base": TOP + plot_h,
        "label_y": HEIGHT - 8,
        "columns": columns,
        "ticks": ticks,
        "legend": [{"outcome": o, "colour": COLOURS[o]} for o in outcomes],
    }


def horizontal_bars(values: dict[str, int]) -> dict:
    """One bar per key (risk levels), widths proportional to the largest."""
    width, row, label_w = 420, 26, 80
    top = max(values.values(), default=0) or 1
    bars = [
        {
            "label": key,
            "n": n,
            "y": i * row,
            "w": round((width - label_w - 70) * n / top, 2),
            "colour": LEVEL_COLOURS.get(key, "#57606a"),
            "text_y": i * row + 17,
        }
        for i, (key, n) in enumerate(values.items())
    ]
    return {"width": width, "height": row * len(values), "label_w": label_w, "bars": bars}
