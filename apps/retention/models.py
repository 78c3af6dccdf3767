"""Record-keeping (EU AI Act Art. 12/19): legal holds and the runs of the retention sweep.

A :class:`LegalHold` keeps every record it covers — decisions and their oversight texts, linked
evidence — from the sweep until it is released. Holds are never deleted: placing and releasing
are ledgered (``legal_hold.placed``, ``legal_hold.released``) and only ``services`` writes them.
A :class:`RetentionRun` is one run of the sweep: its counts grow batch by batch in the same
transactions as the erasures they count, so they stay exact even when a run is killed, and a
completed run has its one ``retention.sweep_completed`` entry.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.ids import uuid7


class Scope(models.TextChoices):
    AI_SYSTEM = "ai_system", "Every decision of one AI system"
    ACTOR = "actor", "Every decision of one actor"
    DECISION_IDS = "decision_ids", "Named decisions"
    TIME_RANGE = "time_range", "Every record made in a period"


class LegalHold(models.Model):
    """A legal hold (litigation, an authority's request, an investigation): what it covers, why,
    who asked, who placed it and, once it ends, who released it and why.

    The two free texts (reason, requested by) stay here next to their salt; the ledger holds their
    salted commitments. ``period_from``/``period_to`` bound the records' creation time: required
    for a ``time_range`` hold, optional narrowing for ``ai_system`` and ``actor`` holds.
    """

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    scope = models.CharField(max_length=16, choices=Scope.choices)
    ai_system = models.CharField(max_length=200, blank=True)
    actor = models.CharField(max_length=200, blank=True)
    decision_ids = models.JSONField(default=list, blank=True)
    period_from = models.DateTimeField(null=True, blank=True)
    period_to = models.DateTimeField(null=True, blank=True)
    reason = models.TextField()
    requested_by = models.CharField(max_length=200)
    text_salt = models.CharField(max_length=32)
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    placed_at = models.DateTimeField()
    placed_ledger_seq = models.BigIntegerField(unique=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    released_at = models.DateTimeField(null=True, blank=True)
    release_reason = models.TextField(blank=True)
    released_ledger_seq = models.BigIntegerField(null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(scope__in=Scope.values), name="retention_hold_known_scope"
            ),
            models.CheckConstraint(
                condition=~Q(scope="ai_system") | ~Q(ai_system=""),
                name="retention_hold_ai_system_named",
            ),
            models.CheckConstraint(
                condition=~Q(scope="actor") | ~Q(actor=""), name="retention_hold_actor_named"
            ),
            models.CheckConstraint(
                condition=~Q(scope="time_range")
                | Q(period_from__isnull=False, period_to__isnull=False),
                name="retention_hold_time_range_bounded",
            ),
            models.CheckConstraint(
                condition=Q(period_from__isnull=True)
                | Q(period_to__isnull=True)
                | Q(period_from__lt=models.F("period_to")),
                name="retention_hold_period_ordered",
            ),
            models.CheckConstraint(
                condition=Q(released_at__isnull=True, released_ledger_seq__isnull=True)
                | Q(released_at__isnull=False, released_ledger_seq__isnull=False),
                name="retention_hold_release_ledgered",
            ),
        ]
        indexes = [
            models.Index(
                fields=["placed_at"],
                condition=Q(released_at__isnull=True),
                name="retention_hold_active",
            )
        ]

    def __str__(self) -> str:
        return f"legal hold {self.pk} ({self.scope}{', released' if self.released_at else ''})"

    @property
    def is_active(self) -> bool:
        return self.released_at is None


class RetentionRun(models.Model):
    """One run of the retention sweep (task ``compliance.retention_sweep`` or
    ``manage.py retention_sweep``): when, as of which moment, by whom, and what it did so far.

    ``status`` is ``running`` until the run finishes (``completed``, with its ledger entry) or a
    later run finds it dead (``interrupted``: its work is kept and reported by that later run).
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        INTERRUPTED = "interrupted", "Interrupted (taken over by a later run)"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    trigger = models.CharField(max_length=40)
    actor_id = models.CharField(max_length=80)
    as_of = models.DateTimeField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    # What this run did, kept exact batch by batch (same transaction as the erasures).
    anonymised = models.JSONField(default=dict)  # retention class → decisions anonymised
    texts_erased = models.PositiveIntegerField(default=0)
    decisions_held = models.PositiveIntegerField(default=0)
    artifacts_expired = models.PositiveIntegerField(default=0)
    artifact_contents_deleted = models.PositiveIntegerField(default=0)
    artifacts_held = models.PositiveIntegerField(default=0)
    # Runs this one found interrupted and finished the work of.
    resumed = models.JSONField(default=list)
    # Stopped anonymising at its time budget (LEXECON_RETENTION_SWEEP_MAX_SECONDS).
    time_limited = models.BooleanField(default=False)
    ledger_seq = models.BigIntegerField(null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="completed")
                | Q(finished_at__isnull=False, ledger_seq__isnull=False),
                name="retention_run_completed_is_ledgered",
            ),
        ]

    def __str__(self) -> str:
        return f"retention run {self.pk} ({self.status})"

    @property
    def decisions_anonymised(self) -> int:
        return sum(int(n) for n in self.anonymised.values())


class DecisionDayCount(models.Model):
    """Decisions per retention class and day of writing: how many were ``made`` (filled once the
    day has closed, by :func:`apps.retention.services.day_counts_fill`) and how many of them the
    sweep has ``anonymised`` (moved in the sweep's own batch transactions). The Art. 12 status
    adds these up instead of counting a million rows (ADR 0021); both only ever grow, because a
    decision's class and ``created_at`` never change and decisions are never deleted."""

    retention_class = models.CharField(max_length=16)
    day = models.DateField()
    made = models.PositiveBigIntegerField(default=0)
    anonymised = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["retention_class", "day"]
        constraints = [
            models.UniqueConstraint(
                fields=["retention_class", "day"], name="retention_one_count_per_class_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.retention_class} {self.day}: {self.made} made, {self.anonymised} anonymised"


class DayCountCursor(models.Model):
    """One row: every day before ``filled_until`` has its ``made`` counts filled."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    filled_until = models.DateField(null=True, blank=True)

    def __str__(self) -> str:
        return f"day counts filled until {self.filled_until}"
