"""Evidence artifact types, their default retention, and the limits of a registration."""

from __future__ import annotations

import re

from django.db import models


class ArtifactType(models.TextChoices):
    DECISION_LOG = "decision_log", "Decision log"
    POLICY_SNAPSHOT = "policy_snapshot", "Policy snapshot"
    CONTEXT_CAPTURE = "context_capture", "Context capture"
    SCREENSHOT = "screenshot", "Screenshot"
    ATTESTATION = "attestation", "Attestation"
    SIGNATURE = "signature", "Signature"
    AUDIT_TRAIL = "audit_trail", "Audit trail"
    EXTERNAL_REPORT = "external_report", "External report"


#: Default retention in days per type (issue 16); ``LEXECON_EVIDENCE_RETENTION_DAYS`` overrides
#: any of them by type code.
DEFAULT_RETENTION_DAYS: dict[str, int] = {
    ArtifactType.DECISION_LOG: 2555,
    ArtifactType.POLICY_SNAPSHOT: 2555,
    ArtifactType.CONTEXT_CAPTURE: 365,
    ArtifactType.SCREENSHOT: 365,
    ArtifactType.ATTESTATION: 2555,
    ArtifactType.SIGNATURE: 3650,
    ArtifactType.AUDIT_TRAIL: 2555,
    ArtifactType.EXTERNAL_REPORT: 2555,
}
MAX_RETENTION_DAYS = 36500

#: The named storage (``STORAGES["evidence"]``) that holds artifact bytes.
STORAGE_ALIAS = "evidence"
#: Bytes read and hashed per step while streaming content (never the whole artifact at once).
CHUNK_SIZE = 64 * 1024

FRAMEWORK = re.compile(r"^[a-z0-9_]{1,32}$")
CONTROL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.()_:/-]{0,63}$")
#: A control named in one string, ``<framework>:<control id>`` (``soc2:CC6.1``).
CONTROL_REF = re.compile(
    r"^(?P<framework>[a-z0-9_]{1,32}):(?P<control_id>[A-Za-z0-9][A-Za-z0-9.()_:/-]{0,63})$"
)
MAX_LINKS_PER_REGISTRATION = 100
#: Artifacts the retention expiry reads per query (each is then expired in its own transaction).
EXPIRY_BATCH_SIZE = 500
DEFAULT_MEDIA_TYPE = "application/octet-stream"
TEXT_MEDIA_TYPE = "text/plain; charset=utf-8"
