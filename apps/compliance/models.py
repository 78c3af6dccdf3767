"""Frameworks, controls, the capability crosswalk, attestations and the evidence tally.

There is no status column anywhere: a control's status is computed on every read by its rule
(apps/compliance/rules.py) from live data. What is stored is the catalog (loaded from the shipped
files by ``load_catalogs``), officers' attestations (append-only, ledgered), and the evidence tally:
per day and key, how many ledger entries counted as evidence, rolled up from the ledger by seq so
that counting never scans the decisions table (docs/compliance.md).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.core.ids import uuid7


class Framework(models.Model):
    """One catalog as loaded: its identity, licence class and the hash of the file it came from."""

    id = models.CharField(primary_key=True, max_length=20)
    name = models.CharField(max_length=300)
    version = models.CharField(max_length=40)
    publisher = models.CharField(max_length=300)
    published = models.CharField(max_length=10, blank=True)
    licence_class = models.CharField(max_length=24)
    copyright = models.TextField()
    source_url = models.CharField(max_length=300, blank=True)
    aliases = models.JSONField(default=list)
    catalog_sha256 = models.CharField(max_length=64)
    position = models.PositiveSmallIntegerField(default=0)
    loaded_at = models.DateTimeField()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class Control(models.Model):
    """A control (or a group node) of a framework, as its catalog file describes it.

    A control that a later catalog no longer lists is kept (attestations and links name it) and
    marked ``withdrawn``.
    """

    framework = models.ForeignKey(Framework, on_delete=models.PROTECT, related_name="controls")
    control_id = models.CharField(max_length=64)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    title = models.CharField(max_length=300)
    summary = models.TextField(blank=True)
    category = models.CharField(max_length=120, blank=True)
    assessable = models.BooleanField(default=True)
    rule = models.CharField(max_length=40, blank=True)
    typical_evidence = models.JSONField(default=list, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    official_text = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    withdrawn = models.BooleanField(default=False)

    class Meta:
        ordering = ["framework", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["framework", "control_id"], name="compliance_one_control_per_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.framework_id}:{self.control_id}"

    @property
    def ref(self) -> str:
        return f"{self.framework_id}:{self.control_id}"


class Capability(models.Model):
    """Something the engine does that evidences controls (DOMAIN B.7), with the ledger entry types
    whose entries count as that evidence."""

    id = models.CharField(primary_key=True, max_length=64)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    entry_types = models.JSONField(default=list)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name_plural = "capabilities"

    def __str__(self) -> str:
        return self.id


class ControlMapping(models.Model):
    """Capability → control, with the relationship vocabulary of the ciso-assistant mapping sets."""

    class Relationship(models.TextChoices):
        EQUAL = "equal", "equal"
        SUBSET = "subset", "subset"
        SUPERSET = "superset", "superset"
        INTERSECT = "intersect", "intersect"

    capability = models.ForeignKey(Capability, on_delete=models.CASCADE, related_name="mappings")
    control = models.ForeignKey(Control, on_delete=models.PROTECT, related_name="mappings")
    relationship = models.CharField(max_length=16, choices=Relationship.choices)
    rationale = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["capability", "control"], name="compliance_one_mapping_per_pair"
            )
        ]

    def __str__(self) -> str:
        return f"{self.capability_id} → {self.control}"


class Attestation(models.Model):
    """An officer's signed-off statement that a control is in place, until it expires.

    Append-only (on PostgreSQL the ledger's trigger functions refuse UPDATE/DELETE); every row has
    its ``compliance.attested`` ledger entry. A newer attestation supersedes older ones by date.
    """

    class Status(models.TextChoices):
        IMPLEMENTED = "implemented", "Implemented"
        PARTIALLY_IMPLEMENTED = "partially_implemented", "Partially implemented"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    control = models.ForeignKey(Control, on_delete=models.PROTECT, related_name="attestations")
    status = models.CharField(max_length=24, choices=Status.choices)
    justification = models.TextField()
    evidence_ids = models.JSONField(default=list, blank=True)
    expires_at = models.DateTimeField()
    attested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    ledger_seq = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["control", "-created_at"], name="attestation_latest")]

    def __str__(self) -> str:
        return f"{self.control} attested {self.status}"


class EvidenceTally(models.Model):
    """How many ledger entries counted as evidence for ``key`` on ``day`` (and the newest one).

    Keys: ``cap:<capability>`` (the entry's type belongs to the capability) and
    ``ctl:<framework>:<control id>`` (the entry names the control: a decision's rule tags, an
    evidence link, an attestation); ``tag:<tag>`` keeps tags that name no known control.
    """

    key = models.CharField(max_length=160)
    day = models.DateField()
    count = models.PositiveBigIntegerField(default=0)
    last_seq = models.BigIntegerField()
    last_at = models.CharField(max_length=32)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "day"], name="compliance_one_tally_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.day}: {self.count}"


class EvidenceTotal(models.Model):
    """The running total of ``EvidenceTally`` per key (all days), kept in the same transaction as
    the per-day rows: status reads answer from a few hundred rows, whatever the history."""

    key = models.CharField(primary_key=True, max_length=160)
    count = models.PositiveBigIntegerField(default=0)
    last_seq = models.BigIntegerField()
    last_at = models.CharField(max_length=32)

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"


class ControlEvidence(models.Model):
    """A ledger entry that names this control directly: a decision whose rules carry the control's
    tag, an evidence registration or link to it, an attestation of it (written by the tally)."""

    class Via(models.TextChoices):
        TAG = "tag", "policy rule tag"
        LINK = "link", "evidence link"
        ATTESTATION = "attestation", "attestation"

    control = models.ForeignKey(Control, on_delete=models.PROTECT, related_name="+")
    ledger_seq = models.BigIntegerField()
    entry_type = models.CharField(max_length=64)
    via = models.CharField(max_length=16, choices=Via.choices)
    at = models.CharField(max_length=32)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["control", "ledger_seq"], name="compliance_one_evidence_row_per_entry"
            )
        ]
        indexes = [models.Index(fields=["control", "-ledger_seq"], name="control_evidence_newest")]

    def __str__(self) -> str:
        return f"#{self.ledger_seq} → control {self.control_id} ({self.via})"


class TallyCursor(models.Model):
    """The ledger seq up to which the tally has counted (one row, id 1)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=-1)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"tally at seq {self.last_seq}"
