"""``manage.py serve`` — the server of ``make run``: gunicorn's stock ``gthread`` worker, plus
what runs the periodic tasks (ADR 0015).

- One worker process with ``--threads`` threads: each thread keeps at most one database
  connection, so the process holds a bounded number of them however many clients connect
  (Django's ``runserver`` started a thread, and with ``CONN_MAX_AGE`` a connection, per client
  connection and left them to the garbage collector, until PostgreSQL refused everyone).
- Celery eager (no ``LEXECON_REDIS_URL``): the worker runs ``CELERY_BEAT_SCHEDULE`` in a
  :class:`lexecon_site.scheduler.BeatThread`.
- Celery with a broker: a ``celery worker --beat`` child process runs the queued and the periodic
  tasks; it is stopped when the server stops.

gunicorn is configured here only: no ``gunicorn.conf.py`` or ``GUNICORN_CMD_ARGS`` is read (those
are the production server's).
"""

from __future__ import annotations

import subprocess  # nosec B404 - runs our own celery command line
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from gunicorn.app.base import BaseApplication

from lexecon_site.env import BASE_DIR, var_dir


def celery_command() -> list[str]:
    """The worker (with the beat scheduler embedded) that ``serve`` starts when Celery has a broker."""
    return [
        *(sys.executable, "-m", "celery", "--app", "lexecon_site", "worker", "--beat"),
        *("--schedule", str(var_dir() / "celerybeat-schedule"), "--concurrency", "2"),
        *("--loglevel", "INFO"),
    ]


def _start_scheduler(worker: Any) -> None:
    """gunicorn ``post_worker_init`` hook: the in-process scheduler, after the fork (a thread does
    not survive a fork, and its database connection must not be shared with the parent)."""
    from lexecon_site.celery import app
    from lexecon_site.scheduler import BeatThread

    BeatThread(settings.CELERY_BEAT_SCHEDULE, app=app).start()


class EmbeddedServer(BaseApplication):
    """gunicorn with the options given here and nothing else."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from lexecon_site.wsgi import application

        return application


class Command(BaseCommand):
    help = "Serve Lexecon as `make run` does: gunicorn gthread plus the periodic tasks."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8000")
        parser.add_argument("--threads", type=int, default=8)
        parser.add_argument(
            "--no-periodic",
            action="store_true",
            help="run neither the in-process scheduler nor a Celery worker",
        )

    def handle(self, *args, bind: str, threads: int, no_periodic: bool, **options):
        eager = settings.CELERY_TASK_ALWAYS_EAGER
        worker = None
        server_options: dict[str, Any] = {
            "bind": bind,
            "workers": 1,
            "worker_class": "gthread",
            "threads": threads,
            "keepalive": 5,
            "timeout": 60,
            "accesslog": "-",
            "chdir": str(BASE_DIR),
            "control_socket_disable": True,  # gunicornc is for the production server
        }
        if no_periodic:
            self.stdout.write("Periodic tasks: not run (--no-periodic).")
        elif eager:
            server_options["post_worker_init"] = _start_scheduler
            self.stdout.write(
                "Periodic tasks: run in this process (no LEXECON_REDIS_URL): "
                + ", ".join(sorted(settings.CELERY_BEAT_SCHEDULE))
            )
        else:
            self.stdout.write("Periodic and queued tasks: a `celery worker --beat` child process.")
            worker = subprocess.Popen(celery_command(), cwd=BASE_DIR)  # noqa: S603 # nosec B603 - our argv
        self.stdout.flush()
        try:
            EmbeddedServer(server_options).run()
        finally:
            if worker is not None:
                worker.terminate()
                try:
                    worker.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    worker.kill()
