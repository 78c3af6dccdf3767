"""System check: the AI Act calendar file, regime and date overrides must be valid, so that a
broken configuration fails ``manage.py check`` (and start-up) instead of a request."""

from __future__ import annotations

from typing import Any

from django.core import checks

from apps.incidents import ai_act_calendar


@checks.register()
def calendar_is_valid(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        ai_act_calendar.check()
    except ai_act_calendar.CalendarError as exc:
        return [checks.Error(str(exc), id="incidents.E001")]
    return []
