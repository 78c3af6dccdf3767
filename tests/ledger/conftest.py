"""Ledger fixtures: append helpers, raw-SQL tampering (bypassing the append-only triggers as a
superuser would), and a transactional-db variant that can clean up an append-only table."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection, transaction

from apps.decisions.models import Decision
from apps.ledger import services
from tests.conftest import empty_append_only_tables


def full_decision(**overrides) -> Decision:
    """A decision with every field set (unsaved): the widest linked row the append writes."""
    values = {
        "id": uuid.uuid4(),
        "agent_key_id": uuid.uuid4(),
        "idempotency_key": "k-1",
        "request_fingerprint": "f" * 64,
        "request_id": "r",
        "actor": "ai_agent:x",
        "action": "read",
        "resource": None,
        "data_classes": ["pii"],
        "outcome": "allowed",
        "reason": "because",
        "reasons": [{"rule_id": "r1", "effect": "permit", "message": "m"}],
        "controls": ["SOC2:CC6.1"],
        "policy_version": "v" * 64,
        "risk_score": 46.43,
        "risk_level": "medium",
        "risk_dimensions": {"privacy": 70.0},
        "capability_token": "cap_x.y",
        "token_jti": "j" * 32,
        "token_expires_at": 1795945124,
        "context": {"purpose": "support_ticket", "n": [1, 2.5, None]},
        "context_salt": "s" * 32,
        "context_commitment": "c" * 64,
    }
    return Decision(**{**values, **overrides})


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
    # Every table the append-only triggers guard (entries, checkpoints, nodes, the browser's
    # facets, other apps' guarded tables), found by trigger name, plus the chain head.
    empty_append_only_tables()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM ledger_chainhead")


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (runs in the second pass of .ci/run)")
