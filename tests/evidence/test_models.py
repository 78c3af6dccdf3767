"""The database refuses to change or delete evidence rows (PostgreSQL triggers)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from apps.evidence.models import EvidenceArtifact, EvidenceControlLink

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the append-only triggers are PostgreSQL's"
)


def test_update_and_delete_are_refused(writer):
    response = writer.post(
        "/evidence/register",
        {
            "artifact_type": "attestation",
            "title": "t",
            "content": "x",
            "control_ids": ["soc2:CC6.1"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    for attempt in (
        lambda: EvidenceArtifact.objects.update(title="changed"),
        lambda: EvidenceArtifact.objects.all().delete(),
        lambda: EvidenceControlLink.objects.update(control_id="CC1.1"),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            attempt()
    assert EvidenceArtifact.objects.get().title == "t"
