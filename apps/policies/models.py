"""Immutable policy versions and the pointer to the active one."""

from __future__ import annotations

from django.db import models

from apps.core.models import TimeStampedModel


class PolicyVersion(TimeStampedModel):
    """One loaded policy document, identified by the SHA-256 of its canonical (RFC 8785) JSON.

    Never edited: loading a changed document creates a new version; loading the same one again
    returns this row.
    """

    version_hash = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    version = models.CharField(max_length=100)
    mode = models.CharField(max_length=16)
    dialect = models.CharField(max_length=32)
    document = models.JSONField(help_text="normalised native document (what the hash covers)")
    source = models.JSONField(help_text="the document exactly as loaded")
    relation_count = models.PositiveIntegerField()
    loaded_by = models.CharField(max_length=150)
    ledger_seq = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} {self.version} ({self.version_hash[:12]})"


class ActivePolicy(models.Model):
    """The single row naming the active version (the pointer every worker re-reads)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="+")
    activated_at = models.DateTimeField(auto_now=True)
    activated_by = models.CharField(max_length=150)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="policies_one_active")]

    def __str__(self) -> str:
        return f"active: {self.version}"


class PolicyActivation(models.Model):
    """History of activations (each is also a ledger entry)."""

    version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="activations")
    previous = models.ForeignKey(
        PolicyVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    activated_by = models.CharField(max_length=150)
    activated_at = models.DateTimeField(auto_now_add=True)
    ledger_seq = models.BigIntegerField()
    # The reason a person typed on the staff page (required there); the ledger entry holds only
    # its salted commitment, opened with ``reason_salt``.
    reason = models.TextField(blank=True)
    reason_salt = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["-activated_at"]

    def __str__(self) -> str:
        return f"{self.version} activated by {self.activated_by}"


class PolicySimulation(TimeStampedModel):
    """One replay of recent decisions through a (draft) version, run by a Celery task (ADR 0030).

    Written as ``pending`` when asked for, moved to ``running`` with its progress as the task goes
    and to ``done`` (with ``result`` and the ``policy.simulated`` ledger entry) or ``failed``.
    A simulation changes nothing else: no decision, token, escalation or other ledger entry.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="simulations")
    #: The version active when the simulation was asked for (what the officer compares against).
    baseline = models.ForeignKey(
        PolicyVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested = models.PositiveIntegerField()
    requested_by = models.CharField(max_length=150)
    #: Who asked, as the ledger envelope names them (the summary entry's actor).
    actor = models.JSONField(default=dict)
    #: The HTTP request that asked for it, for the summary entry (joins the logs).
    request_id = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    ledger_seq = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"simulation of {self.version} over {self.requested} decisions ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.processed / self.total) if self.total else 0
