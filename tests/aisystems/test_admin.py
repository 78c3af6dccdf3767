"""The registry's admin pages: lists, filters and search; adding and changing go through the
services (one ledger entry each, nothing for an unchanged save); nothing can be deleted."""

from __future__ import annotations

import pytest

from apps.aisystems.models import AISystem, AISystemChange
from tests.aisystems.conftest import CV_SCREENING, REASONING, counts, entry_payload

pytestmark = pytest.mark.django_db

ADD = "/admin/aisystems/aisystem/add/"
LIST = "/admin/aisystems/aisystem/"


def change_url(system_id: str) -> str:
    return f"/admin/aisystems/aisystem/{system_id}/change/"


def form(**changes) -> dict:
    """The add/change form's POST data (blank owner, no exemption unless given)."""
    data = {
        **{k: v for k, v in CV_SCREENING.items() if k != "id"},
        "owner": "",
        "art_6_3_condition": "",
        "art_6_3_reasoning": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def officer_page(make_user):
    from django.test import Client

    from tests.conftest import verify_session

    user = make_user("olga", "compliance_officer")
    client = verify_session(Client(), user)
    client.user = user
    return client


def test_adding_in_the_admin_registers_through_the_service(officer_page):
    before = counts()
    owner = officer_page.user.pk
    response = officer_page.post(ADD, form(id="cv-screening", owner=owner))
    assert response.status_code == 302, response.content.decode()[:2000]
    system = AISystem.objects.get(pk="cv-screening")
    assert (system.risk_class, system.owner_id, system.created_by) == (
        "high",
        owner,
        f"user:{owner}",
    )
    assert counts() == (before[0] + 1, before[1] + 1, before[2] + 1)
    change = AISystemChange.objects.get(system=system)
    entry_type, payload = entry_payload(change.ledger_seq)
    assert entry_type == "ai_system.registered"
    assert payload["actor"]["id"] == f"user:{owner}"
    assert payload["owner"] == f"user:{owner}"


def test_changing_in_the_admin_writes_one_updated_entry(officer_page):
    assert officer_page.post(ADD, form(id="cv-screening")).status_code == 302
    before = counts()
    response = officer_page.post(change_url("cv-screening"), form(status="suspended"))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert AISystem.objects.get(pk="cv-screening").status == "suspended"
    assert counts() == (before[0], before[1] + 1, before[2] + 1)
    latest = AISystemChange.objects.order_by("ledger_seq").last()
    entry_type, payload = entry_payload(latest.ledger_seq)
    assert (entry_type, payload["changed"], payload["status"]) == (
        "ai_system.updated",
        ["status"],
        "suspended",
    )
    # Saving the form unchanged writes nothing.
    before = counts()
    assert (
        officer_page.post(change_url("cv-screening"), form(status="suspended")).status_code == 302
    )
    assert counts() == before
    # The history is on the page.
    page = officer_page.get(change_url("cv-screening")).content.decode()
    assert f"#{latest.ledger_seq} ai_system.updated status" in page


@pytest.mark.parametrize(
    ("_case", "data", "field"),
    [
        ("annex III but minimal", form(id="cv-screening", risk_class="minimal"), "risk_class"),
        (
            "exempt with a short reasoning",
            form(
                id="cv-screening",
                art_6_3_exempt="on",
                art_6_3_condition="a",
                art_6_3_reasoning="too short",
            ),
            "art_6_3_reasoning",
        ),
        ("a bad id", form(id="Not An Id"), "id"),
    ],
)
def test_an_invalid_form_writes_nothing(officer_page, _case, data, field):
    before = counts()
    response = officer_page.post(ADD, data)
    assert response.status_code == 200  # the form again, with its errors
    assert field in response.context["adminform"].form.errors
    assert counts() == before


def test_an_exemption_is_accepted_in_the_admin(officer_page):
    data = form(
        id="cv-screening",
        art_6_3_exempt="on",
        art_6_3_condition="a",
        art_6_3_reasoning=REASONING,
        risk_class="minimal",
    )
    assert officer_page.post(ADD, data).status_code == 302
    assert AISystem.objects.get(pk="cv-screening").art_6_3_exempt is True


def test_a_taken_id_is_a_form_error(officer_page):
    assert officer_page.post(ADD, form(id="cv-screening")).status_code == 302
    before = counts()
    response = officer_page.post(ADD, form(id="cv-screening", name="Another"))
    assert response.status_code == 200
    assert "id" in response.context["adminform"].form.errors
    assert counts() == before


def test_list_filters_and_search_render(officer_page):
    assert officer_page.post(ADD, form(id="cv-screening")).status_code == 302
    page = officer_page.get(LIST, {"status__exact": "active", "q": "screening"})
    assert page.status_code == 200
    assert "cv-screening" in page.content.decode()
    assert (
        "cv-screening" not in officer_page.get(LIST, {"status__exact": "retired"}).content.decode()
    )


def test_auditors_and_reviewers_only_look(officer_page, verified_client):
    assert officer_page.post(ADD, form(id="cv-screening")).status_code == 302
    for role in ("auditor", "reviewer"):
        client = verified_client(role)
        # Issue 19: reviewers no longer hold view_dashboard, so the registry is not theirs to read.
        readable = 200 if role == "auditor" else 403
        assert client.get(LIST).status_code == readable
        assert client.get(change_url("cv-screening")).status_code == readable  # read-only view
        before = counts()
        assert client.get(ADD).status_code == 403
        assert client.post(ADD, form(id="other")).status_code == 403
        assert client.post(change_url("cv-screening"), form(status="retired")).status_code == 403
        assert counts() == before


def test_nothing_is_deleted(officer_page):
    assert officer_page.post(ADD, form(id="cv-screening")).status_code == 302
    url = "/admin/aisystems/aisystem/cv-screening/delete/"
    assert officer_page.post(url, {"post": "yes"}).status_code == 403
    assert AISystem.objects.filter(pk="cv-screening").exists()
