"""Django's PostgreSQL backend, with a bound on how long a worker waits for the database.

Two limits apply to every connection (docs/configuration.md, "Database timeouts"):

- ``statement_timeout`` and ``lock_timeout``, sent at connect time (libpq ``options``): the server
  cancels a statement that runs, or waits for a lock, longer than that.
- A client-side deadline, the statement timeout plus ``LEXECON_DB_CLIENT_MARGIN_MS``: the server's
  limits cannot help when the connection itself is blackholed (a partition, a stopped host, a
  firewall dropping packets): the query or its answer never arrives, and a sync worker would wait
  on the socket until gunicorn kills it. :class:`DeadlineConnection` stops waiting at the
  deadline, closes the connection (its state is unknown) and raises ``OperationalError``, which the
  views turn into ``503`` (``ledger_unavailable`` on ``/decide``). The worker is free again.

Celery's long tasks raise both for their own work with :func:`apps.core.db.longer_timeouts`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import psycopg
from django.db.backends.postgresql import base

_TIMED_OUT = getattr(psycopg.errors, "_WaitTimeout", psycopg.OperationalError)


class DeadlineConnection(psycopg.Connection):
    """A psycopg connection that waits at most ``deadline`` seconds for any one exchange with the
    server (a query and its answer, a commit); ``None`` waits as long as it takes."""

    deadline: float | None = None

    def wait(self, gen, interval: float = 0.1, timeout: float | None = None):  # type: ignore[override]
        bound = self.deadline if timeout is None else timeout
        try:
            return super().wait(gen, interval=interval, timeout=bound)
        except _TIMED_OUT as exc:
            if bound is None or _TIMED_OUT is psycopg.OperationalError:
                raise
            # Mid-protocol: nothing more can be read from or sent on this connection. Drop it.
            self.pgconn.finish()
            raise psycopg.OperationalError(
                f"the database did not answer within {bound:g} s; the connection was closed"
            ) from exc


class _PsycopgWithDeadline:
    """What Django's backend calls ``Database``: psycopg, except that ``connect`` makes a
    :class:`DeadlineConnection`."""

    connect = DeadlineConnection.connect

    def __getattr__(self, name: str) -> Any:
        return getattr(psycopg, name)


class DatabaseWrapper(base.DatabaseWrapper):
    """Connections are :class:`DeadlineConnection` with the deadline from ``OPTIONS``
    (``client_deadline``, seconds), which is not passed on to libpq."""

    Database = _PsycopgWithDeadline()

    @property
    def pool(self):
        # LEXECON_DB_POOL_SIZE: the pool makes DeadlineConnections too.
        options = self.settings_dict["OPTIONS"].get("pool")
        if isinstance(options, dict):
            options.setdefault("connection_class", DeadlineConnection)
        return base.DatabaseWrapper.pool.fget(self)

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        params.pop("client_deadline", None)
        return params

    def get_new_connection(self, conn_params: dict[str, Any]):
        connection = super().get_new_connection(conn_params)
        if isinstance(connection, DeadlineConnection):
            connection.deadline = self.settings_dict["OPTIONS"].get("client_deadline")
        return connection

    @contextlib.contextmanager
    def _nodb_cursor(self) -> Iterator[Any]:
        # CREATE / DROP DATABASE (test databases, administration) are never a request: no limits
        # (DROP DATABASE waits for a checkpoint, which takes seconds on a busy server).
        with super()._nodb_cursor() as cursor:
            cursor.execute(
                "SELECT set_config('statement_timeout', '0', false), "
                "set_config('lock_timeout', '0', false)"
            )
            if isinstance(cursor.db.connection, DeadlineConnection):
                cursor.db.connection.deadline = None
            yield cursor
