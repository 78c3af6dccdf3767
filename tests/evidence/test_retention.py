"""Retention: artifacts past ``retention_until`` are expired by the periodic task ``evidence.expire``
(and ``manage.py expire_evidence``): row marked, bytes deleted unless an unexpired artifact shares
them, one ``evidence.expired`` entry each; nothing else is touched, and a second run writes nothing."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.evidence import services
from apps.evidence.models import EvidenceArtifact
from apps.ledger.models import LedgerEntry
from lexecon_site.celery import app
from lexecon_site.scheduler import interval_seconds
from tests.evidence.conftest import counts, stored_files

BODY = b"a screen as the agent saw it\n"
SHA = hashlib.sha256(BODY).hexdigest()
STORED = f"{SHA[:2]}/{SHA[2:4]}/{SHA}"


def register(client, artifact_type: str = "screenshot", content: bytes = BODY) -> EvidenceArtifact:
    response = client.post(
        "/evidence/register",
        {"artifact_type": artifact_type, "title": "t", "content": content.decode()},
        format="json",
    )
    assert response.status_code == 201, response.content
    return EvidenceArtifact.objects.get(pk=response.json()["artifact_id"])


def expire() -> dict[str, int]:
    """Run the task as beat sends it: by its registered name."""
    return app.tasks["evidence.expire"].apply().get()


def expiry_entries() -> list[dict]:
    return [
        json.loads(entry.payload)
        for entry in LedgerEntry.objects.filter(entry_type="evidence.expired").order_by("seq")
    ]


def after(artifact: EvidenceArtifact, **delta) -> time_machine.travel:
    return time_machine.travel(artifact.retention_until + timedelta(**delta), tick=False)


def test_the_task_is_registered_and_scheduled():
    entry = settings.CELERY_BEAT_SCHEDULE["evidence-expire"]
    assert entry["task"] == "evidence.expire"
    assert interval_seconds(entry["schedule"]) == 3600.0  # the in-process scheduler runs it too
    assert "evidence.expire" in app.tasks


def test_an_artifact_past_retention_expires(writer, evidence_dir):
    artifact = register(writer)
    assert stored_files(evidence_dir) == [STORED]
    with after(artifact, minutes=1):
        assert expire() == {"expired": 1, "bytes_deleted": 1, "held": 0}
        now = timezone.now()
    artifact.refresh_from_db()
    assert artifact.expired_at == now
    assert stored_files(evidence_dir) == []
    (payload,) = expiry_entries()
    assert payload["subject"] == {"type": "evidence", "id": str(artifact.pk)}
    assert payload["actor"]["id"] == "system:evidence_retention"
    assert {k: payload[k] for k in ("artifact_id", "sha256", "artifact_type")} == {
        "artifact_id": str(artifact.pk),
        "sha256": SHA,
        "artifact_type": "screenshot",
    }
    assert payload["retention_until"] == artifact.retention_until.isoformat().replace("+00:00", "Z")

    url = f"/evidence/{artifact.pk}"
    detail = writer.get(url).json()
    assert detail["expired_at"] == now.isoformat().replace("+00:00", "Z")
    assert detail["sha256"] == SHA  # the row keeps the hash
    gone = writer.get(f"{url}/content")
    assert gone.status_code == 410
    assert gone.json()["error"]["code"] == "artifact_expired"
    assert set(gone.json()["error"]) == {"code", "message", "details"}
    assert writer.post(f"{url}/verify", {}, format="json").json() == {
        "valid": False,
        "sha256": None,
        "stored_sha256": SHA,
        "reason": "expired",
    }
    # A copy kept elsewhere can still be checked against the recorded hash.
    sent = writer.post(f"{url}/verify", {"content": BODY.decode()}, format="json").json()
    assert (sent["valid"], sent["reason"]) == (True, None)


def test_shared_bytes_stay_while_an_unexpired_artifact_has_them(writer, evidence_dir):
    short = register(writer, "screenshot")  # 365 days
    long = register(writer, "decision_log")  # 2555 days, the same bytes
    assert stored_files(evidence_dir) == [STORED]
    with after(short, days=1):
        assert expire() == {"expired": 1, "bytes_deleted": 0, "held": 0}
    short.refresh_from_db()
    long.refresh_from_db()
    assert short.expired_at is not None
    assert long.expired_at is None
    assert stored_files(evidence_dir) == [STORED]
    content = writer.get(f"/evidence/{long.pk}/content")
    assert b"".join(content.streaming_content) == BODY
    assert writer.get(f"/evidence/{short.pk}/content").status_code == 410

    # When the last artifact holding them expires, the bytes go.
    with after(long, days=1):
        assert expire() == {"expired": 1, "bytes_deleted": 1, "held": 0}
    assert stored_files(evidence_dir) == []
    assert [p["artifact_id"] for p in expiry_entries()] == [str(short.pk), str(long.pk)]


def test_artifacts_not_yet_due_are_untouched(writer, evidence_dir):
    due = register(writer, "screenshot")
    kept = register(writer, "decision_log", content=b"kept for seven years")
    before = sorted(stored_files(evidence_dir))
    with after(due, days=1):
        assert expire()["expired"] == 1
    kept.refresh_from_db()
    assert kept.expired_at is None
    assert stored_files(evidence_dir) == [name for name in before if name.endswith(kept.sha256)]
    assert [p["artifact_id"] for p in expiry_entries()] == [str(due.pk)]
    with time_machine.travel(kept.retention_until - timedelta(seconds=1), tick=False):
        assert expire()["expired"] == 0
    assert kept.expired_at is None
    assert len(expiry_entries()) == 1


def test_running_twice_writes_nothing_the_second_time(writer, evidence_dir):
    artifact = register(writer)
    with after(artifact, days=1):
        assert expire()["expired"] == 1
        written = counts()
        expired_at = EvidenceArtifact.objects.get().expired_at
        assert expire() == {"expired": 0, "bytes_deleted": 0, "held": 0}
    assert counts() == written
    assert EvidenceArtifact.objects.get().expired_at == expired_at


def test_a_legal_hold_keeps_an_artifact(writer, evidence_dir, monkeypatch):
    """``legal_hold_applies`` asks the registered checks (apps.retention's holds; with real holds
    in tests/retention/test_sweep.py); a held artifact is skipped, nothing written."""
    artifact = register(writer)
    assert services.legal_hold_applies(artifact) is False  # no hold is placed here
    monkeypatch.setattr(services, "legal_hold_applies", lambda artifact: True)
    before = counts()
    with after(artifact, days=1):
        assert expire() == {"expired": 0, "bytes_deleted": 0, "held": 1}
    assert counts() == before
    assert stored_files(evidence_dir) == [STORED]


def test_the_command_expires_by_hand(writer, evidence_dir, capsys):
    artifact = register(writer)
    with after(artifact, days=1):
        call_command("expire_evidence")
    assert "Expired 1 artifact(s); deleted the bytes of 1; 0 held." in capsys.readouterr().out
    (payload,) = expiry_entries()
    assert payload["actor"]["id"] == "system:cli"


def test_the_database_refuses_an_expiry_before_retention_ended(writer):
    artifact = register(writer)
    with pytest.raises(IntegrityError), transaction.atomic():
        EvidenceArtifact.objects.filter(pk=artifact.pk).update(expired_at=timezone.now())
    assert EvidenceArtifact.objects.get().expired_at is None


def test_bytes_deleted_by_an_expiry_during_a_registration_are_stored_again(
    writer, evidence_dir, monkeypatch
):
    """A registration that found the bytes already stored, while the last artifact holding them
    expires before it takes the content lock, stores them again rather than relying on them."""
    old = register(writer)
    lock = services._lock_content
    raced = []

    def expiry_gets_in_first(sha256):
        if not raced:
            raced.append(sha256)
            assert services.evidence_expire_due().bytes_deleted == 1
            assert stored_files(evidence_dir) == []
        lock(sha256)

    with after(old, days=1):
        monkeypatch.setattr(services, "_lock_content", expiry_gets_in_first)
        new = register(writer, "decision_log")
    assert raced == [SHA]
    old.refresh_from_db()
    assert old.expired_at is not None
    assert new.expired_at is None
    assert (evidence_dir / STORED).read_bytes() == BODY
    content = writer.get(f"/evidence/{new.pk}/content")
    assert b"".join(content.streaming_content) == BODY


def test_the_admin_shows_expiry_and_changes_nothing(writer, verified_client):
    artifact = register(writer)
    with after(artifact, days=1):
        expire()
    client = verified_client("auditor")
    base = "/admin/evidence/evidenceartifact"
    listing = client.get(f"{base}/", {"expired_at__isempty": "0"})
    assert listing.status_code == 200
    assert str(artifact.pk) in listing.content.decode()
    assert client.get(f"{base}/", {"expired_at__isempty": "1"}).context["cl"].result_count == 0
    page = client.get(f"{base}/{artifact.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
