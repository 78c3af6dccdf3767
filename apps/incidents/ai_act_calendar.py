"""The EU AI Act's regulatory calendar: which obligations apply to a registered AI system on a
given day, under the original dates or the Digital Omnibus ones.

The dates are data (``data/ai_act_calendar.yaml``, or the file ``LEXECON_AI_ACT_CALENDAR_FILE``
names), read and validated once per process; ``LEXECON_AI_ACT_REGIME`` picks the regime and
``LEXECON_AI_ACT_CALENDAR_OVERRIDES`` moves single obligations' dates. A broken file or override
fails ``manage.py check`` (``apps.incidents.checks``). No date of the Act is written in code.
"""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from django.conf import settings
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from apps.core.exceptions import InvalidInput

DEFAULT_FILE = Path(__file__).resolve().parent / "data" / "ai_act_calendar.yaml"
REGIMES = ("original", "omnibus_2026")

Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AppliesTo(_Strict):
    """Conditions on a registered system, all of which must hold (a missing one: any value)."""

    risk_classes: list[Literal["prohibited", "high", "limited", "minimal"]] | None = None
    roles: list[Literal["provider", "deployer", "both"]] | None = None
    # True: listed in Annex III and not exempt under Art. 6(3); False: no Annex III point.
    annex_iii: bool | None = None
    annex_iii_points: list[str] | None = None
    art_6_3_exempt: bool | None = None


class Dates(_Strict):
    original: date | None
    omnibus_2026: date | None


class Obligation(_Strict):
    key: Key
    title: str
    articles: list[str] = Field(min_length=1)
    binds: Literal["provider", "deployer", "both"]
    applies_to: AppliesTo
    dates: Dates
    note: str = ""


class Regime(_Strict):
    title: str
    status: str
    status_as_of: date


class Milestone(_Strict):
    date: date
    what: str


class CalendarFile(_Strict):
    format: Literal["lexecon-ai-act-calendar/1"]
    regulation: str
    checked: date
    regimes: dict[Literal["original", "omnibus_2026"], Regime]
    milestones: list[Milestone]
    obligations: list[Obligation]


class CalendarError(ValueError):
    """The calendar file or its overrides are not valid."""


@functools.lru_cache(maxsize=4)
def _load(path: str) -> CalendarFile:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        calendar = CalendarFile.model_validate(raw)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise CalendarError(f"The AI Act calendar {path} is not valid: {exc}") from exc
    keys = [o.key for o in calendar.obligations]
    if len(keys) != len(set(keys)):
        raise CalendarError(f"The AI Act calendar {path} repeats an obligation key.")
    if set(calendar.regimes) != set(REGIMES):
        raise CalendarError(f"The AI Act calendar {path} must describe the regimes {REGIMES}.")
    return calendar


def calendar_file() -> CalendarFile:
    return _load(str(settings.LEXECON_AI_ACT_CALENDAR_FILE or DEFAULT_FILE))


def overrides() -> dict[str, date]:
    """``LEXECON_AI_ACT_CALENDAR_OVERRIDES`` (``{key: "YYYY-MM-DD"}``), checked against the file."""
    known = {o.key for o in calendar_file().obligations}
    result: dict[str, date] = {}
    for key, value in dict(settings.LEXECON_AI_ACT_CALENDAR_OVERRIDES or {}).items():
        if key not in known:
            raise CalendarError(f"LEXECON_AI_ACT_CALENDAR_OVERRIDES names no obligation {key!r}.")
        try:
            result[key] = date.fromisoformat(str(value))
        except ValueError as exc:
            raise CalendarError(
                f"LEXECON_AI_ACT_CALENDAR_OVERRIDES[{key!r}] is not a date: {value!r}."
            ) from exc
    return result


def default_regime() -> str:
    regime = settings.LEXECON_AI_ACT_REGIME
    if regime not in REGIMES:
        raise CalendarError(f"LEXECON_AI_ACT_REGIME must be one of {REGIMES}, not {regime!r}.")
    return str(regime)


def check() -> None:
    """Raise ``CalendarError`` unless the file, the regime and the overrides are all valid."""
    calendar_file()
    overrides()
    default_regime()


def _matches(conditions: AppliesTo, system: Any) -> bool:
    point = system.annex_iii_point or ""
    listed = bool(point) and not system.art_6_3_exempt
    return all(
        (
            conditions.risk_classes is None or system.risk_class in conditions.risk_classes,
            conditions.roles is None or system.role in conditions.roles,
            conditions.annex_iii is None or listed == conditions.annex_iii,
            conditions.annex_iii_points is None or point in conditions.annex_iii_points,
            conditions.art_6_3_exempt is None
            or bool(system.art_6_3_exempt) == conditions.art_6_3_exempt,
        )
    )


def obligations_for(system: Any, *, as_of: date, regime: str) -> list[dict[str, Any]]:
    """The obligations whose conditions ``system`` meets, each with the date it applies from
    under ``regime`` (after the overrides) and whether it applies on ``as_of``."""
    if regime not in REGIMES:
        raise InvalidInput("Unknown regime.", details={"regime": regime, "allowed": REGIMES})
    moved = overrides()
    rows = []
    for obligation in calendar_file().obligations:
        if not _matches(obligation.applies_to, system):
            continue
        dates = {name: getattr(obligation.dates, name) for name in REGIMES}
        applies_from = moved.get(obligation.key, dates[regime])
        rows.append(
            {
                "key": obligation.key,
                "title": " ".join(obligation.title.split()),
                "articles": obligation.articles,
                "binds": obligation.binds,
                "applies_from": applies_from.isoformat() if applies_from else None,
                "applies_now": applies_from is not None and applies_from <= as_of,
                "overridden": obligation.key in moved,
                "dates": {k: v.isoformat() if v else None for k, v in dates.items()},
                "note": " ".join(obligation.note.split()),
            }
        )
    rows.sort(key=lambda r: (r["applies_from"] is None, r["applies_from"] or "", r["key"]))
    return rows


def calendar_header(*, as_of: date, regime: str) -> dict[str, Any]:
    """What every calendar answer says about itself: the regime, its status and when it was
    last checked, the other regime's status, the milestones."""
    calendar = calendar_file()
    return {
        "as_of": as_of.isoformat(),
        "regime": regime,
        "regulation": calendar.regulation,
        "checked": calendar.checked.isoformat(),
        "regimes": {
            name: {
                "title": " ".join(r.title.split()),
                "status": " ".join(r.status.split()),
                "status_as_of": r.status_as_of.isoformat(),
            }
            for name, r in calendar.regimes.items()
        },
        "overrides": {k: v.isoformat() for k, v in overrides().items()},
        "milestones": [
            {"date": m.date.isoformat(), "what": m.what, "passed": m.date <= as_of}
            for m in calendar.milestones
        ],
    }
