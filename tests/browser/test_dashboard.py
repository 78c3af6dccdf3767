"""The dashboard in a real browser (issue 19): an officer signs in with password + TOTP, reads each
panel's figures (checked against the database), follows a figure to its list, runs a ledger
verification and sees it finish; a reviewer has no dashboard or compliance menu and gets 403; an
auditor reads it without the verification button. axe-core finds no serious or critical violation
and the keyboard reaches every control. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from rest_framework.test import APIClient

from apps.accounts import services as accounts
from apps.dashboard import services as dashboard
from apps.decisions.models import Decision
from apps.ledger.models import VerificationRun
from apps.ledger.selectors import ledger_size
from tests.browser.axe import assert_keyboard_reaches_every_control, assert_no_serious_violations
from tests.browser.test_oversight import make_staff, sign_in
from tests.conftest import load_demo_policy
from tests.dashboard.conftest import ALLOWED, DENIED, RISKY
from tests.escalations.conftest import REFUND, ensure_roles

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("ledger_transactional_db")]


@pytest.fixture
def seeded():
    """Roles, the demo policy, and 9 decisions: 4 allowed, 3 denied, 2 escalated."""
    ensure_roles()
    load_demo_policy()
    agent = APIClient()
    raw_key = accounts.agent_key_create(name="support-bot", scopes=["decide"]).raw_key
    agent.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    for body in [ALLOWED] * 4 + [DENIED] * 3 + [REFUND, RISKY]:
        assert agent.post("/decide", body, format="json").status_code == 200
    dashboard.rollup_catch_up(limit=6)  # the last three come from the live tail
    return {
        "officer": make_staff("olivia", "compliance_officer"),
        "auditor": make_staff("audrey", "auditor"),
        "reviewer": make_staff("rita", "reviewer"),
    }


def fig(page, name: str) -> str:
    return page.locator(f'[data-figure="{name}"]').first.inner_text().strip()


def test_officer_reads_follows_and_verifies(live_server, seeded, new_page, screenshot):
    page = new_page()
    sign_in(page, live_server.url, seeded["officer"], "/dashboard/")
    outcomes = Counter(Decision.objects.values_list("outcome", flat=True))
    levels = Counter(Decision.objects.values_list("risk_level", flat=True))
    assert fig(page, "decisions-total") == str(Decision.objects.count()) == "9"
    assert fig(page, "decisions-allowed") == str(outcomes["allowed"]) == "4"
    assert fig(page, "decisions-denied") == str(outcomes["denied"]) == "3"
    assert fig(page, "decisions-escalated") == str(outcomes["escalated"]) == "2"
    assert fig(page, "deny-rate") == "33.3 %"
    assert fig(page, "escalation-rate") == "22.2 %"
    for level in ("low", "medium", "high", "critical"):
        assert fig(page, f"risk-{level}") == str(levels.get(level, 0)), level
    assert fig(page, "risk-high-total") == str(levels["high"] + levels["critical"])
    assert fig(page, "class-customer_pii") == "1"
    assert fig(page, "pending-total") == "2"
    assert fig(page, "sla-on_time") == "2"
    assert fig(page, "override-count") == "0"
    assert fig(page, "ledger-size") == str(ledger_size())
    assert fig(page, "verification-result") == "never run"
    nav = page.get_by_role("navigation", name="Main")
    for label in ("Dashboard", "Oversight queue", "Compliance", "AI systems", "Records"):
        assert nav.get_by_role("link", name=label, exact=True).count() == 1, label
    screenshot(page, "dashboard-01-officer", full_page=True)

    assert_no_serious_violations(page)
    assert assert_keyboard_reaches_every_control(page) > 20

    page.locator('[data-figure="decisions-denied"]').click()
    page.wait_for_url(re.compile(r"/admin/decisions/decision/"))
    assert page.get_by_text("3 decisions").first.is_visible()
    screenshot(page, "dashboard-02-denied-list")
    page.go_back()

    page.get_by_role("button", name="Verify the whole ledger now").click()
    page.wait_for_url(re.compile(r"job="))
    status = page.locator("#verify-status")
    status.get_by_text("Verification finished: valid").wait_for()
    run = VerificationRun.objects.get()
    assert run.valid
    assert f"{run.entries_checked} entries checked" in status.inner_text()
    assert fig(page, "verification-result") == "valid"
    page.locator("#integrity").scroll_into_view_if_needed()
    screenshot(page, "dashboard-03-verified")


def test_reviewer_has_no_dashboard(live_server, seeded, new_page, screenshot):
    page = new_page()
    sign_in(page, live_server.url, seeded["reviewer"], "/")
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="Oversight queue").count() == 1
    for label in ("Dashboard", "Compliance", "AI systems", "Records"):
        assert nav.get_by_role("link", name=label).count() == 0, label
    assert page.get_by_role("link", name="Open the oversight queue").is_visible()
    screenshot(page, "dashboard-04-reviewer-home")
    response = page.goto(f"{live_server.url}/dashboard/")
    assert response.status == 403
    response = page.goto(f"{live_server.url}/admin/compliance/control/")
    assert response.status == 403 or "/login" in page.url


def test_auditor_reads_without_acting(live_server, seeded, new_page, screenshot):
    page = new_page()
    sign_in(page, live_server.url, seeded["auditor"], "/dashboard/")
    assert fig(page, "decisions-total") == "9"
    assert page.get_by_role("button", name="Verify the whole ledger now").count() == 0
    assert page.get_by_text("read-only view").is_visible()
    assert_no_serious_violations(page)
    screenshot(page, "dashboard-05-auditor", full_page=True)
