"""Longer database limits for the long work of Celery tasks (sweeps, verification, exports).

Every PostgreSQL connection starts with the request limits (``LEXECON_DB_STATEMENT_TIMEOUT_MS``,
``LEXECON_DB_LOCK_TIMEOUT_MS`` and the client deadline of ``lexecon_site.db.postgresql``). A task
whose statements may legitimately run longer wraps its work in :func:`longer_timeouts`, which
raises the three for this connection and restores them afterwards. Elsewhere (SQLite) it does
nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.conf import settings
from django.db import DatabaseError, connection, connections


def _set(statement_ms: int, lock_ms: int) -> None:
    _set_on(connection, statement_ms, lock_ms)


def _set_on(target, statement_ms: int, lock_ms: int) -> None:
    with target.cursor() as cursor:
        # Session-level on purpose: the work may span many transactions (one per batch).
        cursor.execute(
            "SELECT set_config('statement_timeout', %s, false), "
            "set_config('lock_timeout', %s, false)",
            [str(statement_ms), str(lock_ms)],
        )


@contextlib.contextmanager
def longer_timeouts() -> Iterator[None]:
    """Run the block with ``LEXECON_DB_TASK_STATEMENT_TIMEOUT_MS`` / ``..._LOCK_TIMEOUT_MS`` and a
    client deadline of the task statement timeout plus ``LEXECON_DB_CLIENT_MARGIN_MS``."""
    if connection.vendor != "postgresql":
        yield
        return
    statement_ms = settings.LEXECON_DB_TASK_STATEMENT_TIMEOUT_MS
    lock_ms = settings.LEXECON_DB_TASK_LOCK_TIMEOUT_MS
    connection.ensure_connection()
    raw = connection.connection
    saved_deadline = getattr(raw, "deadline", None)
    _set(statement_ms, lock_ms)
    if hasattr(raw, "deadline"):
        raw.deadline = (
            (statement_ms + settings.LEXECON_DB_CLIENT_MARGIN_MS) / 1000 if statement_ms else None
        )
    try:
        yield
    finally:
        if connection.connection is raw and not raw.closed:
            if hasattr(raw, "deadline"):
                raw.deadline = saved_deadline
            try:
                _set(settings.LEXECON_DB_STATEMENT_TIMEOUT_MS, settings.LEXECON_DB_LOCK_TIMEOUT_MS)
            except DatabaseError:
                # The connection is unusable (the block failed on it): never hand it on with the
                # longer limits.
                connection.close()


def _apply(using: str, statement_ms: int, lock_ms: int) -> None:
    target = connections[using]
    if target.vendor != "postgresql":
        return
    target.ensure_connection()
    _set_on(target, statement_ms, lock_ms)
    if hasattr(target.connection, "deadline"):
        target.connection.deadline = (
            (statement_ms + settings.LEXECON_DB_CLIENT_MARGIN_MS) / 1000 if statement_ms else None
        )


def migrations_take_task_timeouts(sender=None, using: str = "default", **_kwargs) -> None:
    """``pre_migrate``: ``manage.py migrate`` may run statements for minutes (an index on a large
    table); its connection takes the task limits until ``post_migrate`` gives the request ones
    back (:func:`migrations_done`)."""
    _apply(
        using,
        settings.LEXECON_DB_TASK_STATEMENT_TIMEOUT_MS,
        settings.LEXECON_DB_TASK_LOCK_TIMEOUT_MS,
    )


def migrations_done(sender=None, using: str = "default", **_kwargs) -> None:
    """``post_migrate``: the request limits again (the test runner goes on with this connection)."""
    _apply(using, settings.LEXECON_DB_STATEMENT_TIMEOUT_MS, settings.LEXECON_DB_LOCK_TIMEOUT_MS)
