"""A real Celery worker for the live export test (tests/live/test_audit_export_live.py), whose
JSON writer is slowed down per row so the test can kill the pool process mid-export.

Test-only: the slowdown is installed here, in the worker's own process, before the pool forks;
nothing in the application knows about it. Run as ``python -m tests.live.audit_worker``.
"""

from __future__ import annotations

import os
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lexecon_site.settings.test")
django.setup()

from apps.audit import formats  # noqa: E402 - after django.setup()
from lexecon_site.celery import app  # noqa: E402

DELAY = float(os.environ.get("LEXECON_TEST_EXPORT_ROW_DELAY", "0"))
_dump = formats._dump


def _slow_dump(value):
    time.sleep(DELAY)
    return _dump(value)


formats._dump = _slow_dump
formats.PROGRESS_EVERY = 10

if __name__ == "__main__":
    app.worker_main(
        [
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            "--loglevel=WARNING",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
        ]
    )
