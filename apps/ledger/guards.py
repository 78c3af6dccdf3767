"""Append-only guards for other apps' tables, built on the ledger's trigger functions.

Ledger migration 0002 creates ``lexecon_ledger_append_only()`` (refuses UPDATE and DELETE per row)
and ``lexecon_ledger_no_truncate()`` (refuses TRUNCATE of a non-empty table). A migration that makes
its tables append-only on PostgreSQL uses ``append_only("app_table", …)`` as its operation (and
depends on ``("ledger", "0002_append_only")``); SQLite has no such triggers (documented).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations


def _create(table: str) -> str:
    return f"""
CREATE TRIGGER {table}_no_update_delete
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION lexecon_ledger_append_only();
CREATE TRIGGER {table}_no_truncate
    BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION lexecon_ledger_no_truncate();
"""


def _drop(table: str) -> str:
    return f"""
DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table};
DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};
"""


def append_only(*tables: str) -> migrations.RunPython:
    """A migration operation guarding ``tables`` on PostgreSQL (reversible)."""

    def forwards(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute("\n".join(_create(t) for t in tables), params=None)

    def backwards(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute("\n".join(_drop(t) for t in tables), params=None)

    return migrations.RunPython(forwards, backwards)
