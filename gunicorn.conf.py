"""How production serves Lexecon: stock gunicorn, configured here and nowhere else (ADR 0011).

gunicorn reads ``./gunicorn.conf.py`` by itself when started from the repository root:

    gunicorn                      # docker/start-web.sh; flags on the command line override these

Settings are gunicorn's own (https://docs.gunicorn.org/en/stable/settings.html); the environment
variables below are gunicorn's conventions, not Lexecon's. docs/configuration.md lists them.
"""

import os

from lexecon_site import answers  # creates the shared answer table before the workers are forked

wsgi_app = "lexecon_site.wsgi:application"
bind = ["0.0.0.0:8000"]
# Stock sync worker: one request at a time per process, a new connection per request. One
# process per core (DESIGN §4); the serialised ledger append, not the server, is the limit.
worker_class = "sync"
workers = int(os.environ.get("WEB_CONCURRENCY", os.cpu_count() or 2))
# A request that takes longer (the database hangs past its 5 s connect timeout, say) has its
# worker replaced; what that worker owed is then marked by another (ADR 0010).
timeout = 30
graceful_timeout = 30
backlog = 2048
accesslog = "-"


def post_worker_init(worker):
    """The application is loaded: watch which decision this worker owes (RELIABILITY T13)."""
    answers.worker_started(worker)


def worker_exit(server, worker):
    """Mark what this worker still owes, or leave it in its slot for a sibling."""
    answers.worker_stopping(worker)
