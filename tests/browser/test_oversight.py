"""The reviewer's path in a real browser: password + TOTP, the queue, approving with a note, the ledger
entry and the minted token on the decision page; an unassigned reviewer sees nothing; a password-only
session is sent to the OTP step. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from django_otp.oath import totp
from rest_framework.test import APIClient

from apps.accounts import services as accounts
from apps.decisions import delivery
from apps.escalations import services
from apps.escalations.models import Escalation
from tests.conftest import PASSWORD, load_demo_policy
from tests.escalations.conftest import CRITICAL, NOTE, REFUND, ensure_roles

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("ledger_transactional_db")]

ROOT = Path(__file__).resolve().parents[2]


def current_code(user) -> str:
    device = user.totpdevice_set.get()
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return f"{value:0{device.digits}d}"


def make_staff(username: str, role: str):
    user = accounts.user_create(username=username, password=PASSWORD, role=role)
    accounts.totp_device_create(user=user, confirmed=True)
    return user


@pytest.fixture
def world():
    """Roles, the demo policy, an escalated refund, an officer, and a reviewer assigned to it."""
    ensure_roles()
    load_demo_policy()
    agent = APIClient()
    raw_key = accounts.agent_key_create(name="support-bot", scopes=["decide"]).raw_key
    agent.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    answer = agent.post(
        "/decide",
        {**REFUND, "context": {"amount": 900, "currency": "EUR", "customer_email": "x@y.org"}},
        format="json",
    ).json()
    assert answer["outcome"] == "escalated"
    officer = make_staff("olivia", "compliance_officer")
    reviewer = make_staff("rita", "reviewer")
    services.escalation_assign(
        escalation_id=answer["escalation_id"], user=officer, reviewer_username="rita"
    )
    return {"answer": answer, "officer": officer, "reviewer": reviewer}


def sign_in(page, base: str, user, next_path: str = "/oversight/") -> None:
    page.goto(f"{base}{next_path}")
    assert "/accounts/login/" in page.url
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/accounts/otp/"))
    page.locator("#id_token").fill(current_code(user))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(re.compile(re.escape(next_path) + r"$"))


def test_reviewer_approves_from_the_queue(live_server, world, new_page, screenshot):
    page = new_page()
    sign_in(page, live_server.url, world["reviewer"])
    assert page.get_by_role("heading", name="Oversight queue").is_visible()
    row = page.get_by_role("row").filter(has_text="issue_refund")
    assert row.count() == 1
    assert "left" in row.locator("time.countdown").inner_text()
    screenshot(page, "oversight-01-queue")

    row.get_by_role("link", name="issue_refund").click()
    page.wait_for_url(re.compile(r"/oversight/escalations/"))
    assert page.get_by_text("customer_email").is_visible()
    assert page.get_by_text("x@y.org").count() == 0  # personal data is never shown
    screenshot(page, "oversight-02-escalation-pending")

    page.get_by_role("button", name="Acknowledge and review").click()
    page.wait_for_load_state()
    assert page.get_by_text("Acknowledged: you have taken this case.").is_visible()
    page.get_by_label("Your reasoning (required)").fill(NOTE)
    screenshot(page, "oversight-03-escalation-acknowledged")
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(re.compile(r"/oversight/decisions/"))

    escalation = Escalation.objects.get(pk=world["answer"]["escalation_id"])
    assert (escalation.status, escalation.resolution) == ("resolved", "approved")
    assert page.get_by_text("Resolved: approved.").is_visible()
    ledger = page.get_by_role("region", name="Ledger entries for this decision")
    assert ledger.get_by_text("escalation.resolved").is_visible()
    assert ledger.get_by_text("decision.made").is_visible()
    page.get_by_text("Show the token bound to this exact action").click()
    assert page.locator("#capability-token").inner_text() == escalation.capability_token
    screenshot(page, "oversight-04-decision-approved", full_page=True)


def test_unassigned_reviewer_gets_nothing(live_server, world, new_page, screenshot):
    stranger = make_staff("sam", "reviewer")
    page = new_page()
    sign_in(page, live_server.url, stranger)
    assert page.get_by_text("Nothing here").is_visible()
    assert page.get_by_text("issue_refund").count() == 0
    response = page.goto(
        f"{live_server.url}/oversight/escalations/{world['answer']['escalation_id']}/"
    )
    assert response.status == 404
    assert page.get_by_role("heading", name="Page not found").is_visible()
    screenshot(page, "oversight-05-unassigned-404")


def test_password_alone_is_sent_to_the_otp_step(live_server, world, new_page, screenshot):
    page = new_page()
    page.goto(f"{live_server.url}/oversight/")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/accounts/otp/"))
    for path in ("/oversight/", f"/oversight/decisions/{world['answer']['decision_id']}/"):
        page.goto(f"{live_server.url}{path}")
        assert "/accounts/otp/" in page.url, path
        assert page.get_by_text("issue_refund").count() == 0
    screenshot(page, "oversight-06-otp-step")


def test_officer_sees_all_and_can_override(live_server, world, new_page, screenshot):
    page = new_page()
    decision_path = f"/oversight/decisions/{world['answer']['decision_id']}/"
    sign_in(page, live_server.url, world["officer"], next_path=decision_path)
    assert page.get_by_role("heading", name="Override").is_visible()
    assert page.get_by_role("heading", name="Stop this agent").is_visible()
    screenshot(page, "oversight-07-officer-decision")
    page.get_by_label("Override type").select_option("risk_accepted")
    page.get_by_label("Justification (required)").fill("Customer retention case approved by CFO.")
    page.get_by_role("button", name="Execute override").click()
    page.wait_for_load_state()
    assert page.get_by_text("Override executed").is_visible()
    assert (
        page.get_by_role("region", name="Ledger entries for this decision")
        .get_by_text("override.executed")
        .is_visible()
    )
    screenshot(page, "oversight-08-overridden", full_page=True)


def test_four_eyes_first_approval_waits_for_a_second_person(
    live_server, world, new_page, screenshot
):
    agent = APIClient()
    raw_key = accounts.agent_key_create(name="risky-bot", scopes=["decide"]).raw_key
    agent.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    answer = agent.post("/decide", CRITICAL, format="json").json()
    assert answer["outcome"] == "escalated"
    path = f"/oversight/escalations/{answer['escalation_id']}/"
    page = new_page()
    sign_in(page, live_server.url, world["officer"], next_path=path)
    assert page.get_by_text("Four-eyes: 0 of 2 approvals").is_visible()
    page.get_by_role("button", name="Acknowledge and review").click()
    page.wait_for_load_state()
    page.get_by_label("Your reasoning (required)").fill(NOTE)
    page.get_by_role("button", name="Approve").click()
    page.wait_for_load_state()
    assert page.get_by_text("Approval 1 of 2 recorded").is_visible()
    assert page.get_by_text("Four-eyes: 1 of 2 approvals").is_visible()
    assert page.get_by_role("button", name="Approve").count() == 0
    escalation = Escalation.objects.get(pk=answer["escalation_id"])
    assert (escalation.status, escalation.capability_token) == ("acknowledged", None)
    screenshot(page, "oversight-09-four-eyes-waiting")


def test_officer_sees_that_an_answer_was_not_confirmed(live_server, world, new_page, screenshot):
    """A decision marked response_unconfirmed (ADR 0010) says so at the top of its page, and its
    mark entry is among the decision's ledger entries."""
    decision_id = world["answer"]["decision_id"]
    delivery.settle(uuid.UUID(decision_id), 0, delivery.Cause.WORKER_DIED)
    page = new_page()
    path = f"/oversight/decisions/{decision_id}/"
    sign_in(page, live_server.url, world["officer"], next_path=path)
    banner = page.locator("#response-unconfirmed")
    assert banner.is_visible()
    assert "may never have reached the agent" in banner.inner_text()
    entries = page.get_by_role("region", name="Ledger entries for this decision")
    assert entries.get_by_text("decision.response_unconfirmed").is_visible()
    screenshot(page, "oversight-10-answer-unconfirmed")


