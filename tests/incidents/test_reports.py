"""Report versions: pre-filled from the linked records, rendered to HTML and PDF (read back with
``pdftotext``), stored as ``external_report`` evidence with their SHA-256, one ledger entry
naming both; and the URL fetcher that keeps rendering off the network."""

from __future__ import annotations

import hashlib
import socket
import subprocess

import pytest

from apps.evidence.models import EvidenceArtifact, EvidenceDecisionLink
from apps.evidence.services import stored_chunks
from apps.incidents import pdf
from apps.ledger import events
from apps.ledger.selectors import ledger_verify
from tests.escalations.conftest import decide
from tests.incidents.conftest import DESCRIPTION, URL, assert_error, counts, entry

pytestmark = pytest.mark.django_db


def pdf_text(data: bytes) -> str:
    result = subprocess.run(
        ["/usr/bin/pdftotext", "-", "-"], input=data, capture_output=True, check=True
    )
    return result.stdout.decode()


def stored(artifact_id: str) -> bytes:
    artifact = EvidenceArtifact.objects.get(pk=artifact_id)
    return b"".join(stored_chunks(artifact.sha256))


@pytest.fixture
def linked(officer, body, agent):
    """An incident with personal data, linked to a denied decision the officer then stopped."""
    from apps.decisions.models import Decision
    from apps.escalations import services as oversight

    denied = decide(
        agent,
        {
            "actor": "ai_agent:customer_service",
            "action": "delete_customer_data",
            "ai_system": "cv-screening",
        },
    )
    oversight.agent_stop(
        decision=Decision.objects.get(pk=denied["decision_id"]),
        user=officer.user,
        reason="ranking looked discriminatory",
    )
    response = officer.post(
        URL,
        {
            **body,
            "category": "death",
            "personal_data_involved": True,
            "member_state": "DE",
            "decision_ids": [denied["decision_id"]],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_an_initial_report_is_rendered_stored_and_ledgered(officer, linked):
    url = f"{URL}/{linked['id']}/reports"
    response = officer.post(url, {"kind": "initial"}, format="json")
    assert response.status_code == 201, response.content
    report = response.json()
    assert (report["kind"], report["version"]) == ("initial", 1)

    # Both renderings are evidence artifacts whose hashes are those of their stored bytes.
    html_bytes, pdf_bytes = (
        stored(report["html"]["artifact_id"]),
        stored(report["pdf"]["artifact_id"]),
    )
    assert hashlib.sha256(html_bytes).hexdigest() == report["html"]["sha256"]
    assert hashlib.sha256(pdf_bytes).hexdigest() == report["pdf"]["sha256"]
    for part, media in (("html", "text/html; charset=utf-8"), ("pdf", "application/pdf")):
        artifact = EvidenceArtifact.objects.get(pk=report[part]["artifact_id"])
        assert (artifact.artifact_type, artifact.media_type) == ("external_report", media)
        assert artifact.metadata == {
            "incident_id": linked["id"],
            "kind": "initial",
            "version": 1,
            "format": part,
        }
        assert list(
            EvidenceDecisionLink.objects.filter(artifact=artifact).values_list(
                "decision_id", flat=True
            )
        ) == [__import__("uuid").UUID(linked["decision_ids"][0])]
    assert pdf_bytes.startswith(b"%PDF-")

    # One entry names both artifacts and hashes.
    entry_type, payload = entry(report["ledger_entry_id"])
    assert entry_type == "incident.report_generated"
    events.validate_payload(entry_type, payload, allow_test=False)
    assert payload["html_sha256"] == report["html"]["sha256"]
    assert payload["pdf_sha256"] == report["pdf"]["sha256"]
    assert payload["pdf_artifact_id"] == report["pdf"]["artifact_id"]

    # The PDF, read back, holds the incident's items, pre-filled from the linked records.
    text = " ".join(pdf_text(pdf_bytes).split())
    for item in (
        linked["id"],
        "Serious incident report — Initial report",
        "CV screening assistant 2.1.0",
        "cv-screening",
        "Death of a person",
        "Applicants over 50 were ranked last",
        linked["decision_ids"][0],
        "delete_customer_data",
        "agent stopped by user:",
        "GDPR Art. 33(1)",
        "EU AI Act Art. 73(4)",
        "To be completed by the organisation",
        "Page 1 of",
    ):
        assert item in text, item
    html = html_bytes.decode()
    assert linked["id"] in html
    assert linked["decision_ids"][0] in html
    # The answer of the incident lists the version.
    assert officer.get(f"{URL}/{linked['id']}").json()["reports"] == [report]
    assert ledger_verify()["valid"] is True


def test_the_stored_report_is_downloaded(officer, staff_api, agent_client, linked):
    report = officer.post(
        f"{URL}/{linked['id']}/reports", {"kind": "initial"}, format="json"
    ).json()
    base = f"{URL}/{linked['id']}/reports/1"
    for client in (officer, staff_api("auditor")):
        response = client.get(base)
        assert response.status_code == 200
        body = b"".join(response.streaming_content)
        assert hashlib.sha256(body).hexdigest() == report["pdf"]["sha256"]
        assert response["X-Content-SHA256"] == report["pdf"]["sha256"]
        assert response["Content-Type"] == "application/pdf"
    html = officer.get(base, {"format": "html"})
    assert hashlib.sha256(b"".join(html.streaming_content)).hexdigest() == report["html"]["sha256"]
    assert_error(officer.get(f"{URL}/{linked['id']}/reports/2"), 404, "not_found")
    assert_error(officer.get(base, {"format": "docx"}), 400, "validation_error")
    assert_error(agent_client("decide").get(base), 403, "permission_denied")
    # The report details its decisions: who may not see their evidence gets 404, as from the
    # evidence API (a reviewer sees only assigned decisions, an agent key only its own).
    # Issue 19: a reviewer (no view_dashboard) is refused before any of that.
    assert_error(staff_api("reviewer").get(base), 403, "permission_denied")
    assert_error(agent_client("compliance:read").get(base), 404, "not_found")


def test_versions_and_kinds_follow_the_state(officer, linked):
    url = f"{URL}/{linked['id']}/reports"
    before = counts()
    assert_error(officer.post(url, {"kind": "complete"}, format="json"), 409, "invalid_transition")
    assert_error(officer.post(url, {"kind": "final"}, format="json"), 400, "validation_error")
    assert_error(officer.post(url, {}, format="json"), 400, "validation_error")
    assert counts() == before
    first = officer.post(url, {"kind": "initial"}, format="json").json()
    second = officer.post(url, {"kind": "initial"}, format="json").json()
    assert (first["version"], second["version"]) == (1, 2)
    # The incident is recorded as sent with the latest initial version.
    moved = officer.patch(
        f"{URL}/{linked['id']}", {"status": "initial_report_sent"}, format="json"
    ).json()
    assert moved["history"][0]["report_id"] == second["id"]
    before = counts()
    assert_error(officer.post(url, {"kind": "initial"}, format="json"), 409, "invalid_transition")
    assert counts() == before
    complete = officer.post(url, {"kind": "complete"}, format="json").json()
    assert (complete["kind"], complete["version"]) == ("complete", 3)
    # The complete report shows the earlier versions and the history.
    text = " ".join(pdf_text(stored(complete["pdf"]["artifact_id"])).split())
    assert "Complete report" in text
    # (a hash may wrap inside its table cell)
    assert second["pdf"]["sha256"] in "".join(text.split())
    assert "open → initial_report_sent" in text


def test_reports_are_written_by_officers_only(staff_api, agent_client, linked):
    url = f"{URL}/{linked['id']}/reports"
    before = counts()
    assert_error(
        staff_api("reviewer").post(url, {"kind": "initial"}, format="json"),
        403,
        "permission_denied",
    )
    assert_error(
        agent_client("compliance:read", "evidence:write").post(
            url, {"kind": "initial"}, format="json"
        ),
        403,
        "permission_denied",
    )
    assert counts() == before


def test_text_in_the_description_is_escaped_not_markup(officer, body):
    hostile = DESCRIPTION + ' <img src="http://127.0.0.1:9/track.png"><b>bold</b>'
    opened = officer.post(URL, {**body, "description": hostile}, format="json").json()
    report = officer.post(
        f"{URL}/{opened['id']}/reports", {"kind": "initial"}, format="json"
    ).json()
    html = stored(report["html"]["artifact_id"]).decode()
    assert "&lt;img src=&quot;http://127.0.0.1:9/track.png&quot;&gt;" in html
    assert '<img src="http://127.0.0.1:9' not in html


# --- The URL fetcher -------------------------------------------------------------------------------


@pytest.fixture
def no_sockets(monkeypatch):
    """Any attempt to open a network connection fails the test."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


def test_the_fetcher_refuses_every_url_but_data(no_sockets, tmp_path):
    secret = tmp_path / "secret.css"
    secret.write_text("body { color: red }")
    fetcher = pdf.NoNetworkFetcher()
    urls = [
        "http://127.0.0.1:9/style.css",
        "https://example.org/logo.png",
        "ftp://example.org/x",
        "HTTP://EXAMPLE.ORG/",
        f"file://{secret}",
        "//example.org/protocol-relative.png",
        "logo.png",
    ]
    for url in urls:
        with pytest.raises(ValueError, match="not fetched"):
            fetcher.fetch(url)
    assert fetcher.refused == urls
    # data: URLs are resolved in memory.
    response = fetcher.fetch("data:text/plain;base64,aGVsbG8=")
    assert response.read() == b"hello"
    assert no_sockets == []


def test_rendering_a_page_with_external_references_fetches_none(no_sockets, tmp_path):
    secret = tmp_path / "font.css"
    secret.write_text("@font-face { font-family: X; src: url(http://127.0.0.1:9/x.woff) }")
    html = f"""<html><head>
      <link rel="stylesheet" href="https://example.org/evil.css">
      <link rel="stylesheet" href="file://{secret}">
      <style>@import url("http://127.0.0.1:9/import.css"); body {{ background: url(http://127.0.0.1:9/bg.png) }}</style>
    </head><body><p>Report body</p>
      <img src="http://127.0.0.1:9/pixel.png"><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
    </body></html>"""
    fetcher = pdf.NoNetworkFetcher()
    document = pdf.write_pdf(html, fetcher=fetcher)
    assert document.startswith(b"%PDF-")
    assert "Report body" in pdf_text(document)
    assert {
        "https://example.org/evil.css",
        f"file://{secret}",
        "http://127.0.0.1:9/import.css",
        "http://127.0.0.1:9/pixel.png",
    } <= set(fetcher.refused)
    assert not any(url.startswith("data:") for url in fetcher.refused)
    assert no_sockets == []
