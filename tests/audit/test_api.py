"""The export API: the original's request as written, the 202 answer, status, download headers,
who sees which export, and refused requests that write and queue nothing."""

from __future__ import annotations

import hashlib
import json

import pytest

from apps.audit.models import Export
from apps.ledger.entry_types import EntryType
from apps.ledger.models import LedgerEntry
from tests.audit.conftest import EXPORT, download

pytestmark = pytest.mark.django_db


def test_the_originals_request_works_as_written(record, exporter, run_export):
    export = run_export(exporter, {"scope": "all", "format": "json"})
    assert export.status == "done", export.error
    assert export.requested_by == f"agent:{exporter.agent_key.prefix}"
    body = download(exporter, export)
    assert hashlib.sha256(body).hexdigest() == export.sha256
    assert len(body) == export.bytes
    document = json.loads(body)
    assert document["header"]["export_id"] == str(export.pk)
    assert document["totals"]["decisions"] == 4


def test_the_answer_is_202_with_location_and_urls(exporter, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = exporter.post(EXPORT, {"scope": "decisions", "format": "csv"}, format="json")
    assert response.status_code == 202
    body = response.json()
    export_id = body["export_id"]
    assert body == {
        "export_id": export_id,
        "status": "queued",
        "status_url": f"/audit/status/{export_id}",
        "download_url": f"/audit/download/{export_id}",
    }
    assert response["Location"] == f"/audit/status/{export_id}"
    assert len(callbacks) == 1  # the task, enqueued once the row is committed
    # Not run yet: the status says so and the download is refused with a reason.
    status = exporter.get(body["status_url"]).json()
    assert (status["status"], status["progress"], status["rows"]) == ("queued", 0.0, None)
    early = exporter.get(body["download_url"])
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "export_not_ready"


def test_status_and_download_of_a_finished_export(record, exporter, run_export):
    export = run_export(exporter, {"scope": "decisions", "format": "csv"})
    status = exporter.get(f"/audit/status/{export.pk}").json()
    assert status["status"] == "done"
    assert status["progress"] == 1.0
    assert status["rows"] == 4
    assert status["sha256"] == export.sha256
    assert status["bytes"] == export.bytes
    assert status["created_at"]
    assert status["finished_at"]
    assert "error" not in status
    response = exporter.get(f"/audit/download/{export.pk}")
    assert response.status_code == 200
    assert response["ETag"] == f'"{export.sha256}"'
    assert response["Content-Disposition"] == (
        f'attachment; filename="lexecon-export-decisions-{export.pk}.csv"'
    )
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).hexdigest() == export.sha256
    # The ledger names the same file.
    entry = LedgerEntry.objects.get(seq=export.ledger_seq)
    assert entry.entry_type == EntryType.EXPORT_CREATED
    payload = json.loads(entry.payload)
    assert payload["sha256"] == export.sha256
    assert payload["rows"] == 4
    assert payload["requested_by"] == export.requested_by
    assert (payload["scope"], payload["format"]) == ("decisions", "csv")
    # A conditional GET with the ETag is answered 304 without the body.
    again = exporter.get(f"/audit/download/{export.pk}", HTTP_IF_NONE_MATCH=f'"{export.sha256}"')
    assert again.status_code == 304


def test_an_agent_sees_only_its_own_exports(record, agent_client, run_export, staff_api):
    mine, theirs = agent_client("audit:export"), agent_client("audit:export")
    export = run_export(mine, {"scope": "decisions", "format": "json"})
    for path in (f"/audit/status/{export.pk}", f"/audit/download/{export.pk}"):
        refused = theirs.get(path)
        assert refused.status_code == 404
        assert refused.json()["error"]["code"] == "not_found"
    assert theirs.get("/audit/exports").json()["total"] == 0
    listed = mine.get("/audit/exports").json()
    assert [e["export_id"] for e in listed["exports"]] == [str(export.pk)]
    # An auditor (export_evidence) sees every export; a reviewer is refused.
    auditor = staff_api("auditor")
    assert auditor.get(f"/audit/status/{export.pk}").json()["status"] == "done"
    assert auditor.get("/audit/exports").json()["total"] == 1
    assert staff_api("reviewer").get("/audit/exports").status_code == 403


