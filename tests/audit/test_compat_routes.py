"""The original Lexecon's audit-export routes (apps.compat.audit_export) over our exports: its
request shape, its intended answer fields, every route reachable (none shadowed), the same export
and ledger entry as ``POST /audit/export``, and the same rule on who may see what."""

from __future__ import annotations

import hashlib
import json

import pytest

from apps.audit.models import Export
from apps.ledger.models import LedgerEntry

pytestmark = pytest.mark.django_db

G = "/api/governance/audit-export"
ORIGINAL = {
    "requester": "auditor@example.org",
    "purpose": "Quarterly SOC 2 evidence review",
    "scope": "ALL",
    "format": "json",
}


@pytest.fixture
def request_export(django_capture_on_commit_callbacks):
    """POST an original-shaped request and run what its commit enqueues (the eager task)."""

    def _post(client, body: dict, url: str = f"{G}/request"):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, body, format="json")

    return _post


def exports_and_entries() -> tuple[int, int]:
    return Export.objects.count(), LedgerEntry.objects.filter(entry_type="export.created").count()


@pytest.mark.parametrize("url", [f"{G}/request", "/api/v1/audit/export"])
def test_the_original_request_makes_our_export(record, exporter, request_export, url):
    response = request_export(exporter, ORIGINAL, url)
    assert response.status_code == 200, response.content
    body = response.json()
    export = Export.objects.get(pk=body["export_id"])
    assert (export.scope, export.format) == ("all", "json")
    assert export.requested_by == f"agent:{exporter.agent_key.prefix}"
    assert body["request"]["purpose"] == ORIGINAL["purpose"]
    # The answer is the export as it stands: here finished, so the original's fields are filled.
    export.refresh_from_db()
    assert export.status == "done"
    got = exporter.get(f"{G}/{export.pk}").json()
    assert got["record_count"] == export.rows > 0
    assert got["size_bytes"] == export.bytes
    assert got["checksum"] == export.sha256
    assert got["generated_at"] is not None
    [entry] = LedgerEntry.objects.filter(entry_type="export.created")
    assert got["ledger_entry_id"] == entry.seq
    assert json.loads(entry.payload)["sha256"] == export.sha256


def test_download_content_list_statistics_and_generate(record, exporter, request_export):
    export_id = request_export(exporter, ORIGINAL).json()["export_id"]
    for url in (f"{G}/{export_id}/download", f"/api/v1/audit/exports/{export_id}/download"):
        response = exporter.get(url)
        assert response.status_code == 200
        data = b"".join(response.streaming_content)
        assert response["ETag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    content = exporter.get(f"{G}/{export_id}?include_content=true").json()["content"]
    assert json.loads(content)["header"]["scope"] == "all"
    assert exporter.post(f"{G}/{export_id}/generate").json()["status"] == "done"

    for url in (f"{G}/list", f"{G}/requests", "/api/v1/audit/exports?status=done"):
        listed = exporter.get(url).json()
        assert [e["export_id"] for e in listed["exports"]] == [export_id], url
        assert listed["total"] == 1
    assert exporter.get("/api/v1/audit/exports?status=failed").json()["total"] == 0
    stats = exporter.get(f"{G}/statistics").json()
    assert stats["total_exports"] == 1
    assert stats["completed_exports"] == 1
    assert stats["by_format"]["json"] == 1
    assert stats["rows_exported"] == Export.objects.get().rows


def test_a_pdf_is_not_inlined(record, exporter, request_export):
    export_id = request_export(exporter, {**ORIGINAL, "format": "pdf"}).json()["export_id"]
    response = exporter.get(f"{G}/{export_id}?include_content=true")
    assert response.status_code == 400
    assert "download it" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({**ORIGINAL, "purpose": "short"}, 422),
        ({k: v for k, v in ORIGINAL.items() if k != "requester"}, 422),
        ({**ORIGINAL, "unknown": 1}, 422),
        ({**ORIGINAL, "scope": "everything"}, 400),
        ({**ORIGINAL, "format": "xlsx"}, 400),
        (
            {**ORIGINAL, "start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"},
            400,
        ),
    ],
)
def test_bad_requests_are_refused_and_nothing_is_queued(exporter, request_export, body, status):
    response = request_export(exporter, body)
    assert response.status_code == status, response.content
    assert "detail" in response.json()
    assert exports_and_entries() == (0, 0)


def test_who_may_call_and_see(record, exporter, agent_client, staff_api, request_export):
    export_id = request_export(exporter, ORIGINAL).json()["export_id"]
    other = agent_client("audit:export")
    assert other.get(f"{G}/{export_id}").status_code == 404
    assert other.get(f"{G}/{export_id}/download").status_code == 404
    assert other.get(f"{G}/list").json()["total"] == 0

    wrong_scope = agent_client("decide")
    reviewer = staff_api("reviewer")
    for client, status in ((wrong_scope, 403), (reviewer, 403)):
        assert request_export(client, ORIGINAL).status_code == status
        assert client.get(f"{G}/{export_id}").status_code == status
    from rest_framework.test import APIClient

    assert APIClient().get(f"{G}/list").status_code == 401
    assert exports_and_entries() == (1, 1)

    officer = staff_api("compliance_officer")
    assert officer.get(f"{G}/{export_id}").json()["export_id"] == export_id
