"""Serious incidents (EU AI Act Art. 73), their history, report versions, deadline warnings and
the decisions taken on suggested incidents.

Every row here is written by ``apps.incidents.services`` together with its ledger entry, whose
``seq`` it keeps; nothing is deleted. Free text people wrote (the description, transition notes,
dismissal reasons) lives only here, beside its salt; the ledger holds the salted commitment
(``apps.ledger.services.commit_personal``), so retention can erase the text and the chain still
verifies. The deadlines are not stored: they are computed from ``aware_at`` and the category
(``apps.incidents.clocks``) wherever they are shown.
"""

from __future__ import annotations

from django.db import models

from apps.core.ids import uuid7
from apps.incidents.constants import (
    Category,
    Clock,
    ReportKind,
    Status,
    SuggestionOutcome,
    SuggestionSource,
)


class Incident(models.Model):
    """A serious incident of a registered AI system: when the organisation became aware of it,
    which Art. 73 period applies, what happened, the decisions and evidence it concerns, whether
    personal data are involved (GDPR Art. 33 runs alongside) and where it stands."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    ai_system = models.ForeignKey(
        "aisystems.AISystem", on_delete=models.PROTECT, related_name="incidents"
    )
    category = models.CharField(max_length=40, choices=Category.choices)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.OPEN)
    aware_at = models.DateTimeField(help_text="When the organisation became aware of it.")
    # ISO 3166 code of the Member State where it occurred (its authority receives the report).
    member_state = models.CharField(max_length=2, blank=True)
    description = models.TextField()
    description_salt = models.CharField(max_length=32)
    description_commitment = models.CharField(max_length=64)
    personal_data_involved = models.BooleanField(default=False)
    decisions = models.ManyToManyField("decisions.Decision", related_name="incidents", blank=True)
    evidence = models.ManyToManyField(
        "evidence.EvidenceArtifact", related_name="incidents", blank=True
    )
    # GDPR Art. 33: when the officer recorded that the supervisory authority was notified.
    gdpr_notified_at = models.DateTimeField(null=True, blank=True)
    gdpr_notified_by = models.CharField(max_length=80, blank=True)
    gdpr_notified_ledger_seq = models.BigIntegerField(null=True, blank=True)
    # The suggestion it was opened from (``agent_stop:<id>``, ...), or "".
    suggestion_key = models.CharField(max_length=200, blank=True)
    # Ledger actor id of whoever opened it (``user:<id>``).
    created_by = models.CharField(max_length=80)
    ledger_seq = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-aware_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(category__in=Category.values), name="incidents_known_category"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=Status.values), name="incidents_known_status"
            ),
            models.CheckConstraint(
                condition=models.Q(gdpr_notified_at__isnull=True)
                | models.Q(personal_data_involved=True),
                name="incidents_gdpr_notice_needs_personal_data",
            ),
        ]
        indexes = [models.Index(fields=["status", "aware_at"], name="incidents_status_aware")]

    def __str__(self) -> str:
        return f"incident {self.pk} ({self.category}, {self.status})"


class IncidentTransition(models.Model):
    """One move of an incident's state: who, when, the report it sent, and an optional note."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="transitions")
    before = models.CharField(max_length=24, choices=Status.choices)
    after = models.CharField(max_length=24, choices=Status.choices)
    actor = models.CharField(max_length=80)
    report = models.ForeignKey(
        "IncidentReport", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)
    note_salt = models.CharField(max_length=32, blank=True)
    note_commitment = models.CharField(max_length=64, blank=True)
    ledger_seq = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["ledger_seq"]

    def __str__(self) -> str:
        return f"{self.incident_id}: {self.before} → {self.after}"


class IncidentReport(models.Model):
    """One generated version of an incident's report, pre-filled from its linked records and
    stored twice as ``external_report`` evidence: the HTML and the PDF rendered from it."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="reports")
    kind = models.CharField(max_length=16, choices=ReportKind.choices)
    version = models.PositiveIntegerField()
    html_artifact = models.ForeignKey(
        "evidence.EvidenceArtifact", on_delete=models.PROTECT, related_name="+"
    )
    pdf_artifact = models.ForeignKey(
        "evidence.EvidenceArtifact", on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.CharField(max_length=80)
    ledger_seq = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["incident", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "version"], name="incidents_one_report_per_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} report v{self.version} of {self.incident_id}"


class IncidentWarning(models.Model):
    """A warning that a clock's deadline is near (``lead_hours`` before it) or has passed
    (``lead_hours`` 0): written once per incident, clock and lead, then e-mailed."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="warnings")
    clock = models.CharField(max_length=16, choices=Clock.choices)
    lead_hours = models.PositiveIntegerField()
    due_at = models.DateTimeField()
    recipients = models.PositiveIntegerField()
    ledger_seq = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set by the e-mail task once the messages went out.
    mailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "clock", "lead_hours"], name="incidents_warn_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.clock} warning {self.lead_hours} h for {self.incident_id}"


class SuggestionDecision(models.Model):
    """What a person decided about a suggested incident: accepted (an incident was opened from
    it) or dismissed, with why. A decided suggestion leaves the queue."""

    key = models.CharField(max_length=200, unique=True)
    source = models.CharField(max_length=24, choices=SuggestionSource.choices)
    outcome = models.CharField(max_length=16, choices=SuggestionOutcome.choices)
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor = models.CharField(max_length=80)
    reason = models.TextField(blank=True)
    reason_salt = models.CharField(max_length=32, blank=True)
    reason_commitment = models.CharField(max_length=64, blank=True)
    ledger_seq = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.key}: {self.outcome}"
