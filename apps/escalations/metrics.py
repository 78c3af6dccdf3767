"""Human oversight's figures for ``/metrics``, read at scrape time (ADR 0033)."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from apps.escalations.models import Escalation, Priority


def escalation_metrics() -> Iterator[Metric]:
    """``lexecon_escalations_pending{priority}`` (pending or acknowledged, every priority listed,
    0 included) and ``lexecon_sla_breaches_total`` (escalations expired at their SLA deadline,
    denied fail-closed; they are never deleted, so the count only grows)."""
    open_statuses = [Escalation.Status.PENDING, Escalation.Status.ACKNOWLEDGED]
    counts = dict(
        Escalation.objects.filter(status__in=open_statuses)
        .order_by()
        .values("priority")
        .annotate(n=Count("pk"))
        .values_list("priority", "n")
    )
    pending = GaugeMetricFamily(
        "lexecon_escalations_pending",
        "Escalations waiting for a human (pending or acknowledged), by priority.",
        labels=["priority"],
    )
    for priority in Priority.values:
        pending.add_metric([priority], counts.get(priority, 0))
    yield pending
    yield CounterMetricFamily(
        "lexecon_sla_breaches",
        "Escalations that reached their SLA deadline undecided (expired, denied fail-closed).",
        value=Escalation.objects.filter(status=Escalation.Status.EXPIRED).count(),
    )