def test_officer_assigns_deliberately_and_sees_an_override_in_the_queue(
    live_server, world, new_page, screenshot
):
    """Issue 15: no reviewer preselected, one name for the queue, the engine's permit rule only
    behind the reveal, and an overridden escalation shown as overridden in the queue."""
    agent = APIClient()
    raw_key = accounts.agent_key_create(name="reader-bot", scopes=["decide"]).raw_key
    agent.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    answer = agent.post(
        "/decide",
        {
            "actor": "ai_agent:customer_service",
            "action": "access_customer_data",
            "context": {"purpose": "support_ticket", "data_sensitivity": "critical"},
        },
        format="json",
    ).json()
    assert answer["outcome"] == "escalated"
    page = new_page()
    detail = f"/oversight/escalations/{answer['escalation_id']}/"
    sign_in(page, live_server.url, world["officer"], next_path=detail)
    assert page.locator("#id_reviewer").input_value() == ""
    assert page.locator("#id_reviewer option:checked").inner_text() == "Choose a reviewer…"
    rules = page.locator("#why-h + ol.reasons")
    assert "cs-escalate-critical-records" in rules.inner_text()
    assert "cs-access-for-ticket" not in rules.inner_text()
    reveal = page.locator("details.reveal")
    assert not reveal.locator("code", has_text="cs-access-for-ticket").is_visible()
    reveal.locator("summary").click()
    assert reveal.locator("code", has_text="cs-access-for-ticket").is_visible()
    screenshot(page, "issue15-escalation-detail", full_page=True)

    page.get_by_role("link", name="Decision page: ledger, responsibility, override, stop").click()
    page.locator("#id_justification").fill("Production incident INC-4711; the CFO approved it.")
    page.get_by_role("button", name="Execute override").click()
    page.get_by_role("link", name="Oversight queue").first.click()
    assert page.get_by_role("heading", name="Oversight queue").is_visible()
    row = page.locator("tr", has_text="access_customer_data")
    assert "Overridden: allowed" in row.inner_text()
    assert "review pending" in row.inner_text()
    assert page.get_by_role("link", name="Review queue").count() == 0
    screenshot(page, "issue15-queue-overridden", full_page=True)
