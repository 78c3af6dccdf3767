"""Append-only ledger rows, the chain head, stored Merkle nodes, signing keys and checkpoints.

Formats are exact (DESIGN §7, docs/ledger-formats.md). ``payload`` holds the RFC 8785 canonical JSON
text of the payload, so the bytes that were hashed are the bytes that are stored (no JSON column
re-ordering keys or normalising numbers under us). Only ``services.ledger_append`` writes entries.
"""

from __future__ import annotations

import json

from django.db import models

from apps.ledger.entry_types import EntryType


class LedgerEntry(models.Model):
    """One entry: ``{seq, entry_type, timestamp, payload, prev_hash}`` plus its hashes.

    ``UNIQUE(seq)`` (primary key) and ``UNIQUE(prev_hash)`` make a fork impossible in the schema;
    on PostgreSQL a trigger refuses UPDATE, DELETE and TRUNCATE. Indexes are declared in ``Meta``
    only: every one is paid for inside the serialised append, so there is no ``LIKE`` companion
    index and none on ``entry_hash`` (nothing looks entries up by it; it is unique by SHA-256).
    """

    seq = models.BigIntegerField(primary_key=True)
    entry_type = models.CharField(max_length=64, choices=EntryType.choices)
    timestamp = models.CharField(max_length=32)
    payload = models.TextField()
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64)
    leaf_hash = models.BinaryField(max_length=32)

    class Meta:
        ordering = ["seq"]
        verbose_name_plural = "ledger entries"
        constraints = [
            models.CheckConstraint(condition=models.Q(seq__gte=0), name="ledger_seq_non_negative"),
            models.UniqueConstraint(fields=["prev_hash"], name="ledger_one_successor_per_entry"),
        ]
        indexes = [models.Index(fields=["entry_type", "seq"], name="ledger_entry_type_seq")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.entry_type}"

    @property
    def payload_data(self) -> dict:
        return json.loads(self.payload)


class LedgerEntryFacet(models.Model):
    """What the ledger browser filters by, per entry: actor and subject, read from the payload.

    A finding aid, not evidence: filled after the fact by ``services.ledger_facets_fill`` (with
    each checkpoint), never by ``ledger_append``, so the serialised append pays for no JSON parse
    and no extra index (ADR 0029). Entries past the last filled ``seq`` are matched by reading
    their payloads. Append-only on PostgreSQL like the stored Merkle nodes (migration 0020).
    """

    seq = models.BigIntegerField(primary_key=True)
    entry_type = models.CharField(max_length=64)
    actor = models.CharField(max_length=200, blank=True)
    subject_type = models.CharField(max_length=64, blank=True)
    subject_id = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["actor", "seq"], name="ledger_facet_actor_seq"),
            models.Index(fields=["subject_id", "seq"], name="ledger_facet_subject_seq"),
        ]

    def __str__(self) -> str:
        return f"facets of #{self.seq}"


class ChainHead(models.Model):
    """The single row that serialises appends (``SELECT … FOR UPDATE`` on PostgreSQL).

    ``seq`` is -1 before the genesis entry.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=-1)
    entry_hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="ledger_single_head")]

    def __str__(self) -> str:
        return f"head at #{self.seq}"


class MerkleNode(models.Model):
    """Hash of a complete, aligned perfect subtree of ``2**level`` leaves (immutable once complete).

    Only levels >= ``merkle.STORED_MIN_LEVEL`` are stored; lower levels are folded from leaf hashes
    on demand, so a proof reads a few hundred leaf hashes and a dozen nodes instead of scanning.
    Proofs are served from these rows, so they are append-only like the entries (migration 0006)
    and ``selectors.ledger_verify`` recomputes each one from the entries.
    """

    level = models.PositiveSmallIntegerField()
    index = models.BigIntegerField()
    hash = models.BinaryField(max_length=32)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["level", "index"], name="ledger_merkle_node_position")
        ]

    def __str__(self) -> str:
        return f"node L{self.level}#{self.index}"


class SigningKey(models.Model):
    """A signing key with id, status and validity; the private key is AES-GCM encrypted at rest."""

    class Algorithm(models.TextChoices):
        ED25519 = "Ed25519", "Ed25519"
        RSA_PSS_4096 = "RSA-PSS-4096", "RSA-4096 PSS (SHA-256)"

    class Purpose(models.TextChoices):
        CHECKPOINT = "checkpoint", "Ledger checkpoints"
        TOKEN = "token", "Capability tokens"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active (signs and verifies)"
        RETIRED = "retired", "Retired (verifies only)"

    kid = models.CharField(max_length=64, unique=True)
    algorithm = models.CharField(max_length=16, choices=Algorithm.choices)
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    public_key = models.BinaryField()
    encrypted_private_key = models.BinaryField()
    master_key_id = models.CharField(max_length=16)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "kid"]
        constraints = [
            models.UniqueConstraint(
                fields=["purpose", "algorithm"],
                condition=models.Q(status="active"),
                name="ledger_one_active_key_per_purpose_algorithm",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kid} ({self.algorithm}, {self.purpose}, {self.status})"


class Checkpoint(models.Model):
    """A signed C2SP tlog-checkpoint note over the tree of the first ``tree_size`` entries."""

    tree_size = models.BigIntegerField(unique=True)
    root_hash = models.BinaryField(max_length=32)
    note = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tree_size"]

    def __str__(self) -> str:
        return f"checkpoint @{self.tree_size}"


class VerificationRun(models.Model):
    """One full verification of the ledger (``ledger.verify`` task, ``manage.py verify_ledger``):
    when it ran, how far it got and what it found. Compliance rules read the latest run instead of
    re-verifying on every request (docs/compliance.md)."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    valid = models.BooleanField()
    entries_checked = models.BigIntegerField()
    checkpoint_size = models.BigIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    first_invalid_seq = models.BigIntegerField(null=True, blank=True)
    message = models.TextField(blank=True)
    trigger = models.CharField(max_length=40)

    class Meta:
        ordering = ["-finished_at", "-id"]
        indexes = [models.Index(fields=["-finished_at"], name="ledger_verification_latest")]

    def __str__(self) -> str:
        return (
            f"verification {self.finished_at:%Y-%m-%d %H:%M} {'valid' if self.valid else 'INVALID'}"
        )
