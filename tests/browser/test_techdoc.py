"""The per-AI-system page in a real browser: an officer signs in with password + TOTP, opens the
system from the list, sees the Annex IV document marked INCOMPLETE with its missing items, writes
a narrative through the form (which disappears from the missing list), is told why an empty text
is refused, and downloads the PDF; a reviewer sees the page without the form. Screenshots go to
test-artifacts/."""

from __future__ import annotations

import re

import pytest

from apps.aisystems import services as registry
from apps.ledger.models import LedgerEntry
from apps.techdoc.models import GeneratedDocument, Narrative
from tests.browser.test_oversight import make_staff, sign_in
from tests.escalations.conftest import ensure_roles
from tests.techdoc.conftest import (  # noqa: F401 - fixtures
    evidence_dir,
    label,
    techdoc_transactional_db,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.usefixtures("techdoc_transactional_db", "evidence_dir"),
]

SYSTEMS = "/compliance/eu-ai-act/systems/"
DESIGN = "Design specifications and key design choices"


@pytest.fixture
def world():
    ensure_roles()
    officer = make_staff("olivia", "compliance_officer")
    reviewer = make_staff("rita", "reviewer")
    registry.ai_system_register(
        principal=officer,
        system_id="cv-screening",
        name="CV screening assistant",
        version="2.1.0",
        role="provider",
        intended_purpose="Ranks job applications against the published requirements.",
        annex_iii_point="4(a)",
        risk_class="high",
        status="active",
    )
    return {"officer": officer, "reviewer": reviewer}


def test_officer_reads_the_document_and_writes_a_narrative(
    live_server, world, new_page, screenshot
):
    page = new_page()
    sign_in(page, live_server.url, world["officer"], SYSTEMS)
    assert page.get_by_role("heading", name="EU AI Act: AI systems").is_visible()
    screenshot(page, "techdoc-01-systems")
    page.get_by_role("link", name="CV screening assistant").click()
    page.wait_for_url(re.compile(r"/compliance/eu-ai-act/systems/cv-screening/$"))

    status = page.locator("#completeness")
    assert "INCOMPLETE" in status.inner_text()
    assert DESIGN in status.inner_text()
    assert page.get_by_role(
        "heading", name="Art. 11: technical documentation (Annex IV)"
    ).is_visible()
    screenshot(page, "techdoc-02-system-incomplete", full_page=True)

    # "write it" next to the missing item opens the form on that narrative.
    status.get_by_role("listitem").filter(has_text=DESIGN).get_by_role(
        "link", name="write it"
    ).click()
    page.wait_for_url(re.compile(r"\?edit=design_choices#narrative-form$"))
    assert page.get_by_label("Narrative", exact=True).input_value() == "design_choices"

    # An empty text is refused with the reason, and nothing is written.
    entries = LedgerEntry.objects.count()
    page.get_by_role("button", name="Save narrative").click()
    page.wait_for_load_state()
    assert page.locator(".field-error").first.is_visible()
    assert Narrative.objects.count() == 0
    assert LedgerEntry.objects.count() == entries
    screenshot(page, "techdoc-03-empty-refused")

    page.get_by_label("Narrative", exact=True).select_option("design_choices")
    page.get_by_label("Text", exact=True).fill(
        "Applications are ranked by skills overlap; recall is preferred to precision because a "
        "person reviews every shortlist."
    )
    page.get_by_role("button", name="Save narrative").click()
    page.wait_for_url(re.compile(r"#narrative-design_choices$"))
    assert page.get_by_text(f"Saved version 1 of “{DESIGN}”.").is_visible()
    saved = Narrative.objects.get()
    assert (saved.field, saved.version, saved.author_id) == (
        "design_choices",
        1,
        world["officer"].pk,
    )
    assert DESIGN not in page.locator("#completeness").inner_text()
    row = page.locator("#narrative-design_choices")
    assert "version 1 by olivia" in row.inner_text()
    screenshot(page, "techdoc-04-narrative-saved", full_page=True)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    download = download_info.value
    path = download.path()
    with open(path, "rb") as handle:
        assert handle.read(5) == b"%PDF-"
    assert download.suggested_filename.startswith("annex-iv-cv-screening-")
    record = GeneratedDocument.objects.get()
    assert (record.format, record.complete) == ("pdf", False)


def test_auditor_reads_without_the_form(live_server, world, new_page, screenshot):
    # Issue 19: reviewers no longer hold view_dashboard; an auditor reads, a reviewer gets 403.
    url = "/compliance/eu-ai-act/systems/cv-screening/"
    refused = new_page()
    sign_in(refused, live_server.url, world["reviewer"], "/")
    assert refused.goto(f"{live_server.url}{url}").status == 403
    page = new_page()
    sign_in(page, live_server.url, make_staff("audrey", "auditor"), url)
    assert page.get_by_role("heading", name="CV screening assistant 2.1.0").is_visible()
    assert page.locator("#narrative-form").count() == 0
    assert page.get_by_text("Writing narratives needs the manage_policies permission").is_visible()
    assert label("standards") in page.locator("#completeness").inner_text()
    screenshot(page, "techdoc-05-reviewer")
