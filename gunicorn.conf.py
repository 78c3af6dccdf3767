"""How production serves Lexecon: stock gunicorn, configured here and nowhere else (ADR 0011).

gunicorn reads ``./gunicorn.conf.py`` by itself when started from the repository root:

    gunicorn                      # docker/start-web.sh; flags on the command line override these

Settings are gunicorn's own (https://docs.gunicorn.org/en/stable/settings.html); the environment
variables below are gunicorn's conventions, not Lexecon's. docs/configuration.md lists them.
"""

import os
import shutil
import tempfile
from pathlib import Path

# Metrics (ADR 0033): prometheus_client's multiprocess mode, through its documented configuration.
# Every worker writes its counters to files in PROMETHEUS_MULTIPROC_DIR, which must be set before
# any process imports prometheus_client and emptied when the server starts; /metrics sums them.
# LEXECON_METRICS_DIR (default: a new temporary directory) holds one subdirectory per kind of
# process: web/ here, celery/ for the Celery workers (docker/start-worker.sh) when they share it.
_metrics_dir = Path(
    os.environ.get("LEXECON_METRICS_DIR") or tempfile.mkdtemp(prefix="lexecon-metrics-")
)
os.environ["LEXECON_METRICS_DIR"] = str(_metrics_dir)
shutil.rmtree(_metrics_dir / "web", ignore_errors=True)
(_metrics_dir / "web").mkdir(parents=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_metrics_dir / "web")

from lexecon_site import answers  # noqa: E402 - creates the shared answer table before the fork

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


def child_exit(server, worker):
    """A worker is gone: its live gauges leave the sum; its counters stay in it (ADR 0033)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def worker_exit(server, worker):
    """Mark what this worker still owes, or leave it in its slot for a sibling."""
    answers.worker_stopping(worker)
