"""Audit export fixtures: a private export directory, a small governance record made through the
real services (decisions allowed, denied and escalated, a resolution, an override, evidence linked
to a decision and to SOC 2 controls, the catalogs and their tally), clients per role and scope,
and helpers to read files back."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from rest_framework.test import APIClient

from apps.audit.models import Export
from apps.compliance import services as compliance
from apps.decisions.models import Decision
from apps.escalations import services as oversight
from apps.evidence import services as evidence
from apps.ledger import services as ledger
from apps.ledger.models import LedgerEntry
from tests.conftest import verify_session
from tests.escalations.conftest import JUSTIFICATION, NOTE, REFUND, decide

EXPORT = "/audit/export"


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path) -> Path:
    """Every test keeps its export files (and evidence bytes) in its own directory."""
    directory = tmp_path / "exports"
    settings.LEXECON_EXPORT_DIR = str(directory)
    settings.STORAGES = {
        **settings.STORAGES,
        "evidence": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "evidence")},
        },
    }
    return directory


@pytest.fixture
def staff_api(make_user):
    """``staff_api(role)`` → an API client signed in (password + OTP) as a new user of ``role``."""

    def _client(role: str, username: str | None = None) -> APIClient:
        client = APIClient()
        user = make_user(username or f"user_{role}", role)
        verify_session(client, user)
        client.user = user
        return client

    return _client


@pytest.fixture
def exporter(agent_client):
    """An agent key with the ``audit:export`` scope."""
    return agent_client("audit:export")


@dataclass(frozen=True)
class Record:
    allowed: Decision
    denied: Decision
    escalated: Decision
    overridden: Decision
    artifact_id: str
    outsider_seq: int


@pytest.fixture
def record(agent, staff) -> Record:
    """A governance record with one of each thing an export covers, made the product's way."""
    officer = staff("olga", "compliance_officer")
    compliance.catalogs_load()
    allowed = decide(agent, {"actor": "ai_agent:customer_service", "action": "read_ticket"})
    denied = decide(agent, {"actor": "ai_agent:customer_service", "action": "delete_customer_data"})
    escalated = decide(agent, REFUND)
    oversight.escalation_acknowledge(escalation_id=escalated["escalation_id"], user=officer)
    oversight.escalation_resolve(
        escalation_id=escalated["escalation_id"], user=officer, resolution="approved", note=NOTE
    )
    overridden = decide(agent, REFUND)
    oversight.override_execute(
        decision=Decision.objects.get(pk=overridden["decision_id"]),
        user=officer,
        override_type="risk_accepted",
        justification=JUSTIFICATION,
    )
    artifact = evidence.evidence_register(
        principal=officer,
        artifact_type="policy_snapshot",
        title='=HYPERLINK("http://evil.example")',
        content=ContentFile(b"policy bytes"),
        media_type="text/plain",
        decision_ids=[allowed["decision_id"]],
        control_ids=["soc2:CC6.1"],
    )
    # An entry no scope but ledger/all covers.
    outsider = ledger.ledger_append(
        entry_type="test.event", payload={"note": "outside every record scope"}
    )
    compliance.tally_catch_up()
    return Record(
        allowed=Decision.objects.get(pk=allowed["decision_id"]),
        denied=Decision.objects.get(pk=denied["decision_id"]),
        escalated=Decision.objects.get(pk=escalated["decision_id"]),
        overridden=Decision.objects.get(pk=overridden["decision_id"]),
        artifact_id=str(artifact.pk),
        outsider_seq=outsider.seq,
    )


@pytest.fixture
def run_export(django_capture_on_commit_callbacks):
    """``run_export(client, body)`` → POST the export, run what the commit enqueues (the eager
    task, as the embedded default does after the request's commit), return the row."""

    def _run(client, body: dict) -> Export:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(EXPORT, body, format="json")
        assert response.status_code == 202, response.content
        return Export.objects.get(pk=response.json()["export_id"])

    return _run


def download(client, export: Export) -> bytes:
    response = client.get(f"/audit/download/{export.pk}")
    assert response.status_code == 200, getattr(response, "content", b"")[:500]
    return b"".join(response.streaming_content)


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    """The text of a PDF as pdftotext (poppler-utils) reads it."""
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        [tool, "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def ledger_count() -> int:
    return LedgerEntry.objects.count()
