"""Human oversight (DESIGN §9, DOMAIN Part D): escalations, assignments, approvals, overrides and stops.

Every row here that records a human (or SLA) act carries the ``seq`` of the ledger entry written in the
same transaction, so the decision's page can list exactly the entries that concern it. Free text written
by people (notes, justifications, reasons) lives only here, next to its salt; the ledger holds the
salted commitment (``apps.ledger.services.commit_personal``), so retention can erase the text later and
the chain still verifies.

Object permissions (django-guardian) use direct foreign-key tables (``EscalationUserObjectPermission``)
instead of the generic table: typed joins on the UUID primary key, and the permissions go with the row.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from apps.core.models import TimeStampedModel
from apps.escalations.querysets import EscalationQuerySet


class Priority(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


# SLA per priority (DESIGN §9); LEXECON_SLA_HOURS overrides (see docs/configuration.md).
DEFAULT_SLA = {
    Priority.CRITICAL: timedelta(hours=2),
    Priority.HIGH: timedelta(hours=8),
    Priority.MEDIUM: timedelta(hours=24),
    Priority.LOW: timedelta(hours=72),
}

# Sort key for "most urgent first" (critical before low).
PRIORITY_RANK = {Priority.CRITICAL: 0, Priority.HIGH: 1, Priority.MEDIUM: 2, Priority.LOW: 3}


class Escalation(TimeStampedModel):
    """A decision waiting for a human verdict, with a priority and an SLA deadline.

    Created by ``/decide`` for escalated decisions (same transaction as ``decision.made``) or by a human
    or agent asking for a second look (``escalation_create``, its own ``escalation.created`` entry).
    Status moves only through ``services.escalation_transition`` (see ``services.TRANSITIONS``).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"
        EXPIRED = "expired", "Expired"

    class Resolution(models.TextChoices):
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"

    decision = models.OneToOneField(
        "decisions.Decision", on_delete=models.PROTECT, related_name="escalation"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    resolution = models.CharField(max_length=16, choices=Resolution.choices, blank=True)
    priority = models.CharField(max_length=16, choices=Priority.choices)
    sla_deadline = models.DateTimeField(db_index=True)
    reason = models.CharField(max_length=500)
    # Who asked for the escalation: "" = the policy engine (``/decide``), else "user:<id>"/"agent:<name>".
    escalated_by = models.CharField(max_length=150, blank=True)
    reason_salt = models.CharField(max_length=32, blank=True)
    reason_commitment = models.CharField(max_length=64, blank=True)
    created_ledger_seq = models.BigIntegerField(null=True, blank=True)

    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_ledger_seq = models.BigIntegerField(null=True, blank=True)

    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)
    note_salt = models.CharField(max_length=32, blank=True)
    note_commitment = models.CharField(max_length=64, blank=True)
    # ``escalation.resolved`` or ``escalation.expired``.
    resolved_ledger_seq = models.BigIntegerField(null=True, blank=True)

    # The capability token minted on approval, bound to the decision's exact actor/action/resource.
    capability_token = models.TextField(null=True, blank=True)
    token_jti = models.CharField(max_length=64, null=True, blank=True, unique=True)
    token_expires_at = models.BigIntegerField(null=True, blank=True)

    sla_warning_sent_at = models.DateTimeField(null=True, blank=True)

    objects = EscalationQuerySet.as_manager()

    class Meta:
        ordering = ["sla_deadline"]
        permissions = [
            ("view_all_escalations", "Can see every escalation, assigned or not"),
            ("assign_escalation", "Can assign escalations to reviewers"),
            (
                "review_escalation",
                "Can acknowledge and resolve this escalation (object permission)",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(status="resolved", resolution__in=["approved", "denied"])
                    | models.Q(status="expired", resolution="denied")
                    | models.Q(status__in=["pending", "acknowledged"], resolution="")
                ),
                name="escalations_resolution_matches_status",
            ),
        ]

    def __str__(self) -> str:
        return f"escalation {self.pk} ({self.status}, {self.priority})"

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.ACKNOWLEDGED)


