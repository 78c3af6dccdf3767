"""Technical documentation fixtures: a private evidence storage, a registered high-risk system,
clients per role and scope, narratives written in bulk, PDF text read back with pdftotext."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from apps.aisystems import services as registry
from apps.evidence.models import EvidenceArtifact
from apps.ledger import services as ledger
from apps.ledger.models import LedgerEntry
from apps.techdoc import services
from apps.techdoc.constants import NARRATIVES, NarrativeField
from apps.techdoc.models import GeneratedDocument, Narrative
from tests.conftest import verify_session

URL = "/compliance/eu-ai-act/article-11/documentation"
SYSTEM_ID = "cv-screening"
REQUIRED = [field for field, spec in NARRATIVES.items() if spec.required]
OPTIONAL = [field for field, spec in NARRATIVES.items() if not spec.required]


def page_url(system_id: str = SYSTEM_ID) -> str:
    return f"/compliance/eu-ai-act/systems/{system_id}/"


def save_url(system_id: str = SYSTEM_ID) -> str:
    return f"/compliance/eu-ai-act/systems/{system_id}/narratives"


def label(field: str) -> str:
    return NarrativeField(field).label


@pytest.fixture(autouse=True)
def evidence_dir(settings, tmp_path):
    """Every test stores evidence bytes in its own directory."""
    location = tmp_path / "evidence"
    settings.STORAGES = {
        **settings.STORAGES,
        "evidence": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(location)},
        },
    }
    return location


@pytest.fixture
def officer(make_user):
    return make_user("olga", "compliance_officer")


@pytest.fixture
def system(officer):
    """A provider's CV screening system: Annex III 4(a), high-risk, so Art. 11 applies."""
    return registry.ai_system_register(
        principal=officer,
        system_id=SYSTEM_ID,
        name="CV screening assistant",
        version="2.1.0",
        role="provider",
        intended_purpose="Ranks job applications against the requirements of the published role.",
        annex_iii_point="4(a)",
        risk_class="high",
        status="active",
        owner=officer,
    )


def write_narratives(user, fields=REQUIRED, system_id: str = SYSTEM_ID) -> None:
    for field in fields:
        services.narrative_save(
            user=user, system_id=system_id, field=field, text=f"Our {label(field).lower()}."
        )


def seal_ledger() -> None:
    """What a complete document needs besides the narratives: a completed retention sweep, a
    signed checkpoint and a recorded full verification (as the periodic tasks make them), and the
    system's post-market monitoring plan (Annex IV item 9, apps.monitoring)."""
    from apps.aisystems.models import AISystem
    from apps.monitoring import services as monitoring
    from apps.monitoring.models import PMMPlan

    system = AISystem.objects.filter(pk=SYSTEM_ID).first()
    if system is not None and not PMMPlan.objects.filter(ai_system=system).exists():
        monitoring.pmm_plan_create(
            principal=system.owner,
            ai_system_id=SYSTEM_ID,
            owner=system.owner,
            metrics=[{"metric": "deny_rate", "threshold": 0.1, "direction": "up"}],
        )
    from apps.retention import services as retention

    retention.retention_sweep()  # Annex IV item 3: record-keeping has run (apps.retention)
    ledger.signing_keys_ensure()
    ledger.ledger_checkpoint_create()
    ledger.ledger_verify_recorded(trigger="test")


@pytest.fixture
def staff_api(make_user):
    """``staff_api(role)`` → an API client with a verified (password + OTP) staff session."""

    def _client(role: str, username: str | None = None) -> APIClient:
        client = APIClient()
        client.user = make_user(username or f"user_{role}", role)
        verify_session(client, client.user)
        return client

    return _client


@pytest.fixture
def staff_page(make_user):
    """``staff_page(role, csrf=False)`` → a browser-like client signed in with password + OTP."""

    def _client(role: str, *, csrf: bool = False, username: str | None = None) -> Client:
        user = make_user(username or f"page_{role}", role)
        client = verify_session(Client(enforce_csrf_checks=csrf), user)
        client.user = user
        return client

    return _client


def counts() -> tuple[int, int, int, int]:
    """Narratives, generated documents, evidence artifacts, ledger entries."""
    return (
        Narrative.objects.count(),
        GeneratedDocument.objects.count(),
        EvidenceArtifact.objects.count(),
        LedgerEntry.objects.count(),
    )


def entry(seq: int) -> tuple[str, dict]:
    found = LedgerEntry.objects.get(seq=seq)
    return found.entry_type, json.loads(found.payload)


def pdf_text(
    content: bytes, tmp_path: Path, *, first: int | None = None, last: int | None = None
) -> str:
    """The PDF's text as ``pdftotext`` (poppler-utils, Debian) reads it, pages ``first``-``last``."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed (make pdf-deps)")
    path = tmp_path / "document.pdf"
    path.write_bytes(content)
    pages = []
    if first is not None:
        pages += ["-f", str(first)]
    if last is not None:
        pages += ["-l", str(last)]
    done = subprocess.run(
        ["pdftotext", *pages, "-layout", str(path), "-"], capture_output=True, check=True
    )
    return done.stdout.decode("utf-8")


def pdf_pages(content: bytes, tmp_path: Path) -> int:
    path = tmp_path / "pages.pdf"
    path.write_bytes(content)
    done = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True)
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("Pages:"))
    return int(line.split()[1])


@pytest.fixture
def techdoc_transactional_db(transactional_db):
    """``transactional_db`` whose teardown first empties the append-only tables these tests
    write (ledger, evidence, techdoc), as a database owner would, so the flush can run."""
    yield
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            "TRUNCATE ledger_ledgerentry, ledger_checkpoint, ledger_chainhead, ledger_merklenode, "
            "techdoc_narrative, techdoc_generateddocument, evidence_evidencecontrollink, "
            "evidence_evidencedecisionlink, evidence_evidenceartifact CASCADE"
        )
        cursor.execute("SET session_replication_role = origin")
