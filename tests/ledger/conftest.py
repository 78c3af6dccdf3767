"""Ledger fixtures: append helpers, raw-SQL tampering (bypassing the append-only triggers as a
superuser would), and a transactional-db variant that can clean up an append-only table."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from apps.ledger import services


def append_many(count: int, *, prefix: str = "e") -> list[services.AppendedEntry]:
    appended = []
    for index in range(count):
        with transaction.atomic():
            appended.append(
                services.ledger_append(
                    entry_type="test.event", payload={"n": index, "label": f"{prefix}{index}"}
                )
            )
    return appended


def raw_sql(statement: str, params: list | tuple = ()) -> None:
    """Run SQL as an attacker with database access: on PostgreSQL the triggers are bypassed with
    ``session_replication_role = replica`` (superuser only — RELIABILITY finding 2)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(statement, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")


@pytest.fixture
def ledger_transactional_db(transactional_db):
    """``transactional_db`` whose teardown first empties the append-only ledger tables."""
    yield
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
            cursor.execute(
                "TRUNCATE ledger_ledgerentry, ledger_checkpoint, ledger_chainhead, "
                "ledger_merklenode"
            )
            cursor.execute("SET session_replication_role = origin")


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (runs in the second pass of .ci/run)")
