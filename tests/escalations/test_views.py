"""Reviewer pages: login + OTP required (T29), visibility, the Part D screen, form posts with CSRF
(T34), and that refused posts wrote nothing."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from apps.escalations.models import Escalation, Override
from apps.ledger.models import LedgerEntry
from tests.conftest import DEMO
from tests.escalations.conftest import CRITICAL, JUSTIFICATION, NOTE, decide, snapshot

pytestmark = pytest.mark.django_db

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def pages(escalated) -> list[str]:
    escalation_id, decision_id = escalated.escalation.pk, escalated.decision.pk
    return [
        reverse("escalations:queue"),
        reverse("escalations:detail", args=[escalation_id]),
        reverse("escalations:decision", args=[decision_id]),
    ]


def post_pages(escalated) -> list[tuple[str, dict]]:
    escalation_id, decision_id = escalated.escalation.pk, escalated.decision.pk
    return [
        (reverse("escalations:acknowledge", args=[escalation_id]), {}),
        (
            reverse("escalations:resolve", args=[escalation_id]),
            {"resolution": "approved", "note": NOTE},
        ),
        (reverse("escalations:assign", args=[escalation_id]), {"reviewer": "rita"}),
        (
            reverse("escalations:override", args=[decision_id]),
            {
                "override_type": "risk_accepted",
                "outcome": "allowed",
                "justification": JUSTIFICATION,
            },
        ),
        (
            reverse("escalations:stop", args=[decision_id]),
            {"reason": "stop this agent", "confirm": "on"},
        ),
    ]


def test_anonymous_goes_to_login(escalated, client):
    for url in pages(escalated):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("accounts:login"))


def test_t29_password_without_otp_goes_to_otp_step_and_nothing_renders(escalated, officer):
    client = Client()
    client.force_login(officer)
    before = snapshot()
    for url in pages(escalated):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("accounts:otp"))
        assert escalated.decision.action.encode() not in response.content
    for url, body in post_pages(escalated):
        response = client.post(url, body)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("accounts:otp"))
    assert snapshot() == before


def test_queue_shows_assigned_only_to_reviewer(agent, assigned, reviewer, officer, as_user):
    other = decide(agent, {**DEMO, "action": "close_account"})
    page = as_user(reviewer).get(reverse("escalations:queue"))
    assert page.status_code == 200
    text = page.content.decode()
    assert str(assigned.escalation.pk) in text
    assert other["escalation_id"] not in text
    assert "Escalations assigned to you" in text
    full = as_user(officer).get(reverse("escalations:queue")).content.decode()
    assert other["escalation_id"] in full
    assert 'class="badge solid medium"' in full
    assert "data-deadline=" in full
    assert "left</time>" in full


def test_queue_is_sorted_by_sla(agent, officer, as_user):
    medium = decide(
        agent, {"actor": DEMO["actor"], "action": "issue_refund", "context": {"amount": 900}}
    )
    critical = decide(agent, CRITICAL)
    text = as_user(officer).get(reverse("escalations:queue")).content.decode()
    assert text.index(critical["escalation_id"]) < text.index(medium["escalation_id"])


def test_unassigned_reviewer_gets_404_on_every_page(escalated, staff, as_user):
    stranger = as_user(staff("sam", "reviewer"))
    for url in pages(escalated)[1:]:
        assert stranger.get(url).status_code == 404
    before = snapshot()
    for url, body in post_pages(escalated):
        response = stranger.post(url, body)
        assert response.status_code in (403, 404), url  # 403: role lacks the permission outright
    assert snapshot() == before


def test_detail_page_shows_part_d_content_with_minimised_context(agent, officer, as_user):
    answer = decide(
        agent,
        {
            "actor": DEMO["actor"],
            "action": "issue_refund",
            "data_classes": ["customer_pii"],
            "context": {"amount": 900, "currency": "EUR", "customer_email": "jane@example.org"},
        },
    )
    page = as_user(officer).get(reverse("escalations:detail", args=[answer["escalation_id"]]))
    text = page.content.decode()
    assert page.status_code == 200
    for expected in (
        "What the agent asked",
        "ai_agent:customer_service",
        "issue_refund",
        "customer_pii",
        "customer_email",
        "personal data (hidden)",
        "cs-refund-large-review",
        "Risk",
        "Show what the engine would do without you",
        "data-deadline=",
    ):
        assert expected in text, expected
    assert "jane@example.org" not in text
    assert "<script>" not in text  # CSP: script-src 'self', no inline scripts
    assert re.findall(r"<script[^>]*>", text) == [
        '<script src="/static/escalations/oversight.js" defer>'
    ]


def test_auditor_can_read_but_sees_no_action_forms(escalated, staff, as_user):
    auditor = as_user(staff("audrey", "auditor"))
    page = auditor.get(reverse("escalations:detail", args=[escalated.escalation.pk]))
    assert page.status_code == 200
    assert b"your role cannot act on it" in page.content
    assert b'name="resolution"' not in page.content
    before = snapshot()
    for url, body in post_pages(escalated):
        assert auditor.post(url, body).status_code == 403, url
    assert snapshot() == before


def test_reviewer_acknowledges_and_approves_through_the_pages(assigned, reviewer, as_user):
    client = as_user(reviewer)
    detail = reverse("escalations:detail", args=[assigned.escalation.pk])
    assert b"Acknowledge and review" in client.get(detail).content
    response = client.post(reverse("escalations:acknowledge", args=[assigned.escalation.pk]))
    assert response.status_code == 302
    assert response.url == detail
    page = client.get(detail).content.decode()
    assert 'value="approved"' in page
    assert 'value="denied"' in page
    before = snapshot()
    short = client.post(
        reverse("escalations:resolve", args=[assigned.escalation.pk]),
        {"resolution": "approved", "note": "fine"},
    )
    assert short.status_code == 400
    assert b"at least 10 characters" in short.content
    assert snapshot() == before
    done = client.post(
        reverse("escalations:resolve", args=[assigned.escalation.pk]),
        {"resolution": "approved", "note": NOTE},
    )
    assert done.status_code == 302
    assert done.url == reverse("escalations:decision", args=[assigned.decision.pk])
    decision_page = client.get(done.url).content.decode()
    escalation = Escalation.objects.get(pk=assigned.escalation.pk)
    assert escalation.resolution == "approved"
    assert "escalation.resolved" in decision_page
    assert "decision.made" in decision_page
    assert "escalation.assigned" in decision_page
    assert escalation.capability_token in decision_page
    assert "Resolved: approved." in decision_page
    again = client.post(
        reverse("escalations:resolve", args=[assigned.escalation.pk]),
        {"resolution": "denied", "note": NOTE},
    )
    assert again.status_code == 409
    assert LedgerEntry.objects.filter(entry_type="escalation.resolved").count() == 1


def test_officer_assigns_overrides_and_stops_through_the_pages(
    agent, escalated, officer, reviewer, as_user
):
    decide(agent, DEMO)
    client = as_user(officer)
    response = client.post(
        reverse("escalations:assign", args=[escalated.escalation.pk]), {"reviewer": "rita"}
    )
    assert response.status_code == 302
    decision_url = reverse("escalations:decision", args=[escalated.decision.pk])
    before = snapshot()
    bad = client.post(
        reverse("escalations:override", args=[escalated.decision.pk]),
        {"override_type": "risk_accepted", "outcome": "allowed", "justification": "too short"},
    )
    assert bad.status_code == 400
    no_confirm = client.post(
        reverse("escalations:stop", args=[escalated.decision.pk]), {"reason": "stop this agent"}
    )
    assert no_confirm.status_code == 400
    assert snapshot() == before
    done = client.post(
        reverse("escalations:override", args=[escalated.decision.pk]),
        {"override_type": "risk_accepted", "outcome": "allowed", "justification": JUSTIFICATION},
    )
    assert done.status_code == 302
    assert done.url == decision_url
    assert Override.objects.get().executed_by == officer
    stopped = client.post(
        reverse("escalations:stop", args=[escalated.decision.pk]),
        {"reason": "stop this agent", "confirm": "on"},
    )
    assert stopped.status_code == 302
    page = client.get(decision_url).content.decode()
    for expected in (
        "override.executed",
        "agent.stopped",
        "token.revoked",
        "Agent stopped: 2 outstanding tokens revoked.",
    ):
        assert expected in page, expected


def csrf_token_of(client: Client, url: str) -> str:
    match = CSRF_INPUT.search(client.get(url).content.decode())
    assert match is not None
    return match.group(1)


def test_t34_csrf_is_enforced_on_every_post_page(assigned, officer, staff, as_user):
    client = as_user(officer, csrf=True)
    other = as_user(staff("oscar", "compliance_officer"), csrf=True)
    detail = reverse("escalations:detail", args=[assigned.escalation.pk])
    foreign_token = csrf_token_of(other, detail)
    own_token = csrf_token_of(client, detail)
    before = snapshot()
    for url, body in post_pages(assigned):
        assert client.post(url, body).status_code == 403, f"no token: {url}"
        assert (
            client.post(url, {**body, "csrfmiddlewaretoken": foreign_token}).status_code == 403
        ), f"token of another session: {url}"
        response = client.post(
            url,
            {**body, "csrfmiddlewaretoken": own_token},
            HTTP_ORIGIN="https://evil.example",
            HTTP_REFERER="https://evil.example/",
        )
        assert response.status_code == 403, f"foreign origin: {url}"
    assert snapshot() == before
    ok = client.post(
        reverse("escalations:acknowledge", args=[assigned.escalation.pk]),
        {"csrfmiddlewaretoken": own_token},
    )
    assert ok.status_code == 302


# --- Issue 15: the assign form, one queue name, overrides in the queue, the engine's view ---------

OUTRANKED_PERMIT = {
    "actor": DEMO["actor"],
    "action": "access_customer_data",
    "context": {"purpose": "support_ticket", "data_sensitivity": "critical"},
}
REVEAL = re.compile(r'<details class="reveal">.*?</details>', re.S)


def test_the_assign_form_starts_with_no_reviewer_chosen(escalated, officer, reviewer, as_user):
    client = as_user(officer)
    url = reverse("escalations:detail", args=[escalated.escalation.pk])
    select = re.search(
        r'<select name="reviewer".*?</select>', client.get(url).content.decode(), re.S
    )
    assert select is not None
    options = re.findall(r"<option[^>]*>[^<]*</option>", select.group(0))
    assert options[0] == '<option value="" selected>Choose a reviewer…</option>'
    assert all("selected" not in option for option in options[1:])
    before = snapshot()
    response = client.post(reverse("escalations:assign", args=[escalated.escalation.pk]), {})
    assert response.status_code == 400
    assert b"Choose a reviewer." in response.content
    assert snapshot() == before


def test_every_page_calls_the_queue_by_one_name(escalated, officer, as_user):
    client = as_user(officer)
    for url in [*pages(escalated), "/"]:
        # Issue 19: "/" sends an officer to the dashboard (whose menu names the queue too).
        text = client.get(url, follow=True).content.decode()
        assert "Review queue" not in text, url
        assert "Oversight queue" in text, url


def test_an_overridden_escalation_shows_its_real_state_in_the_queue(escalated, officer, as_user):
    client = as_user(officer)
    done = client.post(
        reverse("escalations:override", args=[escalated.decision.pk]),
        {"override_type": "risk_accepted", "outcome": "allowed", "justification": JUSTIFICATION},
    )
    assert done.status_code == 302
    queue = client.get(reverse("escalations:queue")).content.decode()
    row = re.search(r"<tr[^>]*>(?:(?!</tr>).)*issue_refund.*?</tr>", queue, re.S).group(0)
    assert "Overridden: allowed" in row
    assert '<span class="badge pending">Pending</span>' not in row
    detail = client.get(reverse("escalations:detail", args=[escalated.escalation.pk]))
    assert "Overridden: allowed" in detail.content.decode()
    assert "An override already decides this request" in detail.content.decode()


def test_the_rules_list_hides_the_permit_rule_behind_the_engine_reveal(
    agent, escalated, officer, as_user
):
    answer = decide(agent, OUTRANKED_PERMIT)
    assert answer["outcome"] == "escalated"
    assert "permit_outranked" in {reason["effect"] for reason in answer["reasons"]}
    page = as_user(officer).get(reverse("escalations:detail", args=[answer["escalation_id"]]))
    text = page.content.decode()
    (reveal,) = REVEAL.findall(text)
    outside = REVEAL.sub("", text)
    assert "cs-escalate-critical-records" in outside
    assert "cs-access-for-ticket" not in outside
    assert "permit" not in re.search(r'<ol class="reasons">.*?</ol>', outside, re.S).group(0)
    assert "cs-access-for-ticket" in reveal
    assert "would have <strong>allowed</strong>" in reveal
