"""The Exports page in a real browser: an officer signs in with password + TOTP, finds "Exports"
in the menu, requests a PDF export of the decisions, sees it finished with its ledger entry, and
downloads the PDF, whose bytes are the ones the ledger entry names; an export that cannot run
(framework scope without a framework) is refused with the reason and writes nothing."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from apps.accounts import services as accounts
from apps.audit.models import Export
from apps.ledger.models import LedgerEntry
from tests.browser.test_oversight import make_staff, sign_in
from tests.conftest import empty_append_only_tables, load_demo_policy
from tests.escalations.conftest import REFUND, ensure_roles

pytestmark = [pytest.mark.browser]


@pytest.fixture
def world(transactional_db, settings, tmp_path):
    settings.LEXECON_EXPORT_DIR = str(tmp_path / "exports")
    ensure_roles()
    load_demo_policy()
    agent = APIClient()
    raw_key = accounts.agent_key_create(name="support-bot", scopes=["decide"]).raw_key
    agent.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    for body in (REFUND, {"actor": "ai_agent:customer_service", "action": "read_ticket"}):
        assert agent.post("/decide", body, format="json").status_code == 200
    yield {"officer": make_staff("olivia", "compliance_officer")}
    empty_append_only_tables()


def test_officer_requests_and_downloads_a_pdf_export(live_server, world, new_page, screenshot):
    page = new_page()
    sign_in(page, live_server.url, world["officer"], "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Exports").click()
    page.wait_for_url(re.compile(r"/exports/$"))
    assert page.get_by_role("heading", name="Audit exports").is_visible()
    screenshot(page, "audit-01-exports-empty")

    # Refused: the framework scope needs a framework; nothing is written.
    entries = LedgerEntry.objects.count()
    page.get_by_label("Scope").select_option("framework")
    page.get_by_role("button", name="Request export").click()
    page.wait_for_load_state()
    assert "needs 'framework'" in page.locator("ul.errors").inner_text()
    assert Export.objects.count() == 0
    assert LedgerEntry.objects.count() == entries

    page.get_by_label("Scope").select_option("decisions")
    page.get_by_label("Format").select_option("pdf")
    page.get_by_role("button", name="Request export").click()
    page.wait_for_url(re.compile(r"/exports/$"))
    export = Export.objects.get()
    row = page.locator(f'tr[data-export="{export.pk}"]')
    row.locator("[data-role=status]").filter(has_text="done").wait_for()
    assert row.locator("progress").get_attribute("value") in ("1.0", "1")
    assert f"entry #{export.ledger_seq}" in row.inner_text()
    screenshot(page, "audit-02-export-done")

    with page.expect_download() as download_info:
        row.get_by_role("link", name="Download").click()
    download = download_info.value
    assert download.suggested_filename == f"lexecon-export-decisions-{export.pk}.pdf"
    with open(download.path(), "rb") as handle:
        body = handle.read()
    assert body.startswith(b"%PDF-")
    payload = json.loads(LedgerEntry.objects.get(seq=export.ledger_seq).payload)
    assert payload["sha256"] == hashlib.sha256(body).hexdigest()
    assert payload["requested_by"] == f"user:{world['officer'].pk}"


def test_the_progress_bar_follows_the_status_endpoint(live_server, world, new_page, screenshot):
    """An export a worker is running: the page polls GET /audit/status/{id}, moves the bar, and
    shows the reason once the export fails."""
    officer = world["officer"]
    export = Export.objects.create(
        scope="all",
        format="pdf",
        requested_by=f"user:{officer.pk}",
        requested_by_user=officer,
        status="running",
        progress=0.25,
    )
    page = new_page()
    sign_in(page, live_server.url, officer, "/exports/")
    bar = page.locator(f'tr[data-export="{export.pk}"] progress')
    assert bar.get_attribute("value") == "0.25"
    Export.objects.filter(pk=export.pk).update(progress=0.75)
    page.wait_for_function(
        "id => document.querySelector(`tr[data-export='${id}'] progress`).value === 0.75",
        arg=str(export.pk),
    )
    screenshot(page, "audit-03-progress")
    Export.objects.filter(pk=export.pk).update(status="failed", error="the disk is full")
    # Finished: the page reloads itself and shows the reason.
    page.get_by_role("alert").filter(has_text="the disk is full").wait_for()
    assert page.locator(f'tr[data-export="{export.pk}"]').get_attribute("data-status-url") is None


def test_officer_downloads_an_evidence_package_that_verifies(
    live_server, world, new_page, tmp_path
):
    pytest.importorskip("apps.audit.package")
    page = new_page()
    sign_in(page, live_server.url, world["officer"], "/exports/")
    page.get_by_label("Scope").select_option("decisions")
    page.get_by_label("Format").select_option("package")
    page.get_by_role("button", name="Request export").click()
    page.wait_for_url(re.compile(r"/exports/$"))
    export = Export.objects.get()
    assert export.status == "done", export.error
    row = page.locator(f'tr[data-export="{export.pk}"]')
    with page.expect_download() as download_info:
        row.get_by_role("link", name="Download").click()
    archive = zipfile.ZipFile(download_info.value.path())
    assert hashlib.sha256(Path(download_info.value.path()).read_bytes()).hexdigest() == (
        export.sha256
    )
    archive.extractall(tmp_path / "package")
    verdict = subprocess.run(
        [sys.executable, "verify_bundle.py", "."],
        cwd=tmp_path / "package",
        capture_output=True,
        text=True,
        check=False,
    )
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr
    assert "VALID" in verdict.stdout
