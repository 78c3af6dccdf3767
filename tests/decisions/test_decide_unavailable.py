"""``POST /decide`` while its database cannot be reached (RELIABILITY T14, in-process).

The database really goes away: Django's connection is closed and pointed at a port where nothing
listens, so the next query fails as it does when PostgreSQL is stopped (PostgreSQL only: the test
database of the SQLite pass lives in memory and cannot be taken away). ``/decide`` must answer 503
``ledger_unavailable`` in the error shape, and once the database is back nothing has been written
and the next decision works. The same against gunicorn with the
database dropped under load: tests/live/test_decide_live.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.test import RequestFactory

from apps.decisions.api import views
from apps.decisions.models import Decision
from apps.ledger.models import LedgerEntry
from tests.conftest import DEMO, load_demo_policy
from tests.factories import AgentKeyFactory
from tests.ledger.conftest import ledger_transactional_db, postgres_only  # noqa: F401
from tests.live.conftest import database_at, free_port

ROOT = Path(__file__).resolve().parents[2]
factory = RequestFactory()


@pytest.fixture
def database_gone(ledger_transactional_db, postgres_only):  # noqa: F811
    """The demo policy active; ``with database_gone():`` the database cannot be reached."""
    load_demo_policy()
    return lambda: database_at(free_port())  # nothing listens there


def _request(raw_key: str, **headers: str):
    request = factory.generic(
        "POST",
        "/decide",
        json.dumps(DEMO).encode(),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw_key}",
        **headers,
    )
    request.request_id = "req-unavailable"
    return request


def _decide(request):
    response = views.DecideApi.as_view()(request)
    response.render()
    return response


def test_decide_without_its_database_is_503_ledger_unavailable(database_gone):
    key = AgentKeyFactory(scopes=("decide",))
    with database_gone():
        answer = _decide(_request(key.raw_key, HTTP_IDEMPOTENCY_KEY="retry-me"))
    assert answer.status_code == 503
    body = json.loads(answer.content)
    assert body["error"]["code"] == "ledger_unavailable"
    assert "no decision was made" in body["error"]["message"]
    assert body["error"]["details"] == {}
    assert answer["Retry-After"] == "5"
    assert answer["Content-Type"] == "application/json"


def test_nothing_is_written_and_the_next_decision_works_once_it_is_back(database_gone):
    key = AgentKeyFactory(scopes=("decide",))
    entries, decisions = LedgerEntry.objects.count(), Decision.objects.count()
    with database_gone():
        assert _decide(_request(key.raw_key)).status_code == 503
    # the database is back
    assert LedgerEntry.objects.count() == entries
    assert Decision.objects.count() == decisions
    answer = _decide(_request(key.raw_key))
    assert answer.status_code == 200
    assert json.loads(answer.content)["outcome"] == "allowed"
    assert Decision.objects.count() == decisions + 1
