"""Decisions answered by ``POST /decide``; each has exactly one ledger entry (``decision.made``)."""

from __future__ import annotations

from django.db import models

from apps.core.ids import uuid7
from apps.core.retention import RetentionClass
from apps.decisions.querysets import DecisionQuerySet, ResponsibilityRecordQuerySet


class Outcome(models.TextChoices):
    ALLOWED = "allowed", "Allowed"
    DENIED = "denied", "Denied"
    ESCALATED = "escalated", "Escalated"


class Decision(models.Model):
    """One governance decision. Written together with its ledger entry (same statement or
    transaction); ``ledger_seq``/``ledger_entry_hash``/``timestamp`` come from that entry.

    The request context is personal-data-bearing, so it stays here (erasable) and the ledger holds
    only ``context_commitment`` = SHA-256(salt ‖ canonical(context)). ``retention_class`` is set
    when the decision is written (``apps.core.retention``); once that class's period has passed,
    the retention sweep (``apps.retention``) erases ``context`` and ``context_salt`` and sets
    ``anonymised_at`` — the only change a decision row ever sees after it is written, apart from
    ``response_unconfirmed``.
    """

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # No database-level foreign key (ADR 0007): its deferred check locked the agent key's row
    # FOR KEY SHARE at every commit, inside the serialised ledger append. Django's PROTECT and,
    # on PostgreSQL, a trigger on accounts_agentkey still keep every referenced key in place.
    agent_key = models.ForeignKey(
        "accounts.AgentKey",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    request_fingerprint = models.CharField(max_length=64)
    request_id = models.CharField(max_length=200, blank=True)
    actor = models.CharField(max_length=200)
    action = models.CharField(max_length=200)
    resource = models.CharField(max_length=500, null=True, blank=True)
    data_classes = models.JSONField(default=list)
    ai_system = models.CharField(max_length=200, blank=True)
    # Whether ai_system named a system of the AI system registry when the decision was made; null
    # when no ai_system was sent (and for decisions made before the registry existed).
    ai_system_registered = models.BooleanField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    reason = models.TextField()
    reasons = models.JSONField(default=list)
    controls = models.JSONField(default=list)
    policy_version = models.CharField(max_length=64, blank=True)
    risk_score = models.FloatField()
    risk_level = models.CharField(max_length=8)
    risk_dimensions = models.JSONField(default=dict)
    capability_token = models.TextField(null=True, blank=True)
    token_jti = models.CharField(max_length=64, null=True, blank=True)
    token_expires_at = models.BigIntegerField(null=True, blank=True)
    context = models.JSONField(null=True, blank=True)
    context_salt = models.CharField(max_length=32, blank=True)
    context_commitment = models.CharField(max_length=64, blank=True)
    ledger_seq = models.BigIntegerField(unique=True)
    ledger_entry_hash = models.CharField(max_length=64)
    timestamp = models.CharField(max_length=32)
    # Set when the answer may not have reached the agent (apps.decisions.delivery, ADR 0010).
    response_unconfirmed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Record-keeping (EU AI Act Art. 12/19, ADR 0021): the class fixed at write time, and when the
    # retention sweep erased the personal data (context, its salt, people's words) of this decision.
    retention_class = models.CharField(
        max_length=16, choices=RetentionClass.choices, default=RetentionClass.STANDARD
    )
    anonymised_at = models.DateTimeField(null=True, blank=True)

    objects = DecisionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        # Declared here rather than with db_index/unique on the fields: on PostgreSQL those add a
        # LIKE (varchar_pattern_ops) twin per column, and every index is paid for inside the
        # serialised ledger append that inserts this row. Outcome has three values: no index.
        indexes = [
            models.Index(fields=["actor"], name="decisions_actor"),
            models.Index(fields=["action"], name="decisions_action"),
            # The EU AI Act figures (apps.monitoring: Art. 9, 14, 72) count one AI system's
            # decisions over a time window with GROUP BY. Partial: decisions that name no AI
            # system (most, in many deployments) cost /decide no update of this index. Queries
            # repeat the condition (``.exclude(ai_system="")``) so that both databases use it.
            models.Index(
                fields=["ai_system", "created_at"],
                condition=~models.Q(ai_system=""),
                name="decisions_ai_system_time",
            ),
            # What the retention sweep and the Art. 12 status read: the decisions whose personal
            # data is still there, by class and age. Partial, so a decision leaves it once
            # anonymised and the index holds only the live tail, however long the table grows;
            # ai_system and actor ride along (PostgreSQL INCLUDE) so that legal holds can be
            # counted from the index alone, without visiting the wide rows (ADR 0021).
            models.Index(
                fields=["retention_class", "created_at", "id"],
                include=["ai_system", "actor"],
                condition=models.Q(anonymised_at__isnull=True),
                name="decisions_retention_live",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["token_jti"], name="decisions_one_token_jti"),
            models.UniqueConstraint(
                fields=["agent_key", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="decisions_one_per_idempotency_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.actor} {self.action}: {self.outcome}"


class ResponsibilityRecord(models.Model):
    """WHO decided WHAT and WHY, at which level of human involvement (DESIGN §9, Art. 14).

    One row beside every ledger entry that settles or changes a decision's outcome: the automated
    decision itself, each four-eyes approval, a resolution, an SLA expiry, an override, a stop and
    a human intervention recorded for Art. 14 (``apps.monitoring``).
    Written only by :func:`apps.decisions.records.responsibility_record` in the transaction (on
    PostgreSQL for a decision: the statement) of its ledger entry, whose ``seq`` it keeps.
    Immutable once written. People appear as ``user:<id>`` here as on the ledger; the free-text
    ``reason`` is the one place their words are kept, erasable with the rest of the row's data.
    """

    class Kind(models.TextChoices):
        DECISION = "decision", "Automated decision"
        APPROVAL = "approval", "Four-eyes approval"
        RESOLUTION = "resolution", "Escalation resolved"
        EXPIRY = "expiry", "Escalation expired (SLA)"
        OVERRIDE = "override", "Override"
        STOP = "stop", "Agent stopped"
        INTERVENTION = "intervention", "Human intervention (Art. 14)"

    class Level(models.TextChoices):
        AUTOMATED = "automated", "Automated"
        SUPERVISED = "supervised", "Supervised"
        SHARED = "shared", "Shared"
        FULL = "full", "Full"

    class ActorKind(models.TextChoices):
        AGENT = "agent", "Agent"
        USER = "user", "User"
        SYSTEM = "system", "System"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    decision = models.ForeignKey(
        Decision, on_delete=models.PROTECT, related_name="responsibility_records"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    escalation = models.ForeignKey(
        "escalations.Escalation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="responsibility_records",
    )
    override = models.ForeignKey(
        "escalations.Override",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="responsibility_records",
    )
    user = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_kind = models.CharField(max_length=8, choices=ActorKind.choices)
    actor_id = models.CharField(max_length=80)
    actor_label = models.CharField(max_length=150)
    role = models.CharField(max_length=100, blank=True)
    level = models.CharField(max_length=16, choices=Level.choices)
    reason = models.TextField()
    ai_recommendation = models.CharField(max_length=64)
    human_decision = models.CharField(max_length=64, blank=True)
    ledger_seq = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ResponsibilityRecordQuerySet.as_manager()

    class Meta:
        ordering = ["ledger_seq", "id"]
        indexes = [
            # The human acts (everything but the automated record every /decide writes) by time,
            # for the Art. 14 override rate (apps.monitoring). Partial, so /decide's own record
            # never updates it; queries repeat the condition (``.exclude(kind="decision")``).
            models.Index(
                fields=["created_at"],
                condition=~models.Q(kind="decision"),
                name="decisions_human_records_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.level}: {self.actor_label} {self.human_decision or self.ai_recommendation}"
