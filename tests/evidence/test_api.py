"""The evidence API: register, dedupe, link, read, content, verify, list, refusals, auth."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from rest_framework.test import APIClient

from apps.evidence.models import EvidenceArtifact, EvidenceControlLink, EvidenceDecisionLink
from apps.ledger.models import LedgerEntry
from tests.evidence.conftest import DEMO_ALLOWED, counts, stored_files

BODY = b"the refund policy as it was applied\n"
SHA = hashlib.sha256(BODY).hexdigest()


def register(client, **fields):
    body = {"artifact_type": "policy_snapshot", "title": "Refund policy", "content": BODY.decode()}
    body.update(fields)
    return client.post("/evidence/register", body, format="json")


def decide(client) -> str:
    response = client.post("/decide", DEMO_ALLOWED, format="json")
    assert response.status_code == 200, response.content
    return response.json()["decision_id"]


def test_register_stores_bytes_by_hash_and_ledgers_it(writer, evidence_dir):
    decision_id = decide(writer)
    response = register(writer, decision_ids=[decision_id], control_ids=["SOC2:CC6.1"])
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["sha256"] == SHA
    assert body["size_bytes"] == len(BODY)
    assert body["media_type"] == "text/plain; charset=utf-8"
    assert body["decision_ids"] == [decision_id]
    assert body["control_ids"] == ["soc2:CC6.1"]
    assert body["retention_days"] == 2555
    assert stored_files(evidence_dir) == [f"{SHA[:2]}/{SHA[2:4]}/{SHA}"]
    assert (evidence_dir / SHA[:2] / SHA[2:4] / SHA).read_bytes() == BODY
    entry = LedgerEntry.objects.get(seq=body["ledger_entry_id"])
    assert entry.entry_type == "evidence.registered"
    payload = json.loads(entry.payload)
    assert payload["sha256"] == SHA
    assert payload["subject"] == {"type": "evidence", "id": body["artifact_id"]}
    assert payload["decision_ids"] == [decision_id]
    assert payload["control_ids"] == ["soc2:CC6.1"]
    assert BODY.decode() not in entry.payload
    assert "Refund policy" not in entry.payload


def test_same_bytes_are_stored_once(writer, evidence_dir):
    first = register(writer).json()
    second = register(writer, content_base64=base64.b64encode(BODY).decode(), content=None)
    assert second.status_code == 400  # both fields present (content is null): refused
    second = writer.post(
        "/evidence/register",
        {
            "artifact_type": "audit_trail",
            "title": "Same bytes",
            "content_base64": base64.b64encode(BODY).decode(),
        },
        format="json",
    )
    assert second.status_code == 201, second.content
    assert second.json()["sha256"] == first["sha256"]
    assert second.json()["artifact_id"] != first["artifact_id"]
    assert len(stored_files(evidence_dir)) == 1


def test_retention_override_by_setting(writer, settings):
    settings.LEXECON_EVIDENCE_RETENTION_DAYS = {"screenshot": 730}
    response = register(writer, artifact_type="screenshot")
    assert response.json()["retention_days"] == 730
    shorter = register(writer, artifact_type="screenshot", retention_days=10)
    assert shorter.status_code == 400


def test_link_decision_and_control_are_ledgered_and_idempotent(writer):
    artifact = register(writer).json()
    decision_id = decide(writer)
    before = LedgerEntry.objects.count()
    body = {"artifact_id": artifact["artifact_id"], "decision_id": decision_id}
    first = writer.post("/evidence/link-decision", body, format="json")
    assert first.status_code == 201, first.content
    assert LedgerEntry.objects.count() == before + 1
    again = writer.post("/evidence/link-decision", body, format="json")
    assert again.status_code == 200
    assert again.json() == first.json()
    assert LedgerEntry.objects.count() == before + 1

    control = {
        "artifact_id": artifact["artifact_id"],
        "framework": "ISO27001",
        "control_id": "A.8.15",
    }
    made = writer.post("/evidence/link-control", control, format="json")
    assert made.status_code == 201, made.content
    assert made.json()["framework"] == "iso27001"
    repeat = writer.post("/evidence/link-control", control, format="json")
    assert repeat.status_code == 200
    assert LedgerEntry.objects.count() == before + 2
    entry = LedgerEntry.objects.get(seq=made.json()["ledger_entry_id"])
    assert json.loads(entry.payload)["link"] == "control"
    detail = writer.get(f"/evidence/{artifact['artifact_id']}").json()
    assert detail["decision_ids"] == [decision_id]
    assert detail["control_ids"] == ["iso27001:A.8.15"]


def test_content_streams_with_digest_and_etag(writer):
    artifact = register(writer).json()
    response = writer.get(f"/evidence/{artifact['artifact_id']}/content")
    assert response.status_code == 200
    assert response.streaming
    assert b"".join(response.streaming_content) == BODY
    assert response["ETag"] == f'"{SHA}"'
    assert (
        response["Digest"] == "sha-256=" + base64.b64encode(hashlib.sha256(BODY).digest()).decode()
    )
    assert response["Content-Type"] == "text/plain; charset=utf-8"


def test_verify_detects_a_changed_byte_on_disk(writer, evidence_dir):
    artifact = register(writer).json()
    url = f"/evidence/{artifact['artifact_id']}/verify"
    assert writer.post(url, {}, format="json").json() == {
        "valid": True,
        "sha256": SHA,
        "stored_sha256": SHA,
        "reason": None,
    }
    path = evidence_dir / SHA[:2] / SHA[2:4] / SHA
    path.write_bytes(b"T" + BODY[1:])
    tampered = writer.post(url, {}, format="json").json()
    assert (tampered["valid"], tampered["reason"]) == (False, "mismatch")
    assert tampered["sha256"] != SHA
    sent = writer.post(url, {"content": BODY.decode()}, format="json").json()
    assert (sent["valid"], sent["reason"]) == (True, None)
    path.unlink()
    missing = writer.post(url, {}, format="json").json()
    assert (missing["valid"], missing["sha256"], missing["reason"]) == (False, None, "missing")


def test_list_filters_and_paginates(writer):
    decision_id = decide(writer)
    linked = register(writer, decision_ids=[decision_id], control_ids=["soc2:CC6.1"]).json()
    register(writer, artifact_type="screenshot", content="other")
    everything = writer.get("/evidence").json()
    assert everything["total"] == 2
    assert writer.get("/evidence", {"type": "screenshot"}).json()["total"] == 1
    by_decision = writer.get("/evidence", {"decision_id": decision_id}).json()
    assert [a["artifact_id"] for a in by_decision["evidence"]] == [linked["artifact_id"]]
    by_control = writer.get("/evidence", {"framework": "soc2", "control_id": "CC6.1"}).json()
    assert by_control["total"] == 1
    page = writer.get("/evidence", {"limit": 1, "offset": 1}).json()
    assert (len(page["evidence"]), page["total"]) == (1, 2)
    assert writer.get("/evidence", {"until": "2000-01-01T00:00:00Z"}).json()["total"] == 0
    assert writer.get("/evidence", {"limit": 0}).status_code == 400


@pytest.mark.parametrize(
    ("_case", "fields", "status", "code"),
    [
        ("unknown_type", {"artifact_type": "selfie"}, 400, "validation_error"),
        ("both_contents", {"content_base64": "aGk="}, 400, "invalid_input"),
        ("bad_base64", {"content": None, "content_base64": "not base64!"}, 400, None),
        ("no_content", {"content": None}, 400, None),
        (
            "unknown_decision",
            {"decision_ids": ["0b7e4b8e-8a59-4f0e-9c43-6a1d0f6d2f10"]},
            404,
            "not_found",
        ),
        ("bad_control", {"control_ids": ["no-framework"]}, 400, "validation_error"),
        ("unknown_control", {"control_ids": ["soc2:CC99.9"]}, 400, "invalid_input"),
        ("unknown_framework", {"control_ids": ["cobit:APO01"]}, 400, "invalid_input"),
    ],
)
def test_bad_input_writes_nothing(writer, evidence_dir, _case, fields, status, code):
    body = {"artifact_type": "policy_snapshot", "title": "t", "content": "x"}
    body.update(fields)
    body = {k: v for k, v in body.items() if v is not None}
    before = counts()
    response = writer.post("/evidence/register", body, format="json")
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    if code:
        assert error["code"] == code
    assert counts() == before
    assert stored_files(evidence_dir) == []


def test_too_large_is_413_and_writes_nothing(writer, evidence_dir, settings):
    settings.LEXECON_EVIDENCE_MAX_BYTES = 8
    before = counts()
    response = register(writer, content="nine byte")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "artifact_too_large"
    upload = writer.post(
        "/evidence/register",
        {"artifact_type": "screenshot", "title": "big", "file": _file(b"x" * 4096)},
        format="multipart",
    )
    assert upload.status_code == 413, upload.content
    assert upload.json()["error"]["code"] == "artifact_too_large"
    assert counts() == before
    assert stored_files(evidence_dir) == []


def _file(data: bytes, name: str = "shot.png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="image/png")


def test_multipart_register(writer, evidence_dir):
    decision_id = decide(writer)
    response = writer.post(
        "/evidence/register",
        {
            "artifact_type": "screenshot",
            "title": "The screen",
            "file": _file(b"\x89PNG fake"),
            "decision_ids": [decision_id],
            "control_ids": ["soc2:CC6.1", "eu_ai_act:Art.12"],
            "metadata": json.dumps({"page": 1}),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["media_type"] == "image/png"
    assert body["sha256"] == hashlib.sha256(b"\x89PNG fake").hexdigest()
    assert body["metadata"] == {"page": 1}
    assert body["control_ids"] == ["soc2:CC6.1", "eu_ai_act:Art.12"]


def test_agents_see_only_their_own_or_their_decisions_evidence(writer, agent_client):
    other = agent_client("decide", "evidence:write")
    mine = register(writer).json()
    assert other.get(f"/evidence/{mine['artifact_id']}").status_code == 404
    assert other.get(f"/evidence/{mine['artifact_id']}/content").status_code == 404
    assert (
        other.post(f"/evidence/{mine['artifact_id']}/verify", {}, format="json").status_code == 404
    )
    assert other.get("/evidence").json()["total"] == 0
    # Linking a decision the caller cannot see: 404, nothing written.
    theirs = decide(other)
    before = counts()
    response = writer.post(
        "/evidence/link-decision",
        {"artifact_id": mine["artifact_id"], "decision_id": theirs},
        format="json",
    )
    assert response.status_code == 404
    assert counts() == before
    response = other.post(
        "/evidence/link-control",
        {"artifact_id": mine["artifact_id"], "framework": "soc2", "control_id": "CC6.1"},
        format="json",
    )
    assert response.status_code == 404
    assert counts() == before
    # Evidence another key links to my decision is visible to me.
    own_decision = decide(writer)
    shared = register(writer, decision_ids=[own_decision], content="about your decision").json()
    assert other.get(f"/evidence/{shared['artifact_id']}").status_code == 404
    assert EvidenceDecisionLink.objects.filter(decision_id=own_decision).count() == 1


def test_auth_matrix(writer, agent_client, staff_client):
    api_client_anonymous = APIClient()
    artifact = register(writer).json()
    detail = f"/evidence/{artifact['artifact_id']}"
    no_scope = agent_client("decide")
    reviewer = staff_client("reviewer")
    auditor = staff_client("auditor")
    officer = staff_client("compliance_officer")
    before = counts()
    body = {"artifact_type": "screenshot", "title": "t", "content": "x"}
    assert api_client_anonymous.post("/evidence/register", body, format="json").status_code in (
        401,
        403,
    )
    assert api_client_anonymous.get(detail).status_code in (401, 403)
    assert no_scope.post("/evidence/register", body, format="json").status_code == 403
    assert no_scope.get(detail).status_code == 403
    assert reviewer.post("/evidence/register", body, format="json").status_code == 403
    # Issue 19: reviewers no longer hold view_dashboard, so the evidence API is not theirs.
    assert reviewer.get(detail).status_code == 403
    assert counts() == before
    # An auditor (export_evidence) reads everything and may register.
    assert auditor.get(detail).status_code == 200
    assert officer.get("/evidence").json()["total"] == 1
    made = auditor.post("/evidence/register", body, format="json")
    assert made.status_code == 201, made.content
    assert made.json()["registered_by"].startswith("user:")
    assert EvidenceArtifact.objects.get(pk=made.json()["artifact_id"]).registered_by_key is None
    assert EvidenceControlLink.objects.count() == 0


def test_a_compliance_read_key_reads_what_it_may_see_and_writes_nothing(
    writer, agent_client, staff_client, evidence_dir
):
    reader = agent_client("decide", "compliance:read")
    auditor = staff_client("auditor")
    # Evidence about the reader's own decision (registered by staff), and another key's evidence.
    decision_id = decide(reader)
    about_mine = register(auditor, decision_ids=[decision_id]).json()
    not_mine = register(writer, artifact_type="screenshot", content="another key's").json()

    mine = f"/evidence/{about_mine['artifact_id']}"
    assert reader.get(mine).json()["decision_ids"] == [decision_id]
    content = reader.get(f"{mine}/content")
    assert content.status_code == 200
    assert b"".join(content.streaming_content) == BODY
    assert reader.post(f"{mine}/verify", {}, format="json").json()["valid"] is True
    listed = reader.get("/evidence").json()
    assert [a["artifact_id"] for a in listed["evidence"]] == [about_mine["artifact_id"]]

    theirs = f"/evidence/{not_mine['artifact_id']}"
    for response in (
        reader.get(theirs),
        reader.get(f"{theirs}/content"),
        reader.post(f"{theirs}/verify", {}, format="json"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"

    # Reading is all it may do: registering and linking are refused and write nothing.
    before, files = counts(), stored_files(evidence_dir)
    refused = [
        reader.post(
            "/evidence/register",
            {"artifact_type": "screenshot", "title": "t", "content": "new bytes"},
            format="json",
        ),
        reader.post(
            "/evidence/link-decision",
            {"artifact_id": about_mine["artifact_id"], "decision_id": decision_id},
            format="json",
        ),
        reader.post(
            "/evidence/link-control",
            {"artifact_id": about_mine["artifact_id"], "framework": "soc2", "control_id": "CC1.1"},
            format="json",
        ),
    ]
    for response in refused:
        assert response.status_code == 403
        error = response.json()["error"]
        assert error["code"] == "permission_denied"
        assert "evidence:write" in error["message"]
    assert counts() == before
    assert stored_files(evidence_dir) == files


def test_link_control_names_a_catalog_control(writer, evidence_dir):
    artifact = register(writer).json()
    before = counts()
    unknown = writer.post(
        "/evidence/link-control",
        {"artifact_id": artifact["artifact_id"], "framework": "soc2", "control_id": "CC99.9"},
        format="json",
    )
    assert unknown.status_code == 400
    assert unknown.json()["error"]["details"] == {"control_ids": ["soc2:CC99.9"]}
    assert counts() == before
    # Any accepted spelling is stored as the catalog writes it.
    linked = writer.post(
        "/evidence/link-control",
        {"artifact_id": artifact["artifact_id"], "framework": "PCI_DSS", "control_id": "10.2"},
        format="json",
    )
    assert linked.status_code == 201, linked.content
    assert linked.json()["framework"] == "pci_dss"
