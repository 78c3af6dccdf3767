"""The dashboard page per role, its figures against the database, its links, the verification
button, the signed-in home, and the queue's SLA filter the dashboard links to."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.dashboard import services
from apps.escalations.models import Escalation
from apps.ledger.models import VerificationRun
from tests.dashboard.conftest import db_outcomes

pytestmark = pytest.mark.django_db
URL = "/dashboard/"


def figure(html: str, name: str) -> str:
    match = re.search(rf'data-figure="{re.escape(name)}"[^>]*>([^<]*)<', html)
    assert match is not None, name
    return match.group(1).strip()


def nav(html: str) -> list[str]:
    block = re.search(r'<nav aria-label="Main">(.*?)</nav>', html, re.S)
    assert block is not None
    return re.findall(r">([^<]+)</a>", block.group(1))


@pytest.fixture
def officer(staff):
    return staff("olivia", "compliance_officer")


@pytest.fixture
def auditor(staff):
    return staff("audrey", "auditor")


@pytest.fixture
def reviewer(staff):
    return staff("rita", "reviewer")


def test_officer_sees_every_panel_with_the_database_figures(world, officer, as_user):
    services.rollup_catch_up(limit=5)  # some from the roll-up, the rest from the live tail
    response = as_user(officer).get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    outcomes = db_outcomes()
    assert figure(html, "decisions-total") == "7"
    for outcome in ("allowed", "denied", "escalated"):
        assert figure(html, f"decisions-{outcome}") == str(outcomes[outcome])
    assert figure(html, "deny-rate") == "28.6 %"
    assert figure(html, "escalation-rate") == "28.6 %"
    assert figure(html, "pending-total") == "2"
    assert figure(html, "sla-on_time") == "2"
    assert figure(html, "sla-breached") == "0"
    assert figure(html, "override-count") == "0"
    assert figure(html, "verification-result") == "never run"
    for heading in (
        "Decisions over time",
        "Risk",
        "Human oversight",
        "Integrity",
        "Compliance posture",
        "Open incidents (Art. 73 clocks)",
        "AI systems with missing Annex IV items",
    ):
        assert f">{heading}</h2>" in html, heading
    assert "<svg" in html
    assert "as a table" in html
    assert nav(html)[0] == "Dashboard"
    assert "Verify the whole ledger now" in html


def test_a_figure_links_to_the_list_it_counts(world, officer, as_user):
    client = as_user(officer)
    html = client.get(URL).content.decode()
    link = re.search(r'<a href="([^"]+)" data-figure="decisions-denied"', html).group(1)
    listing = client.get(link.replace("&amp;", "&"))
    assert listing.status_code == 200
    assert listing.context["cl"].result_count == db_outcomes()["denied"] == 2
    link = re.search(r'<a href="([^"]+)" data-figure="sla-on_time"', html).group(1)
    queue = client.get(link.replace("&amp;", "&"))
    assert queue.status_code == 200
    assert len(queue.context["rows"]) == 2


def test_the_queue_keeps_one_sla_state(world, officer, as_user):
    late = Escalation.objects.order_by("created_at").first()
    Escalation.objects.filter(pk=late.pk).update(sla_deadline=timezone.now() - timedelta(minutes=1))
    client = as_user(officer)
    rows = client.get(reverse("escalations:queue"), {"show": "open", "sla": "breached"}).context[
        "rows"
    ]
    assert [row["escalation"].pk for row in rows] == [late.pk]
    html = client.get(URL).content.decode()
    assert figure(html, "sla-breached") == "1"
    assert figure(html, "sla-on_time") == "1"


def test_reviewer_gets_no_dashboard_and_no_compliance(world, reviewer, as_user):
    client = as_user(reviewer)
    assert client.get(URL).status_code == 403
    assert client.get(reverse("admin:compliance_control_changelist")).status_code in (302, 403)
    home = client.get("/")
    assert home.status_code == 200
    html = home.content.decode()
    assert "Oversight queue" in nav(html)
    assert not {"Dashboard", "Compliance", "AI systems", "Records"} & set(nav(html))
    assert reverse("escalations:queue") in html
    assert "/admin/" not in html  # nothing the reviewer cannot open
    assert client.get(reverse("escalations:queue")).status_code == 200


def test_auditor_reads_the_dashboard_but_cannot_start_a_verification(world, auditor, as_user):
    client = as_user(auditor)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Verify the whole ledger now" not in html
    assert "read-only view" in html
    assert client.post(reverse("dashboard:verify")).status_code == 403
    assert not VerificationRun.objects.exists()


def test_officer_runs_a_verification_and_reads_its_result(world, officer, as_user):
    client = as_user(officer)
    response = client.post(reverse("dashboard:verify"))
    assert response.status_code == 302
    job = re.search(r"job=([0-9a-f]+)", response["Location"]).group(1)
    run = VerificationRun.objects.get()
    assert run.valid
    assert run.trigger == f"dashboard:user:{officer.pk}"
    state = client.get(reverse("dashboard:verify_status", args=[job])).json()
    assert state["state"] == "done"
    assert state["run"]["valid"] is True
    assert state["run"]["entries_checked"] == run.entries_checked > 0
    page = client.get(response["Location"]).content.decode()
    assert figure(page, "verification-result") == "valid"
    assert client.get(reverse("dashboard:verify_status", args=["nope"])).status_code == 404
    assert client.get(reverse("dashboard:verify")).status_code == 405


def test_signed_in_home_sends_dashboard_roles_to_the_dashboard(officer, auditor, as_user):
    for user in (officer, auditor):
        response = as_user(user).get("/")
        assert response.status_code == 302
        assert response["Location"] == URL


def test_bad_filters_answer_400_with_the_reason(world, officer, as_user):
    client = as_user(officer)
    response = client.get(URL, {"window": "30d", "bucket": "hour"})
    assert response.status_code == 400
    assert "Hour buckets are offered for windows up to 7 days" in response.content.decode()
    assert client.get(URL, {"window": "forever"}).status_code == 400
    assert client.get(URL, {"agent_key": "not-a-key"}).status_code == 400
    ok = client.get(URL, {"window": "24h", "bucket": "hour", "ai_system": ""})
    assert ok.status_code == 200


def test_anonymous_and_password_only_are_sent_to_sign_in(officer, client):
    assert "/accounts/login/" in client.get(URL)["Location"]
    client.force_login(officer)
    assert "/accounts/otp/" in client.get(URL)["Location"]


FULL_MENU = ["Dashboard", "Oversight queue", "Compliance", "AI systems", "Records", "API"]
NOT_FOR_REVIEWERS = ["Dashboard", "Compliance", "AI systems", "Records"]


@pytest.mark.parametrize(
    ("role", "menu", "hidden"),
    [
        ("admin", FULL_MENU, []),
        ("compliance_officer", FULL_MENU, []),
        ("auditor", FULL_MENU, []),
        ("reviewer", ["Oversight queue", "API"], NOT_FOR_REVIEWERS),
    ],
)
def test_one_menu_per_role_and_every_entry_opens(role, menu, hidden, staff, as_user):
    """The entries this issue owns, in order (other apps may add theirs in between), none of the
    hidden ones, and every link of the menu opens for that role."""
    client = as_user(staff(f"user_{role}", role))
    html = client.get(reverse("escalations:queue")).content.decode()
    shown = nav(html)
    assert [label for label in shown if label in FULL_MENU] == menu
    assert not set(hidden) & set(shown)
    block = re.search(r'<nav aria-label="Main">(.*?)</nav>', html, re.S).group(1)
    for url in re.findall(r'href="([^"]+)"', block):
        assert client.get(url).status_code == 200, (role, url)
