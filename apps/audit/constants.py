"""The vocabulary of audit exports: scopes, formats, statuses and the record types of each scope."""

from __future__ import annotations

from django.db import models


class Scope(models.TextChoices):
    ALL = "all", "Everything (every record type and every ledger entry)"
    DECISIONS = "decisions", "Decisions"
    ESCALATIONS = "escalations", "Escalations"
    OVERRIDES = "overrides", "Overrides"
    POLICIES = "policies", "Policy versions"
    LEDGER = "ledger", "Ledger entries"
    EVIDENCE = "evidence", "Evidence artifacts"
    FRAMEWORK = "framework", "One compliance framework (controls and their evidence)"


class Format(models.TextChoices):
    JSON = "json", "JSON (one document)"
    CSV = "csv", "CSV (one file per record type, zipped when more than one)"
    MARKDOWN = "markdown", "Markdown report"
    HTML = "html", "HTML report"
    PDF = "pdf", "PDF report"
    PACKAGE = "package", "Evidence package (ZIP, verifies offline)"


class Status(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class RecordType(models.TextChoices):
    DECISIONS = "decisions", "Decisions"
    ESCALATIONS = "escalations", "Escalations"
    OVERRIDES = "overrides", "Overrides"
    POLICIES = "policies", "Policy versions"
    EVIDENCE = "evidence", "Evidence artifacts"
    CONTROLS = "controls", "Framework controls"
    LEDGER = "ledger", "Ledger entries"


#: The record types each scope exports, in the order they appear in every format.
SCOPE_RECORDS: dict[str, tuple[str, ...]] = {
    Scope.ALL: (
        RecordType.DECISIONS,
        RecordType.ESCALATIONS,
        RecordType.OVERRIDES,
        RecordType.POLICIES,
        RecordType.EVIDENCE,
        RecordType.LEDGER,
    ),
    Scope.DECISIONS: (RecordType.DECISIONS,),
    Scope.ESCALATIONS: (RecordType.ESCALATIONS,),
    Scope.OVERRIDES: (RecordType.OVERRIDES,),
    Scope.POLICIES: (RecordType.POLICIES,),
    Scope.LEDGER: (RecordType.LEDGER,),
    Scope.EVIDENCE: (RecordType.EVIDENCE,),
    Scope.FRAMEWORK: (RecordType.CONTROLS, RecordType.EVIDENCE),
}

#: Scopes whose rows belong to an AI system (through their decision); ``ai_system`` filters them.
AI_SYSTEM_SCOPES = frozenset({Scope.ALL, Scope.DECISIONS, Scope.ESCALATIONS, Scope.OVERRIDES})

#: File name extension and media type of each format's file.
FILE_TYPES: dict[str, tuple[str, str]] = {
    Format.JSON: ("json", "application/json"),
    Format.MARKDOWN: ("md", "text/markdown; charset=utf-8"),
    Format.HTML: ("html", "text/html; charset=utf-8"),
    Format.PDF: ("pdf", "application/pdf"),
    Format.PACKAGE: ("zip", "application/zip"),
}
CSV_SINGLE = ("csv", "text/csv; charset=utf-8")
CSV_ZIPPED = ("zip", "application/zip")

#: The identifier of the JSON document's layout (apps/audit/schemas/export.schema.json).
JSON_FORMAT_ID = "lexecon.audit-export/1"

#: Rows fetched per round trip from a server-side cursor.
CHUNK_SIZE = 2000
