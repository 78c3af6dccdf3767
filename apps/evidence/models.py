"""Evidence artifacts (immutable, content-addressed) and their appended links.

Rows are never deleted by the application and never updated but in one way: when its retention
ends, the expiry task sets an artifact's ``expired_at``, once (``services.evidence_expire_due``).
There is no other such code path, the admin is read-only, and on PostgreSQL triggers refuse every
other UPDATE and every DELETE/TRUNCATE of these tables (migrations 0002 and 0003; SQLite has no
such triggers). The bytes live in the ``evidence`` storage under their SHA-256
(``ab/cd/<sha256>``), stored once however many artifacts share them (ADR 0018).
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from apps.core.ids import uuid7
from apps.core.retention import RetentionClass
from apps.evidence.constants import ArtifactType
from apps.evidence.querysets import EvidenceArtifactQuerySet


def content_name(sha256: str) -> str:
    """Where the bytes of ``sha256`` live in the evidence storage."""
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


class EvidenceArtifact(models.Model):
    """One registered artifact: what it is, the hash and size of its bytes, who registered it,
    until when it is kept, the ledger entry that recorded it, and when its retention expired it
    (its bytes are then gone unless another unexpired artifact shares them)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    artifact_type = models.CharField(max_length=32, choices=ArtifactType.choices)
    title = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64, db_index=True)
    size_bytes = models.BigIntegerField()
    media_type = models.CharField(max_length=200)
    source = models.CharField(max_length=200, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    retention_days = models.PositiveIntegerField()
    retention_until = models.DateTimeField()
    # Record-keeping class fixed at registration (apps.core.retention, ADR 0021): a floor on
    # retention_days, never a shortening of the type's period.
    retention_class = models.CharField(
        max_length=16, choices=RetentionClass.choices, default=RetentionClass.STANDARD
    )
    # Who registered it: the agent key (for the visibility rule) and the ledger actor id.
    registered_by_key = models.ForeignKey(
        "accounts.AgentKey",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    registered_by = models.CharField(max_length=80)
    ledger_seq = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Set once, by the retention expiry only (the one UPDATE the PostgreSQL trigger allows).
    expired_at = models.DateTimeField(null=True, blank=True)

    objects = EvidenceArtifactQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(size_bytes__gte=0), name="evidence_size_non_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(artifact_type__in=ArtifactType.values),
                name="evidence_known_type",
            ),
            # Never expired before its retention ended (both databases check this one).
            models.CheckConstraint(
                condition=Q(expired_at__isnull=True) | Q(expired_at__gte=F("retention_until")),
                name="evidence_expired_after_retention",
            ),
        ]
        indexes = [
            # What the expiry task scans: unexpired artifacts by end of retention.
            models.Index(
                fields=["retention_until"],
                condition=Q(expired_at__isnull=True),
                name="evidence_due_for_expiry",
            )
        ]

    def __str__(self) -> str:
        return f"{self.artifact_type} {self.sha256[:12]}"

    @property
    def content_name(self) -> str:
        return content_name(self.sha256)

    @property
    def is_expired(self) -> bool:
        return self.expired_at is not None


class EvidenceDecisionLink(models.Model):
    """An artifact is evidence about a decision (appended, never removed)."""

    artifact = models.ForeignKey(
        EvidenceArtifact, on_delete=models.PROTECT, related_name="decision_links"
    )
    decision = models.ForeignKey(
        "decisions.Decision", on_delete=models.PROTECT, related_name="evidence_links"
    )
    ledger_seq = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["artifact", "decision"], name="evidence_one_link_per_decision"
            )
        ]

    def __str__(self) -> str:
        return f"{self.artifact_id} → decision {self.decision_id}"


class EvidenceControlLink(models.Model):
    """An artifact is evidence for a framework's control (appended, never removed)."""

    artifact = models.ForeignKey(
        EvidenceArtifact, on_delete=models.PROTECT, related_name="control_links"
    )
    framework = models.CharField(max_length=32)
    control_id = models.CharField(max_length=64)
    ledger_seq = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["artifact", "framework", "control_id"],
                name="evidence_one_link_per_control",
            )
        ]
        indexes = [models.Index(fields=["framework", "control_id"], name="evidence_control_lookup")]

    def __str__(self) -> str:
        return f"{self.artifact_id} → {self.framework}:{self.control_id}"

    @property
    def ref(self) -> str:
        return f"{self.framework}:{self.control_id}"
