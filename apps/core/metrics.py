"""Lexecon's own Prometheus metrics: what an operator alerts on (issue 20, ADR 0033).

Two kinds:

- **Counted as it happens** (counters and histograms below): each process updates its own. Under
  gunicorn, ``gunicorn.conf.py`` turns on prometheus_client's multiprocess mode (every worker
  writes its values to files under ``LEXECON_METRICS_DIR``), and ``/metrics`` sums the files of
  every worker, living or gone, and of the Celery workers that share the directory.
- **Read at scrape time** from the database (ledger size, checkpoint age, pending escalations, SLA
  breaches): the database is the one truth all processes share, so nothing is summed or
  double-counted. Each app registers a *source* from its ``AppConfig.ready``
  (:func:`register_scrape_source`); a source that fails (database down) is reported as
  ``lexecon_metrics_source_up{source} 0`` instead of failing the scrape.

``lexecon_rate_limited_total{route}`` lives with the limiter (``apps.core.ratelimit.limiter``).
"""

from __future__ import annotations

import glob
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import DatabaseError
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

logger = logging.getLogger("lexecon.metrics")

DECISIONS = Counter(
    "lexecon_decisions_total",
    "Decisions made (replays of an Idempotency-Key excluded), by outcome.",
    ["outcome"],
)
DECIDE_SECONDS = Histogram(
    "lexecon_decide_seconds",
    "Time spent answering POST /decide in the application (agent fast path and staff calls), "
    "whatever the answer.",
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0),
)
LEDGER_APPEND_SECONDS = Histogram(
    "lexecon_ledger_append_seconds",
    "Time of one ledger append (validation, chain-head lock, insert), in the caller's transaction.",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0),
)
CELERY_TASK_FAILURES = Counter(
    "lexecon_celery_task_failures_total",
    "Celery task runs that ended in an exception (retries that later succeed included), by task.",
    ["task"],
)

ScrapeSource = Callable[[], Iterable[Metric]]
_sources: dict[str, ScrapeSource] = {}


def register_scrape_source(name: str, source: ScrapeSource) -> None:
    """Have ``source`` (no arguments; yields metric families) read at every scrape."""
    _sources[name] = source


@contextmanager
def timed(histogram: Histogram) -> Iterator[None]:
    """Observe the block's duration in ``histogram`` (also when it raises)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        histogram.observe(time.perf_counter() - started)


def count_celery_failure(sender=None, **_kwargs) -> None:
    """Celery's ``task_failure`` signal: count the failure under the task's stable name."""
    CELERY_TASK_FAILURES.labels(getattr(sender, "name", None) or "unknown").inc()


class ScrapeTimeSources(Collector):
    """Every registered source, read now, plus whether each could be read."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "lexecon_metrics_source_up",
            "1 when the scrape-time figures of a source could be read (0: e.g. database down).",
            labels=["source"],
        )
        for name, source in sorted(_sources.items()):
            try:
                families = list(source())
            except DatabaseError as exc:
                logger.warning("metrics source %s unavailable: %s", name, exc)
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from families
        yield up


class _Directories(Collector):
    """prometheus_client's multiprocess files of several directories, merged: the gunicorn
    workers' and the Celery workers' (same metric names, summed)."""

    def __init__(self, paths: list[str]) -> None:
        self.paths = paths

    def collect(self) -> Iterable[Metric]:
        files = sorted(f for path in self.paths for f in glob.glob(os.path.join(path, "*.db")))
        return MultiProcessCollector.merge(files, accumulate=True)


def multiprocess_directories() -> list[str]:
    """Where the values of every process are, or ``[]`` outside multiprocess mode.

    ``LEXECON_METRICS_DIR`` holds one subdirectory per kind of process (``web`` made by
    gunicorn.conf.py, ``celery`` by docker/start-worker.sh); ``PROMETHEUS_MULTIPROC_DIR`` is this
    process's own."""
    found = []
    base = os.environ.get("LEXECON_METRICS_DIR")
    if base and Path(base).is_dir():
        found = [str(p) for p in sorted(Path(base).iterdir()) if p.is_dir()]
    own = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if own and own not in found:
        found.append(own)
    return found


def scrape_registry() -> CollectorRegistry:
    """What ``/metrics`` exposes now: the counted values (every process's, summed, in
    multiprocess mode; this process's otherwise) and the scrape-time sources."""
    registry = CollectorRegistry(auto_describe=False)
    directories = multiprocess_directories()
    registry.register(_Directories(directories) if directories else REGISTRY)
    registry.register(ScrapeTimeSources())
    return registry
