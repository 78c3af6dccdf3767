"""The policy staff pages: versions, diff, simulation and activation with a reason."""

from __future__ import annotations

import copy
import json
import re

import pytest
from django.test import Client

from apps.ledger import services as ledger
from apps.ledger.models import LedgerEntry
from apps.policies import selectors
from apps.policies.models import PolicyActivation, PolicySimulation
from tests.policies.test_simulation import DEMO_DOCUMENT, draft_forbidding, load

pytestmark = pytest.mark.django_db


def changed_draft() -> dict:
    """The demo policy with one rule added, one removed and one changed."""
    document = draft_forbidding("read_ticket")
    document["relations"] = [r for r in document["relations"] if r["id"] != "cs-no-bulk-export"]
    for rule in document["relations"]:
        if rule["id"] == "cs-refund-small":
            rule["conditions"][0]["value"] = 250
    return document


@pytest.fixture
def draft(demo_policy):
    return load(changed_draft())


def test_versions_page_names_who_loaded_and_activated_each(staff, as_user, demo_policy):
    from apps.accounts.principals import actor_of
    from apps.policies import services

    olga = staff("olga", "compliance_officer")
    draft = services.policy_load(document=changed_draft(), actor=actor_of(olga)).version
    services.policy_activate(version=draft, actor=actor_of(olga), reason="Reviewed the flips.")
    response = as_user(olga).get("/policies/manage/")
    assert response.status_code == 200
    html = response.content.decode()
    row = html.split(f"/policies/manage/versions/{draft.pk}/")[1].split("</tr>")[0]
    assert "1.1.0-draft" in row
    assert row.count(f"olga (user:{olga.pk})") == 2  # loaded by, activated by
    history = html.split('id="activations-h"')[1].split("</section>")[0]
    assert "Reviewed the flips." in history
    assert ">Policies</a>" in html  # the menu entry


