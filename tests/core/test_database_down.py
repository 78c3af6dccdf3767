"""Staff pages answer a 503 page (HTML, Retry-After) when the database is down, never a bare 500;
API routes keep the JSON error shape (issue 15)."""

from __future__ import annotations

import pytest
from django.db import OperationalError, connection
from django.test import Client

from tests.conftest import verify_session
from tests.live.conftest import database_at, free_port

pytestmark = pytest.mark.django_db

STAFF_PAGES = ["/", "/admin/", "/admin/decisions/decision/", "/oversight/", "/accounts/login/"]


@pytest.fixture
def signed_in(make_user) -> Client:
    """A verified staff session: its pages read the session and the user from the database."""
    return verify_session(Client(raise_request_exception=False), make_user("olga", "admin"))


def _refuse(*args, **kwargs):
    raise OperationalError("connection to server at 127.0.0.1, port 1 failed: refused")


@pytest.fixture
def database_down(monkeypatch):
    """Every query fails as it does when PostgreSQL refuses connections."""
    monkeypatch.setattr(connection, "cursor", _refuse)


def assert_unavailable_page(response) -> None:
    assert response.status_code == 503, response.content[:300]
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"] == "5"
    assert b"temporarily unavailable" in response.content
    assert b"Traceback" not in response.content
    assert b"refused" not in response.content  # no internals on the page


@pytest.mark.parametrize("path", STAFF_PAGES, ids=lambda p: p.strip("/") or "home")
def test_staff_pages_answer_503_when_the_database_is_down(signed_in, database_down, path):
    assert_unavailable_page(signed_in.get(path))


def test_anonymous_login_post_answers_503_when_the_database_is_down(database_down):
    response = Client(raise_request_exception=False).post(
        "/accounts/login/", {"username": "olga", "password": "x"}
    )
    assert_unavailable_page(response)


@pytest.mark.parametrize("path", ["/ledger/entries", "/decisions"], ids=["ledger", "decisions"])
def test_api_routes_keep_the_json_shape_when_the_database_is_down(agent_client, monkeypatch, path):
    client = agent_client("ledger:read")
    client.raise_request_exception = False
    monkeypatch.setattr(connection, "cursor", _refuse)
    response = client.get(path)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "service_unavailable"


def test_staff_page_on_a_closed_database_port_is_503(signed_in):
    if connection.vendor != "postgresql":
        pytest.skip("points the PostgreSQL connection at a closed port")
    with database_at(free_port()):
        assert_unavailable_page(signed_in.get("/admin/"))
