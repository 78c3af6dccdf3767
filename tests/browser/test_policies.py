"""The policy pages in a real browser: an officer signs in with password + TOTP, opens a draft that
forbids ``read_ticket``, runs a simulation and sees the flips with the rule responsible, reads the
rule-by-rule diff, is refused an activation without a reason and activates with one; an auditor
reads the same pages without forms. axe-core must find no serious or critical violation on any of
them. Screenshots go to test-artifacts/."""

from __future__ import annotations

import copy
import json
import os
import re
import warnings
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from apps.accounts import services as accounts
from apps.accounts.principals import actor_of
from apps.ledger.models import LedgerEntry
from apps.policies import selectors
from apps.policies import services as policies
from apps.policies.models import PolicyActivation
from tests.browser.test_oversight import make_staff, sign_in
from tests.conftest import load_demo_policy
from tests.escalations.conftest import ensure_roles
from tests.policies.test_simulation import DEMO_DOCUMENT

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("ledger_transactional_db")]

AXE_SERIOUS = ("serious", "critical")
LOCAL_AXE = Path(__file__).resolve().parent / "js" / "node_modules" / "axe-core" / "axe.min.js"


def check_accessibility(page) -> None:
    """No serious or critical axe-core violation. Uses the shared helper (tests/browser/axe.py)
    when it is there; otherwise injects axe-core from tests/browser/js/node_modules or from
    ``LEXECON_AXE_JS``; skips only the check when axe-core is nowhere to be found."""
    try:
        from tests.browser import axe  # the shared helper, once merged
    except ImportError:
        axe = None
    if axe is not None:
        axe.assert_no_serious_violations(page)
        return
    source = Path(os.environ.get("LEXECON_AXE_JS", LOCAL_AXE))
    if not source.exists():
        # axe-core not installed here: say so, and let the test's other assertions run.
        warnings.warn(f"axe-core not found at {source}: accessibility not checked", stacklevel=2)
        return
    page.evaluate(source.read_text() + "\n;void 0")
    violations = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
        for v in violations
        if v.get("impact") in AXE_SERIOUS
    ]
    assert not serious, "\n".join(serious)


def draft_document() -> dict:
    """The demo policy forbidding read_ticket to AI agents, one rule removed, one changed."""
    document = copy.deepcopy(DEMO_DOCUMENT)
    document["version"] = "1.1.0-draft"
    document["relations"] = [r for r in document["relations"] if r["id"] != "cs-no-bulk-export"]
    for rule in document["relations"]:
        if rule["id"] == "cs-refund-small":
            rule["conditions"][0]["value"] = 250
    document["relations"].append(
        {
            "id": "draft-no-read-ticket",
            "type": "forbids",
            "subject": "actor:ai_agent:*",
            "action": "action:read_ticket",
            "justification": "Draft: tickets are read by the new triage service only.",
        }
    )
    return document


@pytest.fixture
def world():
    ensure_roles()
    load_demo_policy()
    agent = APIClient()
    raw_key = accounts.agent_key_create(name="support-bot", scopes=["decide"]).raw_key
    agent.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    requests = [
        *[{"actor": "ai_agent:customer_service", "action": "read_ticket"}] * 3,
        {"actor": "ai_agent:customer_service", "action": "delete_customer_data"},
        {"actor": "ai_agent:customer_service", "action": "close_account"},
        {
            "actor": "ai_agent:customer_service",
            "action": "issue_refund",
            "context": {"amount": 300, "currency": "EUR"},
        },
    ]
    outcomes = [agent.post("/decide", body, format="json").json()["outcome"] for body in requests]
    assert outcomes == ["allowed"] * 3 + ["denied", "escalated", "allowed"]
    officer = make_staff("olivia", "compliance_officer")
    auditor = make_staff("audrey", "auditor")
    draft = policies.policy_load(document=draft_document(), actor=actor_of(officer)).version
    return {"officer": officer, "auditor": auditor, "draft": draft}


