"""Database timeouts (issue 20): statement_timeout and lock_timeout on every PostgreSQL connection,
a client-side deadline that frees a worker from a blackholed connection, and longer limits for
Celery's long tasks (apps.core.db.longer_timeouts). The gunicorn form is in
tests/live/test_database_timeouts_live.py."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.db import OperationalError, connection

from apps.core.db import longer_timeouts
from lexecon_site.env import database_config
from tests.live.conftest import database_at
from tests.live.proxy import Proxy

pytestmark = pytest.mark.django_db


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("statement_timeout and lock_timeout are PostgreSQL settings")


def _show(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return cursor.fetchone()[0]


def test_postgres_urls_get_the_timeouts_and_the_deadline_backend():
    config = database_config(
        "postgres://u@db:5432/lexecon",
        0,
        statement_timeout_ms=4000,
        lock_timeout_ms=1500,
        client_margin_ms=500,
    )
    assert config["ENGINE"] == "lexecon_site.db.postgresql"
    assert config["OPTIONS"]["options"] == "-c statement_timeout=4000 -c lock_timeout=1500"
    assert config["OPTIONS"]["client_deadline"] == 4.5
    off = database_config("postgres://u@db:5432/lexecon", 0)
    assert "options" not in off["OPTIONS"]
    assert "client_deadline" not in off["OPTIONS"]
    sqlite = database_config("sqlite:////tmp/x.sqlite3", 0, statement_timeout_ms=4000)
    assert "client_deadline" not in sqlite["OPTIONS"]


@pytest.mark.usefixtures("postgres_only")
def test_every_connection_has_the_configured_statement_and_lock_timeouts():
    assert _show("statement_timeout") == f"{settings.LEXECON_DB_STATEMENT_TIMEOUT_MS // 1000}s"
    assert _show("lock_timeout") == f"{settings.LEXECON_DB_LOCK_TIMEOUT_MS // 1000}s"
    assert (
        connection.connection.deadline
        == (settings.LEXECON_DB_STATEMENT_TIMEOUT_MS + settings.LEXECON_DB_CLIENT_MARGIN_MS) / 1000
    )


@pytest.mark.usefixtures("postgres_only")
def test_a_statement_longer_than_the_timeout_is_cancelled_by_the_server():
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 200")
        started = time.monotonic()
        with pytest.raises(OperationalError, match="statement timeout"):
            cursor.execute("SELECT pg_sleep(5)")
    assert time.monotonic() - started < 2


@pytest.mark.usefixtures("postgres_only")
def test_long_tasks_get_longer_limits_and_give_them_back():
    deadline = connection.connection.deadline if connection.connection else None
    with longer_timeouts():
        assert _show("statement_timeout") == "5min"
        assert _show("lock_timeout") == "30s"
        assert connection.connection.deadline == 302.0
    assert _show("statement_timeout") == "5s"
    assert _show("lock_timeout") == "3s"
    assert connection.connection.deadline == (deadline or 7.0)


@pytest.mark.django_db(transaction=True)  # the block opens a connection of its own
@pytest.mark.usefixtures("postgres_only")
def test_a_blackholed_connection_fails_at_the_client_deadline_instead_of_hanging():
    db = connection.settings_dict
    proxy = Proxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    try:
        with database_at(proxy.port):
            connection.ensure_connection()
            connection.connection.deadline = 0.5
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                assert cursor.fetchone() == (1,)
            proxy.stall()  # packets are swallowed both ways; the socket stays open
            started = time.monotonic()
            with (
                pytest.raises(OperationalError, match=r"did not answer within 0\.5 s"),
                connection.cursor() as cursor,
            ):
                cursor.execute("SELECT 2")
            waited = time.monotonic() - started
            assert 0.4 < waited < 1.5
            assert connection.connection.closed
            proxy.unstall()
    finally:
        proxy.close()
    # The real connection comes back after the block, and works.
    with connection.cursor() as cursor:
        cursor.execute("SELECT 3")
        assert cursor.fetchone() == (3,)


@pytest.mark.usefixtures("postgres_only")
def test_pooled_connections_have_the_deadline_too():
    from lexecon_site.db.postgresql.base import DatabaseWrapper, DeadlineConnection

    settings_dict = {
        **connection.settings_dict,
        "OPTIONS": {
            **connection.settings_dict["OPTIONS"],
            "pool": {"min_size": 1, "max_size": 1, "timeout": 5},
        },
        "CONN_MAX_AGE": 0,
    }
    wrapper = DatabaseWrapper(settings_dict, alias="pool_probe")
    try:
        wrapper.ensure_connection()
        assert isinstance(wrapper.connection, DeadlineConnection)
        assert wrapper.connection.deadline == settings_dict["OPTIONS"]["client_deadline"]
        with wrapper.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            assert cursor.fetchone()[0] == "5s"
    finally:
        wrapper.close()
        wrapper.close_pool()


@pytest.mark.usefixtures("postgres_only")
def test_migrations_run_under_the_task_limits_and_give_them_back():
    from apps.core.db import migrations_done, migrations_take_task_timeouts

    migrations_take_task_timeouts(using="default")
    assert _show("statement_timeout") == "5min"
    assert connection.connection.deadline == 302.0
    migrations_done(using="default")
    assert _show("statement_timeout") == "5s"
    assert _show("lock_timeout") == "3s"


@pytest.mark.usefixtures("postgres_only")
def test_create_and_drop_database_run_without_limits():
    with connection._nodb_cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "0"
        assert cursor.db.connection.deadline is None
