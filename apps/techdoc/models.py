"""Versioned narratives of the technical documentation, and the record of each generated document.

Both tables are append-only: a narrative is changed by saving a new version, never by editing a
row; a generated document is a new row naming its evidence artifact. There is no update or delete
code path, the admin cannot change or delete, and on PostgreSQL triggers refuse UPDATE, DELETE and
TRUNCATE of a non-empty table (migration 0002), as for the ledger and evidence.
"""

from __future__ import annotations

from django.db import models

from apps.core.ids import uuid7
from apps.techdoc.constants import DocumentFormat, NarrativeField


class Narrative(models.Model):
    """One version of one narrative field of one AI system: the text, its SHA-256 (what the
    ledger keeps), who wrote it and when, and the ledger entry that recorded it."""

    system = models.ForeignKey(
        "aisystems.AISystem", on_delete=models.PROTECT, related_name="narratives"
    )
    field = models.CharField(max_length=40, choices=NarrativeField.choices)
    version = models.PositiveIntegerField()
    text = models.TextField()
    text_sha256 = models.CharField(max_length=64)
    author = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    # The ledger actor id of the author (``user:<id>``), as the ledger entry names them.
    actor = models.CharField(max_length=80)
    ledger_seq = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["system_id", "field", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["system", "field", "version"], name="techdoc_one_row_per_version"
            ),
            models.CheckConstraint(
                condition=models.Q(field__in=NarrativeField.values), name="techdoc_known_field"
            ),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="techdoc_version_1_up"),
        ]

    def __str__(self) -> str:
        return f"{self.system_id} · {self.field} v{self.version}"


class GeneratedDocument(models.Model):
    """One generated Annex IV document: its format, the evidence artifact that stores it, the
    SHA-256 of its file and of its content, whether the validator found it complete, and the
    ``techdoc.generated`` ledger entry."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    system = models.ForeignKey(
        "aisystems.AISystem", on_delete=models.PROTECT, related_name="generated_documents"
    )
    format = models.CharField(max_length=8, choices=DocumentFormat.choices)
    artifact = models.ForeignKey(
        "evidence.EvidenceArtifact", on_delete=models.PROTECT, related_name="+"
    )
    sha256 = models.CharField(max_length=64)
    content_sha256 = models.CharField(max_length=64)
    complete = models.BooleanField()
    missing_count = models.PositiveIntegerField()
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    generated_by = models.CharField(max_length=80)
    ledger_seq = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(format__in=DocumentFormat.values), name="techdoc_known_format"
            )
        ]

    def __str__(self) -> str:
        return f"{self.system_id} {self.format} {self.sha256[:12]}"