def test_officer_simulates_reads_the_diff_and_activates(live_server, world, new_page, screenshot):
    draft = world["draft"]
    page = new_page()
    sign_in(page, live_server.url, world["officer"], "/policies/manage/")
    assert page.get_by_role("heading", name="Policies", exact=True).is_visible()
    row = page.get_by_role("row").filter(has_text="1.1.0-draft")
    assert "olivia (user:" in row.inner_text()
    screenshot(page, "policies-01-versions", full_page=True)
    check_accessibility(page)

    row.get_by_role("link").first.click()
    page.wait_for_url(re.compile(rf"/policies/manage/versions/{draft.pk}/$"))
    assert page.get_by_role("heading", name="Simulate").is_visible()
    check_accessibility(page)
    assert page.get_by_label("Decisions to replay (the latest)").input_value() == "1000"
    page.get_by_role("button", name="Run simulation").click()
    page.wait_for_url(re.compile(r"/policies/manage/simulations/[0-9a-f-]+/$"))

    # Six decisions replayed: the three read_ticket and the refund of 300 (now above the lowered
    # ceiling of 250: no rule permits it, strict mode denies) would be denied; two unchanged.
    assert page.locator("#flipped").inner_text() == "4"
    assert page.locator("#unchanged").inner_text() == "2"
    matrix = page.locator("#flip-matrix")
    allowed_row = matrix.locator("tbody tr").filter(
        has=page.get_by_role("rowheader", name="allowed", exact=True)
    )
    assert allowed_row.locator("td").nth(2).inner_text() == "4"  # allowed → denied
    rules = page.get_by_role("table").filter(has_text="Flips it decided")
    assert (
        rules.get_by_role("row")
        .filter(has_text="draft-no-read-ticket")
        .locator("td")
        .nth(1)
        .inner_text()
        == "3"
    )
    assert (
        rules.get_by_role("row").filter(has_text="mode:strict").locator("td").nth(1).inner_text()
        == "1"
    )
    examples = page.get_by_role("table").filter(has_text="Examples")
    assert examples.get_by_role("row").filter(has_text="read_ticket").count() == 3
    assert examples.get_by_role("row").filter(has_text="issue_refund").count() == 1
    screenshot(page, "policies-02-simulation", full_page=True)
    check_accessibility(page)
    assert LedgerEntry.objects.filter(entry_type="policy.simulated").count() == 1

    page.get_by_role("link", name="See the rule changes").click()
    page.wait_for_url(re.compile(r"/policies/manage/diff/\?a="))
    assert page.locator("#count-added").inner_text() == "1"
    assert page.locator("#count-removed").inner_text() == "1"
    assert page.locator("#count-changed").inner_text() == "1"
    added = page.locator("section").filter(has=page.locator("#added-h"))
    assert "draft-no-read-ticket" in added.inner_text()
    removed = page.locator("section").filter(has=page.locator("#removed-h"))
    assert "cs-no-bulk-export" in removed.inner_text()
    changed = page.locator("section").filter(has=page.locator("#changed-h"))
    assert "cs-refund-small" in changed.inner_text()
    assert "250" in changed.inner_text()
    screenshot(page, "policies-03-diff", full_page=True)
    check_accessibility(page)

    # Activation: refused without a reason (nothing written), done with one.
    page.goto(f"{live_server.url}/policies/manage/versions/{draft.pk}/")
    entries = LedgerEntry.objects.count()
    page.get_by_role("button", name="Activate this version").click()
    page.wait_for_load_state()
    assert page.get_by_role("alert").filter(has_text="required").is_visible()
    assert LedgerEntry.objects.count() == entries
    assert selectors.active_version().pk != draft.pk
    screenshot(page, "policies-04-reason-required")
    page.get_by_label("Reason for activating this version").fill(
        "Simulated over the last 1,000 decisions: only read_ticket flips, as intended."
    )
    page.get_by_role("button", name="Activate this version").click()
    page.wait_for_url(re.compile(rf"/policies/manage/versions/{draft.pk}/$"))
    assert page.get_by_role("status").filter(has_text="is now active").is_visible()
    assert selectors.active_version().pk == draft.pk
    activation = PolicyActivation.objects.get(version=draft)
    assert activation.reason.startswith("Simulated over the last 1,000 decisions")
    payload = json.loads(LedgerEntry.objects.get(seq=activation.ledger_seq).payload)
    assert len(payload["reason_commitment"]) == 64
    screenshot(page, "policies-05-activated", full_page=True)
    check_accessibility(page)


def test_auditor_reads_the_pages_without_forms(live_server, world, new_page, screenshot):
    page = new_page()
    sign_in(
        page, live_server.url, world["auditor"], f"/policies/manage/versions/{world['draft'].pk}/"
    )
    assert page.get_by_role("heading", name=re.compile("1.1.0-draft")).is_visible()
    assert page.get_by_role("button", name="Run simulation").count() == 0
    assert page.get_by_role("button", name="Activate this version").count() == 0
    assert page.get_by_role("navigation", name="Main").get_by_role("link", name="Policies")
    screenshot(page, "policies-06-auditor")
    check_accessibility(page)


def test_the_simulation_page_follows_a_running_task_to_its_result(
    live_server, world, new_page, screenshot
):
    """The run is recorded but not yet done (a worker has not picked it up): the page shows its
    progress and, polling, reloads itself with the result once the task has run."""
    from apps.decisions import simulation as replay

    run = policies.simulation_request(
        version=world["draft"], requested=500, actor=actor_of(world["officer"])
    )
    page = new_page()
    sign_in(page, live_server.url, world["officer"], f"/policies/manage/simulations/{run.pk}/")
    progress = page.get_by_role("status")
    assert "0 of 500 decisions replayed" in progress.inner_text()
    assert page.locator("#flipped").count() == 0
    screenshot(page, "policies-07-running")
    check_accessibility(page)

    replay.simulation_run(simulation_id=run.pk)  # what the Celery worker does

    page.wait_for_selector("#flipped")
    assert page.locator("#flipped").inner_text() == "4"
    assert page.locator("#progress-card").count() == 0


def test_keyboard_reaches_the_simulation_and_activation_controls(live_server, world, new_page):
    page = new_page()
    sign_in(
        page, live_server.url, world["officer"], f"/policies/manage/versions/{world['draft'].pk}/"
    )
    wanted = {"id_limit", "run-simulation", "id_reason", "activate-version"}
    reached = set()
    page.locator("body").focus()
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("() => document.activeElement && document.activeElement.id"))
        if wanted <= reached:
            break
    assert wanted <= reached
    # And the form works from the keyboard alone: type a number, press Enter.
    page.locator("#id_limit").focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("20")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/policies/manage/simulations/[0-9a-f-]+/$"))
    assert page.locator("#flipped").inner_text() == "4"
