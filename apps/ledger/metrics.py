"""The ledger's figures for ``/metrics``, read at scrape time (ADR 0033): the database is shared
by every process, so these are right whatever the number of workers."""

from __future__ import annotations

from collections.abc import Iterator

from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from apps.ledger.models import Checkpoint
from apps.ledger.selectors import ledger_size


def ledger_metrics() -> Iterator[Metric]:
    """``lexecon_ledger_size``, ``lexecon_ledger_unsigned_entries`` and, once a checkpoint
    exists, ``lexecon_checkpoint_age_seconds`` (seconds since the latest one was signed)."""
    size = ledger_size()
    latest = (
        Checkpoint.objects.order_by("-tree_size").values_list("tree_size", "created_at").first()
    )
    yield GaugeMetricFamily(
        "lexecon_ledger_size", "Entries in the ledger (genesis included).", value=size
    )
    yield GaugeMetricFamily(
        "lexecon_ledger_unsigned_entries",
        "Entries not yet covered by a signed checkpoint.",
        value=max(size - (latest[0] if latest else 0), 0),
    )
    if latest is not None:
        yield GaugeMetricFamily(
            "lexecon_checkpoint_age_seconds",
            "Seconds since the latest signed checkpoint was made.",
            value=max((timezone.now() - latest[1]).total_seconds(), 0.0),
        )
