"""Stored risk assessments (standalone ``POST /risks/assess``, and one per decision)."""

from django.db import models

from apps.core.models import TimeStampedModel


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

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"risk {self.score} ({self.level})"