BAD = [
    ("unknown_scope", {"scope": "everything", "format": "json"}, "scope"),
    ("unknown_format", {"scope": "all", "format": "xlsx"}, "format"),
    ("missing_format", {"scope": "all"}, "format"),
    (
        "from_after_to",
        {
            "scope": "all",
            "format": "json",
            "from": "2026-02-01T00:00:00Z",
            "to": "2026-01-01T00:00:00Z",
        },
        "from",
    ),
    ("naive_time", {"scope": "all", "format": "json", "from": "2026-02-01T00:00:00"}, "from"),
    ("framework_scope_without_framework", {"scope": "framework", "format": "pdf"}, "framework"),
    (
        "unknown_framework",
        {"scope": "framework", "format": "pdf", "framework": "nope"},
        "framework",
    ),
    ("framework_elsewhere", {"scope": "all", "format": "json", "framework": "soc2"}, "framework"),
    ("ai_system_on_ledger", {"scope": "ledger", "format": "json", "ai_system": "bot"}, "ai_system"),
    ("unknown_field", {"scope": "all", "format": "json", "colour": "red"}, "colour"),
]


@pytest.mark.parametrize(("_case", "body", "field"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_a_4xx_and_nothing_is_written_or_queued(
    record, exporter, django_capture_on_commit_callbacks, _case, body, field
):
    entries = LedgerEntry.objects.count()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = exporter.post(EXPORT, body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert field in json.dumps(error)
    assert Export.objects.count() == 0
    assert callbacks == []
    assert LedgerEntry.objects.count() == entries


def test_a_body_that_is_not_json_is_a_400(exporter):
    response = exporter.post(EXPORT, "scope=all", content_type="text/plain")
    assert 400 <= response.status_code < 500
    assert "error" in response.json()
    assert Export.objects.count() == 0


@pytest.mark.parametrize(
    ("_case", "make_client", "status"),
    [
        ("anonymous", lambda agent_client, staff_api, client: client, 401),
        (
            "agent_without_scope",
            lambda agent_client, staff_api, client: agent_client("decide"),
            403,
        ),
        ("reviewer", lambda agent_client, staff_api, client: staff_api("reviewer"), 403),
    ],
)
def test_who_may_not_export_is_refused_and_nothing_queued(
    agent_client, staff_api, client, django_capture_on_commit_callbacks, _case, make_client, status
):
    caller = make_client(agent_client, staff_api, client)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = caller.post(
            EXPORT, json.dumps({"scope": "all", "format": "json"}), content_type="application/json"
        )
    assert response.status_code == status
    assert "error" in response.json()
    assert Export.objects.count() == 0
    assert callbacks == []


def test_a_password_only_session_is_refused(make_user, client):
    user = make_user("aud", "auditor")
    client.force_login(user)  # no OTP step
    response = client.post(
        EXPORT, json.dumps({"scope": "all", "format": "json"}), content_type="application/json"
    )
    assert response.status_code in (401, 403)
    assert Export.objects.count() == 0


def test_an_unknown_or_malformed_export_id_is_404(exporter):
    for export_id in ("00000000-0000-7000-8000-000000000000", "not-a-uuid"):
        response = exporter.get(f"/audit/status/{export_id}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_list_paging_is_validated(exporter):
    response = exporter.get("/audit/exports?limit=0")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"limit": ["An integer from 1 to 500."]}


def test_a_staff_export_is_requested_by_the_user_pseudonym(record, staff_api, run_export):
    auditor = staff_api("auditor")
    export = run_export(auditor, {"scope": "overrides", "format": "json"})
    assert export.status == "done", export.error
    assert export.requested_by == f"user:{auditor.user.pk}"
    payload = json.loads(LedgerEntry.objects.get(seq=export.ledger_seq).payload)
    assert payload["actor"]["id"] == f"user:{auditor.user.pk}"
    assert payload["requested_by"] == f"user:{auditor.user.pk}"
