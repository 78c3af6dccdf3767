"""The ledger browser in a real browser (Debian Chromium): an officer signs in with password + TOTP,
pages and filters the ledger, opens an entry and verifies it with the page's own script (WebCrypto:
leaf hash, RFC 9162 proof fold, checkpoint root, Ed25519 and RSA-PSS signatures against
/ledger/keys); a tampered canonical JSON and a tampered signature both fail. Accessibility: axe-core
(no serious or critical violation) and keyboard-only reach of every control on each page.

axe-core: the shared helper ``tests/browser/axe.py`` when it exists; otherwise the npm package's
``axe.min.js`` from ``LEXECON_AXE_JS``, ``tests/browser/js/node_modules`` or ``node_modules`` at
the repository root; without any, the accessibility test skips and says so.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.db import transaction

from apps.ledger import services
from apps.ledger.models import LedgerEntry
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_oversight import make_staff, sign_in
from tests.conftest import load_demo_policy
from tests.escalations.conftest import ensure_roles

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("ledger_transactional_db")]

ROOT = Path(__file__).resolve().parents[2]
ENTRIES = "/ledger/browse/"


try:  # the shared helper, once it is merged (issue 19's dashboard branch)
    from tests.browser import axe as shared_axe
except ImportError:
    shared_axe = None


def _axe_source() -> str | None:
    candidates = [
        os.environ.get("LEXECON_AXE_JS"),
        ROOT / "tests/browser/js/node_modules/axe-core/axe.min.js",
        ROOT / "node_modules/axe-core/axe.min.js",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate).read_text()
    return None


def axe_violations(page, source: str | None) -> list[dict]:
    """Serious and critical axe-core violations of the page as it is now (the shared helper
    asserts there are none itself)."""
    if shared_axe is not None:
        shared_axe.assert_no_serious_violations(page)
        return []
    page.evaluate(source)
    result = page.evaluate("async () => await axe.run(document)")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def keyboard_misses(page) -> list[str]:
    """Every visible, enabled control the Tab key never reaches (empty: all reached)."""
    total = page.evaluate(
        """() => {
        const selector = 'a[href], button, input, select, textarea, summary, [tabindex]';
        let n = 0;
        for (const el of document.querySelectorAll(selector)) {
          if (el.tabIndex < 0 || el.disabled || !el.getClientRects().length) continue;
          el.dataset.kb = String(n++);
        }
        return n;
    }"""
    )
    page.locator("body").focus()
    reached = set()
    # A date-time input takes several Tab stops (one per part), so allow a few per control.
    for _ in range(total * 6 + 10):
        page.keyboard.press("Tab")
        index = page.evaluate("() => document.activeElement && document.activeElement.dataset.kb")
        if index is not None:
            reached.add(int(index))
        if len(reached) == total:
            break
    return page.evaluate(
        """(reached) => [...document.querySelectorAll('[data-kb]')]
            .filter(el => !reached.includes(Number(el.dataset.kb)))
            .map(el => el.outerHTML.slice(0, 80))""",
        sorted(reached),
    )


@pytest.fixture
def world():
    ensure_roles()
    load_demo_policy()  # real policy.loaded / policy.activated entries
    officer = make_staff("olivia", "compliance_officer")
    for n in range(6):
        with transaction.atomic():
            services.ledger_append(
                entry_type="test.event",
                payload={
                    "v": 2,
                    "actor": {"kind": "user", "id": f"user:{officer.pk}", "label": "x"},
                    "subject": {"type": "decision", "id": f"d-{n}"},
                    "n": n,
                },
            )
    checkpoint = services.ledger_checkpoint_create()
    return {"officer": officer, "checkpoint": checkpoint}


@pytest.fixture
def csp_free_page(browser):
    """A page whose context lets the test inject axe-core (our CSP refuses inline scripts)."""
    contexts = []

    def _new():
        context = browser.new_context(viewport={"width": 1366, "height": 768}, bypass_csp=True)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield _new
    for context in contexts:
        context.close()


def _verify(page) -> str:
    page.get_by_role("button", name="Verify this entry").click()
    result = page.locator("#verify-result")
    page.wait_for_function(
        "() => ['verified', 'failed'].includes(document.getElementById('verify-result')"
        ".dataset.outcome)"
    )
    outcome = result.get_attribute("data-outcome")
    print(f"verify: {outcome}: {result.inner_text()}")  # shown when a test fails
    return outcome


def test_officer_verifies_an_entry_and_tampering_fails(live_server, world, new_page, screenshot):
    page = new_page()
    sign_in(page, live_server.url, world["officer"], ENTRIES)
    assert page.get_by_role("heading", name="Ledger", exact=True).is_visible()
    size = LedgerEntry.objects.count()
    assert page.get_by_text(f"{size} entries, newest first").is_visible()
    screenshot(page, "ledger-01-entries", full_page=True)

    # Filter by subject: exactly the one entry about d-3.
    page.get_by_label("Subject id").fill("d-3")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(r"subject_id=d-3"))
    rows = page.locator("table.entries tbody tr")
    assert rows.count() == 1
    seq = LedgerEntry.objects.filter(payload__contains='"id":"d-3"').get().seq
    assert rows.first.get_by_role("link").inner_text() == f"#{seq}"
    rows.first.get_by_role("link").click()
    page.wait_for_url(re.compile(rf"/ledger/browse/entries/{seq}/$"))
    assert page.get_by_role("heading", name=f"Ledger entry #{seq}").is_visible()

    # A good entry verifies: five steps pass (leaf, fold, root, Ed25519, RSA-PSS).
    assert _verify(page) == "verified"
    result = page.locator("#verify-result")
    assert result.locator("li.ok").count() == 5
    assert result.locator("li.fail").count() == 0
    text = result.inner_text()
    assert "Ed25519 signature" in text
    assert "RSA-PSS signature" in text
    assert f"signed checkpoint of size {world['checkpoint'].tree_size}" in text
    screenshot(page, "ledger-02-entry-verified", full_page=True)

    # The same check on a tampered canonical JSON fails at the root comparison.
    canonical = page.locator("#canonical")
    original = canonical.input_value()
    assert '"n":3' in original
    canonical.fill(original.replace('"n":3', '"n":4'))
    assert _verify(page) == "failed"
    assert "does not match the signed checkpoint's root" in result.inner_text()
    assert "NOT verified" in result.inner_text()
    screenshot(page, "ledger-03-entry-tampered", full_page=True)

    # Restored bytes verify again; a forged Ed25519 signature line fails.
    canonical.fill(original)
    assert _verify(page) == "verified"
    page.evaluate(
        """() => {
        const holder = document.getElementById('ledger-checkpoint-note');
        const note = JSON.parse(holder.textContent);
        const lines = note.split('\\n');
        const at = lines.findIndex(l => l.startsWith('\\u2014 '));
        const parts = lines[at].split(' ');
        const raw = atob(parts[2]);
        const flipped = raw.slice(0, 10) + String.fromCharCode(raw.charCodeAt(10) ^ 1) + raw.slice(11);
        parts[2] = btoa(flipped);
        lines[at] = parts.join(' ');
        holder.textContent = JSON.stringify(lines.join('\\n'));
    }"""
    )
    assert _verify(page) == "failed"
    assert re.search(r"Ed25519 signature of key [0-9a-f]{8} does not verify", result.inner_text())

    # The proof downloads as JSON in the API's shape.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the proof (JSON)").click()
    download = download_info.value
    assert download.suggested_filename == (
        f"ledger-entry-{seq}-inclusion-proof-{world['checkpoint'].tree_size}.json"
    )


def test_checkpoints_page_shows_both_signatures(live_server, world, new_page, screenshot):
    page = new_page()
    sign_in(page, live_server.url, world["officer"], "/ledger/browse/checkpoints/")
    size = world["checkpoint"].tree_size
    article = page.get_by_role("article").filter(has_text=f"Tree size {size}")
    assert "signatures valid" in article.inner_text()
    rows = article.locator("table.signatures tbody tr")
    assert [rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())] == [
        "Ed25519",
        "RSA-PSS-4096",
    ]
    screenshot(page, "ledger-04-checkpoints", full_page=True)


def test_pages_are_accessible_and_keyboard_reachable(live_server, world, csp_free_page):
    source = _axe_source()
    if source is None and shared_axe is None:
        pytest.skip("axe-core not installed (npm axe-core; or set LEXECON_AXE_JS)")
    page = csp_free_page()
    sign_in(page, live_server.url, world["officer"], ENTRIES)
    seq = LedgerEntry.objects.count() - 2
    report = {}
    for path in (
        ENTRIES,
        f"{ENTRIES}?actor=nobody",
        f"{ENTRIES}entries/{seq}/",
        f"{ENTRIES}checkpoints/",
    ):
        page.goto(f"{live_server.url}{path}")
        if "/entries/" in path:
            assert _verify(page) == "verified"  # the result region is checked too
        # Open every disclosure so what it hides is checked too.
        page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
        report[path] = {"axe": axe_violations(page, source), "keyboard": keyboard_misses(page)}
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "ledger-a11y.txt").write_text(repr(report))
    assert report == {path: {"axe": [], "keyboard": []} for path in report}
