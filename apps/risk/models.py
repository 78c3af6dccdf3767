"""Stored risk assessments (standalone ``POST /risks/assess``, and one per decision)."""

from __future__ import annotations

from typing import Any

from django.db import models

from apps.accounts.principals import AgentPrincipal, is_person
from apps.core.models import TimeStampedModel

SEE_ALL_ASSESSMENTS = ("accounts.view_dashboard", "accounts.view_audit_logs")


class RiskAssessmentQuerySet(models.QuerySet):
    def visible_to(self, principal: Any) -> RiskAssessmentQuerySet:
        """The one visibility rule: an agent key sees the assessments it asked for; a person
        with the dashboard or audit-log permission sees all; anyone else none."""
        if isinstance(principal, AgentPrincipal):
            return self.filter(agent_key_id=principal.key_id)
        if is_person(principal) and any(principal.has_perm(p) for p in SEE_ALL_ASSESSMENTS):
            return self
        return self.none()


class RiskAssessment(TimeStampedModel):
    """Dimensions, score and level of one assessment, with what it was about."""

    class Level(models.TextChoices):
        LOW = "low"
        MEDIUM = "medium"
        HIGH = "high"
        CRITICAL = "critical"

    score = models.FloatField()
    level = models.CharField(max_length=8, choices=Level.choices)
    dimensions = models.JSONField(default=dict)
    sources = models.JSONField(default=dict)
    subject = models.JSONField(default=dict, help_text="actor/action/data classes assessed")
    assessed_by = models.CharField(max_length=150)
    # The agent key that asked (null for people); what the visibility rule filters on.
    agent_key = models.ForeignKey(
        "accounts.AgentKey", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = RiskAssessmentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"risk {self.score} ({self.level})"