def test_diff_page_lists_added_removed_and_changed_rules(verified_client, demo_policy, draft):
    page = verified_client("auditor", "audrey").get(
        f"/policies/manage/diff/?a={demo_policy.pk}&b={draft.pk}"
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert re.search(r'id="count-added">1<', html)
    assert re.search(r'id="count-removed">1<', html)
    assert re.search(r'id="count-changed">1<', html)
    added = html.split('id="added-h"')[1].split("</section>")[0]
    removed = html.split('id="removed-h"')[1].split("</section>")[0]
    changed = html.split('id="changed-h"')[1].split("</section>")[0]
    assert "draft-no-read_ticket" in added
    assert "cs-no-bulk-export" in removed
    assert "cs-refund-small" in changed
    assert "250" in changed
    assert "500" in changed
    assert "version" in html.split('id="summary-h"')[1].split("</section>")[0]  # 1.0.0 → 1.1.0


def test_diff_of_an_unknown_version_is_404(verified_client, demo_policy):
    response = verified_client().get(f"/policies/manage/diff/?a={demo_policy.pk}&b=nope")
    assert response.status_code == 404


def test_officer_simulates_then_activates_with_a_reason(
    verified_client, agent, draft, django_capture_on_commit_callbacks
):
    for _ in range(2):
        agent.post(
            "/decide",
            {"actor": "ai_agent:customer_service", "action": "read_ticket"},
            format="json",
        )
    officer = verified_client("compliance_officer", "olga")
    version_page = officer.get(f"/policies/manage/versions/{draft.pk}/")
    assert version_page.status_code == 200
    assert b"Run simulation" in version_page.content
    assert b"Activate this version" in version_page.content

    with django_capture_on_commit_callbacks(execute=True):
        response = officer.post(f"/policies/manage/versions/{draft.pk}/simulate", {"limit": "100"})
    simulation = PolicySimulation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/policies/manage/simulations/{simulation.pk}/"
    page = officer.get(response["Location"]).content.decode()
    assert re.search(r'id="flipped">2<', page)
    assert "draft-no-read_ticket" in page
    assert "read_ticket" in page.split('id="flip-1-h"')[1]  # the examples, shown to an officer
    progress = officer.get(f"/policies/manage/simulations/{simulation.pk}/progress").json()
    assert progress == {"status": "done", "processed": 2, "total": 2, "percent": 100}

    entries = LedgerEntry.objects.count()
    refused = officer.post(f"/policies/manage/versions/{draft.pk}/activate", {"reason": "  "})
    assert refused.status_code == 400
    assert b"required" in refused.content
    assert LedgerEntry.objects.count() == entries
    assert selectors.active_version().pk != draft.pk

    done = officer.post(
        f"/policies/manage/versions/{draft.pk}/activate",
        {"reason": "Simulation: only read_ticket flips, as intended."},
    )
    assert done.status_code == 302
    assert selectors.active_version().pk == draft.pk
    activation = PolicyActivation.objects.get(version=draft)
    assert activation.reason == "Simulation: only read_ticket flips, as intended."
    assert activation.activated_by == f"user:{officer.session['_auth_user_id']}"
    payload = json.loads(LedgerEntry.objects.get(seq=activation.ledger_seq).payload)
    assert ledger.commitment_matches(
        activation.reason, activation.reason_salt, payload["reason_commitment"]
    )
    listing = officer.get("/policies/manage/").content.decode()
    assert "Simulation: only read_ticket flips, as intended." in listing


def test_auditor_reads_but_cannot_simulate_or_activate(verified_client, draft):
    auditor = verified_client("auditor", "audrey")
    page = auditor.get(f"/policies/manage/versions/{draft.pk}/")
    assert page.status_code == 200
    assert b"Run simulation" not in page.content
    assert b"Activate this version" not in page.content
    entries = LedgerEntry.objects.count()
    assert (
        auditor.post(f"/policies/manage/versions/{draft.pk}/simulate", {"limit": 5}).status_code
        == 403
    )
    assert (
        auditor.post(f"/policies/manage/versions/{draft.pk}/activate", {"reason": "x"}).status_code
        == 403
    )
    assert PolicySimulation.objects.count() == 0
    assert LedgerEntry.objects.count() == entries
    assert selectors.active_version().pk != draft.pk


def test_simulation_results_are_closed_to_a_reviewer(
    verified_client, agent, draft, django_capture_on_commit_callbacks
):
    """Reviewers hold neither view_dashboard nor view_audit_logs (issue 19): no policy page,
    neither the figures nor the example decisions."""
    agent.post(
        "/decide", {"actor": "ai_agent:customer_service", "action": "read_ticket"}, format="json"
    )
    officer = verified_client("compliance_officer", "olga")
    with django_capture_on_commit_callbacks(execute=True):
        officer.post(f"/policies/manage/versions/{draft.pk}/simulate", {"limit": "10"})
    simulation = PolicySimulation.objects.get()
    url = f"/policies/manage/simulations/{simulation.pk}/"
    assert re.search(r'id="flipped">1<', officer.get(url).content.decode())
    reviewer = verified_client("reviewer", "rita")
    page = reviewer.get(url)
    assert page.status_code == 403
    assert "flipped" not in page.content.decode()
    assert reviewer.get("/policies/manage/").status_code == 403


@pytest.mark.parametrize(
    ("limit", "_case"), [("0", "zero"), ("100001", "too many"), ("ten", "not a number")]
)
def test_a_bad_limit_re_renders_the_page_and_writes_nothing(verified_client, draft, limit, _case):
    response = verified_client().post(
        f"/policies/manage/versions/{draft.pk}/simulate", {"limit": limit}
    )
    assert response.status_code == 400
    assert b'role="alert"' in response.content
    assert PolicySimulation.objects.count() == 0


def test_pages_need_sign_in_with_otp(make_user, draft):
    anonymous = Client().get("/policies/manage/")
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login")
    password_only = Client()
    password_only.force_login(make_user("pat", "compliance_officer"))
    response = password_only.get("/policies/manage/")
    assert response.status_code == 302
    assert "otp" in response["Location"]


def test_unknown_version_and_simulation_pages_are_404(verified_client, demo_policy):
    client = verified_client()
    missing = "00000000-0000-0000-0000-000000000000"
    assert client.get(f"/policies/manage/versions/{missing}/").status_code == 404
    assert client.get(f"/policies/manage/simulations/{missing}/").status_code == 404
    assert (
        client.post(f"/policies/manage/versions/{missing}/activate", {"reason": "x"}).status_code
        == 404
    )


def test_a_user_without_any_reading_permission_is_refused(make_user, draft):
    from django.contrib.auth.models import Group

    from tests.conftest import verify_session

    user = make_user("nobody", "reviewer")
    user.groups.set(Group.objects.none())
    assert verify_session(Client(), user).get("/policies/manage/").status_code == 403


def test_identical_versions_compare_as_identical(verified_client, demo_policy):
    same = copy.deepcopy(DEMO_DOCUMENT)
    html = (
        verified_client()
        .get(f"/policies/manage/diff/?a={demo_policy.pk}&b={demo_policy.pk}")
        .content.decode()
    )
    assert "The two versions are identical." in html
    assert load(same).pk == demo_policy.pk
