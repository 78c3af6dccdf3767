"""EU AI Act monitoring: Art. 14 interventions, Art. 72 post-market monitoring plans and their
drift alerts (ADR 0022).

Every row here is written by ``apps.monitoring.services`` together with its ledger entry, whose
``seq`` it keeps. People appear as foreign keys to users (and as ``user:<id>`` on the ledger); the
free text they write (an intervention's reason, a plan's description) stays here beside its salt,
the ledger holds only its salted commitment, so retention can erase the text and the chain still
verifies.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from apps.monitoring.constants import (
    Direction,
    HumanDecision,
    InterventionType,
    Metric,
    Recommendation,
)


class Intervention(models.Model):
    """A human intervention on one decision, recorded for Art. 14 because the oversight workflow
    (escalations, overrides, stops) did not capture it itself — e.g. a clinician who set aside the
    AI system's recommendation in another tool. It does not change the decision's outcome.

    Written beside an ``intervention.recorded`` entry and a responsibility record of kind
    ``intervention`` (same transaction). ``ai_system`` is the decision's, copied so that the
    Art. 14 figures of one system are one index range.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    decision = models.ForeignKey(
        "decisions.Decision", on_delete=models.PROTECT, related_name="interventions"
    )
    ai_system = models.CharField(max_length=200, blank=True)
    intervention_type = models.CharField(max_length=32, choices=InterventionType.choices)
    ai_recommendation = models.CharField(max_length=16, choices=Recommendation.choices)
    human_decision = models.CharField(max_length=16, choices=HumanDecision.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=200)
    reason = models.TextField()
    reason_salt = models.CharField(max_length=32)
    reason_commitment = models.CharField(max_length=64)
    # How long the person took from seeing the recommendation to deciding; null when not known.
    response_time_ms = models.BigIntegerField(null=True, blank=True)
    ledger_seq = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["ai_system", "created_at"], name="monitoring_intervention_time"),
            models.Index(fields=["created_at"], name="monitoring_intervention_at"),
        ]

    def __str__(self) -> str:
        return f"{self.intervention_type} on {self.decision_id}: {self.human_decision}"


class PMMPlan(models.Model):
    """The post-market monitoring plan of one AI system (Art. 72, Annex IV item 9): which metrics
    are watched, over which window, with which thresholds, and who owns it.

    ``metrics`` is a list of ``{"metric", "threshold", "direction"}`` (``constants.Metric``,
    ``constants.Direction``): an alert fires when a metric moves by more than ``threshold`` against
    the previous window. A withdrawn plan keeps its row (``deleted_at``), with its alerts and
    history; a system has at most one live plan.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    ai_system = models.ForeignKey(
        "aisystems.AISystem", on_delete=models.PROTECT, related_name="pmm_plans"
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    window_days = models.PositiveIntegerField(default=7)
    min_decisions = models.PositiveIntegerField(
        default=10,
        help_text="Rates over decisions are compared only when both windows hold at least this "
        "many decisions.",
    )
    metrics = models.JSONField()
    description = models.TextField(blank=True)
    # Salt of the description's commitments on the ledger: one per plan, so every past
    # commitment opens with that version's text (as for AI systems, ADR 0019).
    text_salt = models.CharField(max_length=32, editable=False)
    created_by = models.CharField(max_length=80, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["ai_system_id", "created_at"]
        verbose_name = "post-market monitoring plan"
        constraints = [
            models.UniqueConstraint(
                fields=["ai_system"],
                condition=models.Q(deleted_at__isnull=True),
                name="monitoring_one_live_plan_per_system",
            ),
            models.CheckConstraint(
                condition=models.Q(window_days__gte=1, window_days__lte=365),
                name="monitoring_plan_window_days",
            ),
        ]

    def __str__(self) -> str:
        return f"PMM plan of {self.ai_system_id}"

    @property
    def metric_codes(self) -> list[str]:
        return [item["metric"] for item in self.metrics]


class PMMPlanChange(models.Model):
    """One ledgered change of a plan (created, updated, deleted) and the entry recording it."""

    plan = models.ForeignKey(PMMPlan, on_delete=models.PROTECT, related_name="changes")
    ledger_seq = models.BigIntegerField(unique=True)
    entry_type = models.CharField(max_length=64)
    changed = models.JSONField(default=list)
    actor = models.CharField(max_length=80)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["ledger_seq"]

    def __str__(self) -> str:
        return f"{self.plan_id} #{self.ledger_seq} {self.entry_type}"


class DriftAlert(models.Model):
    """A metric of a plan moved past its threshold against the previous window.

    Fired once per breach: at most one open alert per plan and metric (database constraint), so
    the periodic check fires again only after the breach ended (``cleared_at``). Both moves are
    ledgered (``drift_alert.fired`` / ``drift_alert.cleared``). Windows are whole UTC days,
    ``window_end`` exclusive.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    plan = models.ForeignKey(PMMPlan, on_delete=models.PROTECT, related_name="alerts")
    ai_system_id = models.CharField(max_length=100)
    metric = models.CharField(max_length=32, choices=Metric.choices)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    threshold = models.FloatField()
    window_start = models.DateField()
    window_end = models.DateField()
    value = models.FloatField()
    previous_value = models.FloatField()
    change = models.FloatField()
    ledger_seq = models.BigIntegerField(unique=True)
    fired_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_ledger_seq = models.BigIntegerField(null=True, blank=True, unique=True)
    # How many people the alert e-mail went to (set by the mail task after commit).
    mailed_to = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-fired_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "metric"],
                condition=models.Q(cleared_at__isnull=True),
                name="monitoring_one_open_alert_per_metric",
            ),
        ]
        indexes = [models.Index(fields=["ai_system_id", "fired_at"], name="monitoring_alert_time")]

    def __str__(self) -> str:
        return (
            f"{self.metric} drift on {self.ai_system_id} ({self.window_start} to {self.window_end})"
        )

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None
