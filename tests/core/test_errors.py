"""One error shape for every 4xx/5xx: {"error": {"code", "message", "details"}}, never HTML."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.urls_errors")]


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    assert b"Traceback" not in response.content
    return body["error"]


@pytest.fixture
def writer(agent_client):
    return agent_client("policies:write")


def test_unknown_route_is_404_json(client):
    assert_error(client.get("/no/such/route"), 404, "not_found")
    assert_error(
        client.post("/decide/nothing-here", data="{}", content_type="application/json"),
        404,
        "not_found",
    )


def test_unauthenticated_is_401(client):
    assert_error(
        client.post("/echo", {"name": "a", "count": 1}, content_type="application/json"),
        401,
        "not_authenticated",
    )


def test_missing_scope_is_403(agent_client):
    response = agent_client("decide").post("/echo", {"name": "a", "count": 1}, format="json")
    error = assert_error(response, 403, "permission_denied")
    assert "policies:write" in error["message"]


def test_staff_without_permission_is_403(verified_client):
    response = verified_client("reviewer").post(
        "/echo", {"name": "a", "count": 1}, content_type="application/json"
    )
    assert_error(response, 403, "permission_denied")


def test_staff_session_post_without_csrf_token_is_403(make_user):
    from tests.conftest import verify_session

    user = make_user("officer", "compliance_officer")
    client = verify_session(Client(enforce_csrf_checks=True), user)
    response = client.post("/echo", {"name": "a", "count": 1}, content_type="application/json")
    error = assert_error(response, 403, "permission_denied")
    assert "CSRF" in error["message"]


def test_method_not_allowed_is_405(writer):
    assert_error(writer.get("/echo"), 405, "method_not_allowed")


def test_wrong_content_type_is_415(writer):
    response = writer.post("/echo", data="name=a", content_type="application/x-www-form-urlencoded")
    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    "body", ['{"name": "a", ', "not json", '{"name": NaN}', "\xff\xfe", "[1,2", '{"a":1}}']
)
def test_malformed_json_is_400(writer, body):
    response = writer.post("/echo", data=body, content_type="application/json")
    assert_error(response, 400, "malformed_request")


def test_validation_error_lists_fields(writer):
    response = writer.post("/echo", {"name": "x" * 50, "count": -1}, format="json")
    error = assert_error(response, 400, "validation_error")
    assert set(error["details"]) == {"name", "count"}


def test_application_error_keeps_its_code_and_details(writer):
    error = assert_error(
        writer.post("/echo", {"name": "taken", "count": 1}, format="json"), 409, "conflict"
    )
    assert error["details"] == {"name": "taken"}


def test_body_too_large_is_413(writer, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = writer.post(
        "/echo", data='{"name": "' + "a" * 5000 + '"}', content_type="application/json"
    )
    assert_error(response, 413, "payload_too_large")


def test_unexpected_error_is_500_without_details(writer):
    error = assert_error(
        writer.post("/echo", {"name": "boom", "count": 1}, format="json"), 500, "internal_error"
    )
    assert "secret internal detail" not in error["message"]


def test_html_pages_keep_html_errors(client):
    response = client.get("/accounts/nowhere/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert b"Page not found" in response.content
