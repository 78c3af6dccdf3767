"""``manage.py serve`` — the server of ``make run``: gunicorn's stock ``gthread`` worker (ADR 0015).

One worker process with ``--threads`` threads: each thread keeps at most one database connection,
so the process holds a bounded number of them however many clients connect (Django's ``runserver``
started a thread, and with ``CONN_MAX_AGE`` a connection, per client connection and left them to
the garbage collector, until PostgreSQL refused everyone).

gunicorn is configured here only: no ``gunicorn.conf.py`` or ``GUNICORN_CMD_ARGS`` is read (those
are the production server's).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from gunicorn.app.base import BaseApplication

from lexecon_site.env import BASE_DIR


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

    def handle(self, *args, bind: str, threads: int, **options):
        EmbeddedServer(
            {
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
        ).run()
