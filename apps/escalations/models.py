"""Escalations: decisions that wait for a human (DESIGN §9)."""

from __future__ import annotations

from datetime import timedelta

from django.db import models

from apps.core.models import TimeStampedModel


class Priority(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


# SLA per priority (DESIGN §9); LEXECON_SLA_HOURS overrides (see docs/configuration.md).
DEFAULT_SLA = {
    Priority.CRITICAL: timedelta(hours=2),
    Priority.HIGH: timedelta(hours=8),
    Priority.MEDIUM: timedelta(hours=24),
    Priority.LOW: timedelta(hours=72),
}


class Escalation(TimeStampedModel):
    """A decision waiting for a human verdict, with a priority and an SLA deadline."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"
        EXPIRED = "expired", "Expired"

    class Resolution(models.TextChoices):
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"

    decision = models.OneToOneField(
        "decisions.Decision", on_delete=models.PROTECT, related_name="escalation"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    resolution = models.CharField(max_length=16, choices=Resolution.choices, blank=True)
    priority = models.CharField(max_length=16, choices=Priority.choices)
    sla_deadline = models.DateTimeField(db_index=True)
    reason = models.CharField(max_length=500)

    class Meta:
        ordering = ["sla_deadline"]
        permissions = [("view_all_escalations", "Can see every escalation, assigned or not")]

    def __str__(self) -> str:
        return f"escalation {self.pk} ({self.status}, {self.priority})"
