"""Hourly roll-ups of decisions, so a 30-day dashboard reads a few thousand rows, not a million.

``services.rollup_catch_up`` counts decisions past ``RollupCursor.last_seq`` (their ledger seq, which
grows in commit order because the ledger append is serialised) into these tables, in batches, each
in one transaction with the cursor's advance. The dashboard adds the decisions past the cursor (the
"live tail", a minute of traffic at most while the ``dashboard.rollup`` task runs) at read time, so
its figures are exact without any write on the ``/decide`` path (ADR 0028).
"""

from __future__ import annotations

from django.db import models

#: ``agent_key`` of decisions made without an agent key (staff calls): not NULL, so that the
#: unique constraint holds on every database.
NO_AGENT_KEY = ""


class DecisionHour(models.Model):
    """How many decisions with this outcome, risk level, AI system and agent key were made in the
    hour starting at ``hour`` (UTC, ``Decision.created_at`` truncated)."""

    hour = models.DateTimeField()
    outcome = models.CharField(max_length=16)
    risk_level = models.CharField(max_length=8)
    ai_system = models.CharField(max_length=200, blank=True)
    # The agent key's id (a UUID, as text); no foreign key: a count outlives nothing it names.
    agent_key = models.CharField(max_length=36, blank=True, default=NO_AGENT_KEY)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "outcome", "risk_level", "ai_system", "agent_key"],
                name="dashboard_one_decision_hour",
            )
        ]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}h {self.outcome}/{self.risk_level}: {self.count}"


class RiskFactorHour(models.Model):
    """For high and critical risk decisions: how many named this rule (``kind="rule"``, the rule
    ids of the decision's reasons) or carried this data class (``kind="data_class"``) per hour."""

    class Kind(models.TextChoices):
        RULE = "rule", "Rule"
        DATA_CLASS = "data_class", "Data class"

    hour = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=200)
    ai_system = models.CharField(max_length=200, blank=True)
    # The agent key's id (a UUID, as text); no foreign key: a count outlives nothing it names.
    agent_key = models.CharField(max_length=36, blank=True, default=NO_AGENT_KEY)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "kind", "name", "ai_system", "agent_key"],
                name="dashboard_one_factor_hour",
            )
        ]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}h {self.kind} {self.name}: {self.count}"


class RollupCursor(models.Model):
    """The decision ledger seq up to which the roll-up has counted (one row, id 1)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=-1)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"roll-up at seq {self.last_seq}"
