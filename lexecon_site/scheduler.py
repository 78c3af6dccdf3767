"""The periodic tasks of ``CELERY_BEAT_SCHEDULE`` run in-process when there is no broker.

Without ``LEXECON_REDIS_URL`` (the embedded default) Celery is eager: no worker and no beat exist,
so nothing would sign the periodic checkpoint or expire escalations past their SLA. ``manage.py
serve`` starts one :class:`BeatThread` in its server process; it runs every entry of the one beat
schedule in this thread, once at start and then every ``schedule`` seconds (ADR 0015). With Redis,
``manage.py serve`` starts ``celery worker --beat`` instead and this thread is not used.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from celery import Celery
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

logger = logging.getLogger(__name__)


def interval_seconds(schedule: object) -> float:
    """The period of a beat entry in seconds; only fixed intervals are supported here."""
    if isinstance(schedule, timedelta):
        return schedule.total_seconds()
    if isinstance(schedule, int | float) and not isinstance(schedule, bool):
        return float(schedule)
    raise ImproperlyConfigured(
        f"The in-process scheduler runs fixed intervals only, not {schedule!r}."
    )


class BeatThread(threading.Thread):
    """Run each beat entry's task eagerly in this thread, on its interval, until :meth:`stop`.

    A failing task is logged and tried again at its next interval, as beat would do. The thread
    closes its database connections after every run, so it holds none while it waits.
    """

    def __init__(
        self,
        schedule: Mapping[str, Mapping[str, Any]],
        *,
        app: Celery,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name="lexecon-scheduler", daemon=True)
        self.app = app
        self.entries = {
            name: (entry["task"], interval_seconds(entry["schedule"]))
            for name, entry in schedule.items()
        }
        self.clock = clock
        self.runs: dict[str, int] = dict.fromkeys(self.entries, 0)
        self._stopped = threading.Event()

    def stop(self, timeout: float | None = None) -> None:
        self._stopped.set()
        self.join(timeout)

    def run(self) -> None:
        # Celery registers the apps' tasks when it imports their modules (a worker does it at start).
        self.app.loader.import_default_modules()
        due = dict.fromkeys(self.entries, self.clock())
        while not self._stopped.is_set():
            now = self.clock()
            for name, (task, interval) in self.entries.items():
                if due[name] <= now:
                    self._run_once(name, task)
                    due[name] = max(due[name] + interval, now)
            self._stopped.wait(max(min(due.values(), default=now + 60) - self.clock(), 0))

    def _run_once(self, name: str, task: str) -> None:
        try:
            self.app.tasks[task].apply(throw=True)
        except Exception:  # a failing task must not stop the others; beat would retry it too
            logger.exception(
                "periodic task %s (%s) failed; it runs again on its interval", name, task
            )
        finally:
            self.runs[name] += 1
            connections.close_all()
