"""``/compliance/eu-ai-act/audit-packet`` and its signature routes: a packet built from live data,
signed with a real RSA-4096 PSS key, verified both ways."""

from __future__ import annotations

import base64

import pytest
from django.urls import resolve
from rest_framework.test import APIClient

from apps.compat.euaiact import views
from tests.compat.conftest import DEMO, REFUND, written


@pytest.fixture
def exporter(agent_client):
    return agent_client("audit:export", "compliance:read")


def test_the_packet_is_computed_from_live_data_and_verifies(agent, decided, exporter):
    decided(DEMO)
    decided(REFUND)
    response = exporter.get("/compliance/eu-ai-act/audit-packet", {"time_window": "7d"})
    assert response.status_code == 200, response.content
    packet = response.json()
    assert packet["audit_packet_version"] == "1.0"
    summary = packet["compliance_summary"]
    assert summary["ledger_integrity"] == "VERIFIED"
    assert "COMPLIANT" not in str(summary)
    # the exporter key sees its own decisions only: none
    assert summary["decisions_in_window"] == 0
    assert packet["cryptographic_verification"]["ledger_valid"] is True
    assert packet["cryptographic_verification"]["entries_checked"] > 0
    info = packet["signature_info"]
    assert info["algorithm"] == "RSA-PSS-SHA256"

    key = exporter.get("/compliance/public-key").json()
    assert key["algorithm"] == "RSA-PSS-SHA256"
    assert key["key_size"] == 4096
    assert key["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert key["fingerprint"] == info["public_key_fingerprint"]
    assert len(key["fingerprint"]) == 64

    ok = exporter.post("/compliance/verify-signature", packet, format="json").json()
    assert ok["valid"] is True

    tampered = {**packet, "time_window": "30d"}
    assert (
        exporter.post("/compliance/verify-signature", tampered, format="json").json()["valid"]
        is False
    )
    flipped = base64.b64decode(info["signature"])
    flipped = bytes([flipped[0] ^ 1]) + flipped[1:]
    forged = {**packet, "signature_info": {**info, "signature": base64.b64encode(flipped).decode()}}
    assert (
        exporter.post("/compliance/verify-signature", forged, format="json").json()["valid"]
        is False
    )
    unknown = {**packet, "signature_info": {**info, "key_id": "nobody"}}
    result = exporter.post("/compliance/verify-signature", unknown, format="json").json()
    assert result == {**result, "valid": False, "message": "unknown signing key"}


def test_staff_see_every_decision_in_the_packet(agent, decided, staff_api):
    decided(DEMO)
    decided(REFUND)
    auditor = staff_api("auditor")
    packet = auditor.get("/compliance/eu-ai-act/audit-packet", {"time_window": "all"}).json()
    assert packet["compliance_summary"]["decisions_in_window"] == 2
    assert packet["compliance_summary"]["decisions_by_outcome"] == {"allowed": 1, "escalated": 1}
    assert packet["compliance_summary"]["escalations_open"] == 1
    assert len(packet["decision_log"]) == 2


def test_text_format_and_bad_parameters(exporter):
    text = exporter.get("/compliance/eu-ai-act/audit-packet", {"format": "text"})
    assert text.status_code == 200
    assert text["Content-Type"].startswith("text/plain")
    assert b"Ledger integrity:" in text.content
    bad = exporter.get("/compliance/eu-ai-act/audit-packet", {"time_window": "1y"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "time_window"]
    no_info = exporter.post("/compliance/verify-signature", {"a": 1}, format="json")
    assert no_info.status_code == 400
    assert isinstance(no_info.json()["detail"], str)


ROUTES = [
    ("get", "/compliance/eu-ai-act/audit-packet", views.AuditPacketView),
    ("post", "/compliance/verify-signature", views.VerifySignatureView),
    ("get", "/compliance/public-key", views.PublicKeyView),
]


@pytest.mark.parametrize(("method", "url", "view"), ROUTES)
def test_every_route_resolves_to_its_view_not_a_framework(method, url, view):
    assert resolve(url).func.view_class is view


def test_native_framework_route_still_answers_frameworks():
    from apps.compliance.api.views import FrameworkApi

    assert resolve("/compliance/soc2").func.view_class is FrameworkApi


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url", "view"), ROUTES)
def test_refused_without_the_right_credentials(method, url, view, password_only, agent_client):
    before = written()
    assert getattr(APIClient(), method)(url, {}, format="json").status_code == 401
    assert getattr(password_only, method)(url, {}, format="json").status_code == 403
    response = getattr(agent_client("decide"), method)(url, {}, format="json")
    assert response.status_code == 403
    assert isinstance(response.json()["detail"], str)
    assert written() == before


def test_article_11_is_the_registered_systems_annex_iv_document(make_user, agent_client):
    from apps.aisystems import services as registry
    from apps.ledger.models import LedgerEntry

    reader = agent_client("compliance:read")
    before = written()
    none_yet = reader.get("/compliance/eu-ai-act/article-11")
    assert none_yet.status_code == 400
    assert "ai_system" in none_yet.json()["detail"]
    assert written() == before

    officer = make_user("olga", "compliance_officer")
    registry.ai_system_register(
        principal=officer,
        system_id="cv-screening",
        name="CV screening assistant",
        version="2.1.0",
        role="provider",
        intended_purpose="Ranks job applications against the requirements of the role.",
        annex_iii_point="4(a)",
        risk_class="high",
        status="active",
        owner=officer,
    )
    seq = LedgerEntry.objects.order_by("-seq").first().seq
    response = reader.get("/compliance/eu-ai-act/article-11", {"format": "json"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["format"] == "json"
    assert "cv-screening" in str(body["content"])
    new = set(LedgerEntry.objects.filter(seq__gt=seq).values_list("entry_type", flat=True))
    assert new == {"evidence.registered", "techdoc.generated"}  # as the native route writes
    markdown = reader.get("/compliance/eu-ai-act/article-11", {"format": "markdown"})
    assert markdown.status_code == 400
    unknown = reader.get("/compliance/eu-ai-act/article-11", {"ai_system": "nope"})
    assert unknown.status_code == 404


def test_article_11_route_and_permissions(password_only, agent_client):
    assert resolve("/compliance/eu-ai-act/article-11").func.view_class is views.Article11View
    url = "/compliance/eu-ai-act/article-11"
    assert APIClient().get(url).status_code == 401
    assert password_only.get(url).status_code == 403
    assert agent_client("decide").get(url).status_code == 403
