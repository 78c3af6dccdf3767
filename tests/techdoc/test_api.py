"""``GET /compliance/eu-ai-act/article-11/documentation``: who may generate, bad queries, the
answer's headers. A refused request writes nothing (no artifact, no row, no ledger entry)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.techdoc.models import GeneratedDocument
from tests.techdoc.conftest import SYSTEM_ID, URL, counts

pytestmark = pytest.mark.django_db

QUERY = {"ai_system": SYSTEM_ID, "format": "json"}


def test_anonymous_is_refused_and_nothing_is_written(system):
    before = counts()
    response = APIClient().get(URL, QUERY)
    assert response.status_code in (401, 403)
    assert "error" in response.json()
    assert counts() == before


def test_agent_without_compliance_read_is_refused(system, agent_client):
    before = counts()
    response = agent_client("decide", "evidence:write").get(URL, QUERY)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert counts() == before


def test_agent_with_compliance_read_generates(system, agent_client):
    agent = agent_client("compliance:read")
    response = agent.get(URL, QUERY)
    assert response.status_code == 200, response.content
    record = GeneratedDocument.objects.get()
    assert record.generated_by == f"agent:{agent.agent_key.prefix}"
    assert response.json()["generated_by"] == record.generated_by


def test_staff_without_the_second_factor_is_refused(system, make_user):
    user = make_user("pw_only", "compliance_officer")
    client = APIClient()
    client.force_login(user)  # password step only, no verified OTP device
    before = counts()
    response = client.get(URL, QUERY)
    assert response.status_code in (401, 403)
    assert counts() == before


@pytest.mark.parametrize("role", ["admin", "compliance_officer", "auditor"])
def test_every_staff_role_with_view_dashboard_generates(system, staff_api, role):
    response = staff_api(role).get(URL, QUERY)
    assert response.status_code == 200, response.content
    assert GeneratedDocument.objects.count() == 1


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ({"format": "json"}, 400, "ai_system"),
        ({"ai_system": SYSTEM_ID, "format": "xml"}, 400, "format"),
        ({"ai_system": SYSTEM_ID, "format": "PDF "}, 400, "format"),
        ({"ai_system": SYSTEM_ID, "from": "yesterday"}, 400, "from"),
        ({"ai_system": SYSTEM_ID, "to": "2026-13-45T00:00:00Z"}, 400, "to"),
        (
            {"ai_system": SYSTEM_ID, "from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
            400,
            None,
        ),
        ({"ai_system": "x" * 101}, 400, "ai_system"),
        ({"ai_system": "no-such-system"}, 404, None),
        ({"ai_system": "../etc/passwd", "format": "pdf"}, 404, None),
    ],
)
def test_bad_queries_are_4xx_in_the_error_shape_and_write_nothing(
    system, staff_api, query, status, field
):
    client = staff_api("compliance_officer")
    before = counts()
    response = client.get(URL, query)
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    if field:
        assert field in error["details"]
    assert counts() == before


def test_the_answer_names_its_artifact_hash_and_ledger_entry(system, staff_api):
    client = staff_api("compliance_officer")
    response = client.get(URL, {"ai_system": SYSTEM_ID, "format": "pdf"})
    assert response.status_code == 200
    record = GeneratedDocument.objects.get()
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith(
        'attachment; filename="annex-iv-cv-screening-'
    )
    assert response["ETag"] == f'"{record.sha256}"'
    assert response["X-Evidence-Artifact-Id"] == str(record.artifact_id)
    assert response["X-Ledger-Entry-Id"] == str(record.ledger_seq)
    assert response["X-Document-Content-Sha256"] == record.content_sha256
    assert response["X-Document-Complete"] == "false"
    html = client.get(URL, {"ai_system": SYSTEM_ID, "format": "html"})
    assert html["Content-Type"] == "text/html; charset=utf-8"
    assert html["Content-Disposition"].startswith("inline;")


def test_json_is_the_default_format(system, staff_api):
    response = staff_api("auditor").get(URL, {"ai_system": SYSTEM_ID})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["document"] == "eu_ai_act_annex_iv_technical_documentation"


def test_writes_are_not_routes_here(system, staff_api):
    """The endpoint only reads (and records that it generated); other methods are 405."""
    client = staff_api("compliance_officer")
    before = counts()
    for method in ("post", "put", "patch", "delete"):
        response = getattr(client, method)(URL, QUERY, format="json")
        assert response.status_code == 405, method
    assert counts() == before
