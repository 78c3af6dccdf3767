"""The database refuses to change or delete evidence rows (PostgreSQL triggers)."""

from __future__ import annotations

from datetime import timedelta

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


def test_only_the_expiry_update_gets_through(writer):
    """The artifact trigger (migration 0003) lets exactly one UPDATE through: ``expired_at`` from
    NULL to a time, nothing else changed. Everything else stays refused, before and after it."""
    response = writer.post(
        "/evidence/register",
        {"artifact_type": "screenshot", "title": "t", "content": "x"},
        format="json",
    )
    assert response.status_code == 201, response.content
    artifact = EvidenceArtifact.objects.get()
    due = artifact.retention_until + timedelta(days=1)
    rows = EvidenceArtifact.objects.filter(pk=artifact.pk)

    def refused(attempt) -> None:
        with pytest.raises(DatabaseError), transaction.atomic():
            attempt()

    # Other columns, alone or together with expired_at, are refused.
    refused(lambda: rows.update(title="changed"))
    refused(lambda: rows.update(expired_at=due, title="changed"))
    refused(lambda: rows.update(expired_at=due, retention_until=due))
    refused(lambda: rows.update(expired_at=due, sha256="0" * 64))
    # The expiry itself goes through, once.
    assert rows.update(expired_at=due) == 1
    refused(lambda: rows.update(expired_at=due + timedelta(days=1)))
    refused(lambda: rows.update(expired_at=None))
    refused(lambda: rows.update(media_type="text/html"))
    refused(lambda: rows.delete())
    stored = EvidenceArtifact.objects.get()
    assert (stored.title, stored.expired_at, stored.sha256) == ("t", due, artifact.sha256)
