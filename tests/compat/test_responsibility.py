"""``/responsibility/*``: the original's read routes over our responsibility records."""

from __future__ import annotations

import pytest
from django.urls import resolve
from rest_framework.test import APIClient

from apps.compat.responsibility import views
from apps.escalations import services
from tests.compat.conftest import DEMO, REFUND, written

NOTE = "Checked the invoice and the customer history; fine."


@pytest.fixture
def history(agent, decided, staff):
    """An allowed decision and a refund escalation the officer resolved (approved)."""
    officer = staff("olivia", "compliance_officer")
    allowed = decided(DEMO)
    refund = decided(REFUND)
    services.escalation_acknowledge(escalation_id=refund["escalation_id"], user=officer)
    services.escalation_resolve(
        escalation_id=refund["escalation_id"], user=officer, resolution="approved", note=NOTE
    )
    pending = decided(REFUND)
    return {"allowed": allowed, "refund": refund, "pending": pending, "officer": officer}


def test_chain_and_legal_of_a_resolved_decision(history, as_user):
    client = as_user(history["officer"])
    decision_id = history["refund"]["decision_id"]
    chain = client.get(f"/responsibility/chain/{decision_id}").json()
    assert chain["decision_id"] == decision_id
    makers = [r["decision_maker"] for r in chain["chain"]]
    assert makers == ["AI_SYSTEM", "HUMAN_OPERATOR"]
    assert chain["chain"][1]["responsible_party"] == "olivia"
    assert chain["chain"][1]["human_decision"] == "approved"

    legal = client.get(f"/responsibility/legal/{decision_id}").json()
    assert legal["human_oversight"] is True
    assert legal["accountable_party"] == "olivia"
    assert legal["original_outcome"] == "escalated"
    assert legal["effective_outcome"] == "allowed"
    assert legal["ledger_entry_ids"]

    engine_only = client.get(f"/responsibility/legal/{history['allowed']['decision_id']}").json()
    assert engine_only["human_oversight"] is False


def test_report_party_overrides_pending_and_stats_are_computed(history, as_user):
    client = as_user(history["officer"])
    report = client.get("/responsibility/report").json()
    assert report["decisions"] == 3
    assert report["total_records"] == 4
    assert report["by_decision_maker"] == {"AI_SYSTEM": 3, "HUMAN_OPERATOR": 1}
    assert report["overrides"] == 0
    assert report["pending_reviews"] == 1

    future = client.get("/responsibility/report", {"start_date": "2999-01-01T00:00:00Z"}).json()
    assert future["total_records"] == 0
    bad = client.get("/responsibility/report", {"start_date": "yesterday"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "start_date"]

    party = client.get("/responsibility/party/olivia").json()
    assert party["count"] == 1
    assert party["records"][0]["decision_id"] == history["refund"]["decision_id"]
    assert client.get("/responsibility/party/nobody").json()["count"] == 0

    assert client.get("/responsibility/overrides").json() == {"count": 0, "overrides": []}
    pending = client.get("/responsibility/pending-reviews").json()
    assert pending["count"] == 1
    assert pending["pending_reviews"][0]["decision_id"] == history["pending"]["decision_id"]

    stats = client.get("/responsibility/storage/stats").json()
    assert stats["total_records"] == 4
    assert stats["by_kind"] == {"decision": 3, "resolution": 1}


def test_unknown_decisions_are_404(history, as_user):
    client = as_user(history["officer"])
    for url in (
        "/responsibility/chain/req_example_002",
        "/responsibility/chain/00000000-0000-0000-0000-000000000000",
        "/responsibility/legal/dec_01M8JNHP2RY1EEX09FWYRBC9A8",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert isinstance(response.json()["detail"], str)


ROUTES = [
    ("/responsibility/report", views.ReportView),
    ("/responsibility/chain/x", views.ChainView),
    ("/responsibility/party/x", views.PartyView),
    ("/responsibility/overrides", views.OverridesView),
    ("/responsibility/pending-reviews", views.PendingReviewsView),
    ("/responsibility/legal/x", views.LegalView),
    ("/responsibility/storage/stats", views.StorageStatsView),
]


@pytest.mark.parametrize(("url", "view"), ROUTES)
def test_every_route_resolves_to_its_view(url, view):
    assert resolve(url).func.view_class is view


def test_the_native_chain_route_is_untouched():
    from apps.escalations.api.views import ResponsibilityChainApi

    match = resolve("/responsibility/0b7e4b8e-8a59-4f0e-9c43-6a1d0f6d2f10")
    assert match.func.view_class is ResponsibilityChainApi


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "view"), ROUTES)
def test_refused_without_a_verified_staff_session(url, view, password_only, agent_client):
    before = written()
    assert APIClient().get(url).status_code == 401
    assert password_only.get(url).status_code == 403
    key = agent_client("decide", "ledger:read", "compliance:read", "evidence:write")
    response = key.get(url)
    assert response.status_code == 403
    assert isinstance(response.json()["detail"], str)
    assert written() == before


def test_the_originals_session_id_works_on_these_routes(history, client):
    """A ``session_id`` from ``POST /auth/login`` (password and one-time code), sent as
    ``Authorization: Bearer``, is a verified staff session here too."""
    from django.test import Client

    from tests.compat.test_compat_api import _code
    from tests.conftest import PASSWORD

    officer = history["officer"]
    done = client.post(
        "/auth/login",
        {"username": officer.username, "password": PASSWORD, "otp_code": _code(officer)},
        content_type="application/json",
    ).json()
    assert done["success"] is True
    bearer = Client(HTTP_AUTHORIZATION=f"Bearer {done['session_id']}")
    report = bearer.get("/responsibility/report")
    assert report.status_code == 200
    assert report.json()["decisions"] == 3
    governance = bearer.get(
        f"/api/governance/escalation/decision/{history['pending']['decision_id']}"
    )
    assert governance.status_code == 200
    assert governance.json()["count"] == 1
    assert bearer.post("/auth/logout").json()["success"] is True
    assert (
        Client(HTTP_AUTHORIZATION=f"Bearer {done['session_id']}")
        .get("/responsibility/report")
        .status_code
        == 401
    )
