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

    class Meta:
        ordering = ["-activated_at"]

    def __str__(self) -> str:
        return f"{self.version} activated by {self.activated_by}"
