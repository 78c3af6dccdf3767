"""One row per audit export: what was asked, by whom, how far it got, and the file it produced."""

from __future__ import annotations

from django.db import models

from apps.audit.constants import Format, Scope, Status
from apps.core.ids import uuid7


class Export(models.Model):
    """An audit export or evidence package (``POST /audit/export``).

    Written by ``apps.audit.services`` only: queued by the request, run by the Celery task
    ``audit.export_run`` (idempotent by ``id``), and finished with one ``export.created`` ledger
    entry (``ledger_seq``) naming the file's SHA-256. ``requested_by`` is the requester's
    pseudonymous actor id (``user:<id>`` or ``agent:<key prefix>``); the key or user it belongs
    to decides who may read the export (an agent key sees only its own). The file is deleted
    after ``LEXECON_EXPORT_RETENTION_DAYS`` (``file_deleted_at``); the row and the ledger entry stay.
    """

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    scope = models.CharField(max_length=16, choices=Scope.choices)
    format = models.CharField(max_length=16, choices=Format.choices)
    period_from = models.DateTimeField(null=True, blank=True)
    period_to = models.DateTimeField(null=True, blank=True)
    ai_system = models.CharField(max_length=200, blank=True)
    framework = models.CharField(max_length=32, blank=True)
    requested_by = models.CharField(max_length=80)
    requested_by_user = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_by_key = models.ForeignKey(
        "accounts.AgentKey", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0)
    attempts = models.PositiveIntegerField(default=0)
    rows = models.BigIntegerField(null=True, blank=True)
    bytes = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    file_name = models.CharField(max_length=200, blank=True)
    media_type = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True)
    ledger_seq = models.BigIntegerField(null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    file_deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__gte=0.0) & models.Q(progress__lte=1.0),
                name="audit_export_progress_0_1",
            ),
            models.CheckConstraint(
                condition=models.Q(period_from__isnull=True)
                | models.Q(period_to__isnull=True)
                | models.Q(period_from__lte=models.F("period_to")),
                name="audit_export_period_ordered",
            ),
            models.CheckConstraint(
                condition=~models.Q(scope="framework") | ~models.Q(framework=""),
                name="audit_export_framework_scope_names_one",
            ),
        ]
        indexes = [
            models.Index(fields=["requested_by_key", "-created_at"], name="audit_export_by_key"),
            models.Index(fields=["status", "finished_at"], name="audit_export_status_done"),
        ]

    def __str__(self) -> str:
        return f"export {self.id} ({self.scope}, {self.format}, {self.status})"