class EscalationAssignment(TimeStampedModel):
    """A reviewer assigned to an escalation (the record; the authority is the guardian permission)."""

    escalation = models.ForeignKey(Escalation, on_delete=models.PROTECT, related_name="assignments")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    ledger_seq = models.BigIntegerField()

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["escalation", "reviewer"], name="escalations_assign_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.reviewer} on {self.escalation_id}"


class EscalationApproval(TimeStampedModel):
    """One approver's approval under the four-eyes rule (the second distinct approver resolves)."""

    escalation = models.ForeignKey(Escalation, on_delete=models.PROTECT, related_name="approvals")
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField()
    note_salt = models.CharField(max_length=32)
    note_commitment = models.CharField(max_length=64)
    ledger_seq = models.BigIntegerField()

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["escalation", "approver"], name="escalations_one_approval_per_person"
            )
        ]

    def __str__(self) -> str:
        return f"approval by {self.approver} of {self.escalation_id}"


class Override(TimeStampedModel):
    """An officer's override of a decision. Never edits the decision: the effective outcome is the
    latest override still in force (``selectors.override_in_force``)."""

    class Type(models.TextChoices):
        EMERGENCY_BYPASS = "emergency_bypass", "Emergency bypass"
        EXECUTIVE_OVERRIDE = "executive_override", "Executive override"
        TIME_LIMITED_EXCEPTION = "time_limited_exception", "Time-limited exception"
        RISK_ACCEPTED = "risk_accepted", "Risk accepted"

    class Outcome(models.TextChoices):
        ALLOWED = "allowed", "Allow"
        DENIED = "denied", "Deny"

    decision = models.ForeignKey(
        "decisions.Decision", on_delete=models.PROTECT, related_name="overrides"
    )
    override_type = models.CharField(max_length=32, choices=Type.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    previous_outcome = models.CharField(max_length=16)
    executed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    justification = models.TextField()
    justification_salt = models.CharField(max_length=32)
    justification_commitment = models.CharField(max_length=64)
    expires_at = models.DateTimeField(null=True, blank=True)
    capability_token = models.TextField(null=True, blank=True)
    token_jti = models.CharField(max_length=64, null=True, blank=True, unique=True)
    token_expires_at = models.BigIntegerField(null=True, blank=True)
    ledger_seq = models.BigIntegerField()

    class Meta:
        ordering = ["created_at"]
        constraints = [
            # An emergency bypass is one-time per decision, whatever races happen.
            models.UniqueConstraint(
                fields=["decision"],
                condition=models.Q(override_type="emergency_bypass"),
                name="escalations_one_emergency_bypass_per_decision",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.override_type} → {self.outcome} on {self.decision_id}"


class AgentStop(TimeStampedModel):
    """A "stop" pressed on a decision's page: the agent's outstanding tokens were revoked (Art. 14(4)(e))."""

    decision = models.ForeignKey(
        "decisions.Decision", on_delete=models.PROTECT, related_name="agent_stops"
    )
    stopped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField()
    reason_salt = models.CharField(max_length=32)
    reason_commitment = models.CharField(max_length=64)
    revoked_jtis = models.JSONField(default=list)
    ledger_seq = models.BigIntegerField()

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"stop on {self.decision_id} ({len(self.revoked_jtis)} tokens)"


class EscalationUserObjectPermission(UserObjectPermissionBase):
    """guardian: per-user permissions on one escalation (direct foreign key, UUID-safe)."""

    content_object = models.ForeignKey(Escalation, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        abstract = False


class EscalationGroupObjectPermission(GroupObjectPermissionBase):
    """guardian: per-group permissions on one escalation (direct foreign key)."""

    content_object = models.ForeignKey(Escalation, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        abstract = False
