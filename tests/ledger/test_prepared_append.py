"""The append statement runs as a psycopg prepared statement, in autocommit and in a transaction,
maps database errors to Django's (503, not 500, for a lost connection) and survives lost prepared
statements and new connections (PostgreSQL)."""

from __future__ import annotations

import psycopg
import pytest
from django.db import DatabaseError, IntegrityError, OperationalError, connection, transaction
from django.forms.models import model_to_dict

from apps.decisions.models import Decision
from apps.ledger import services
from apps.ledger.models import ChainHead, LedgerEntry
from apps.ledger.selectors import ledger_verify
from tests.ledger.conftest import full_decision
from tests.live.conftest import database_at
from tests.live.proxy import Proxy

_ON_POSTGRES = pytest.mark.usefixtures("postgres_only", "ledger_transactional_db")

_COMPARED_AWAY = {"id", "agent_key", "ledger_seq", "ledger_entry_hash", "timestamp", "created_at"}


def _decision(jti: str) -> Decision:
    return full_decision(
        idempotency_key=f"k-{jti}",
        request_id="r-1",
        resource="crm://customers/42 — “quoted” ü",
        data_classes=["pii", "financial"],
        ai_system="",
        reasons=[{"rule_id": "r1", "effect": "permit", "message": "naïve ✓"}],
        risk_score=46.43000000000001,
        risk_dimensions={"privacy": 70.0, "security": 12.5},
        token_jti=jti,
        context={"purpose": "support_ticket", "n": [1, 2.5, None, True], "s": "\t\n\"'\\"},
    )


def _append(decision: Decision) -> services.AppendedEntry:
    return services.ledger_append(
        entry_type="test.event",  # free-form: this is about the linked row, not the payload
        payload={"decision_id": str(decision.id)},
        linked=services.LinkedRow(decision),
    )


def _our_statements() -> int:
    """Prepared statements of this session that insert ledger entries (psycopg names them)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%INSERT INTO ledger_ledgerentry%"],
        )
        return cursor.fetchone()[0]


@_ON_POSTGRES
def test_autocommit_append_is_prepared_and_verifies():
    assert not connection.in_atomic_block
    first = _append(_decision("j-1"))
    second = _append(_decision("j-2"))
    assert second.seq == first.seq + 1
    assert _our_statements() == 1  # prepared once, on this connection
    assert ledger_verify()["valid"] is True


@_ON_POSTGRES
def test_rows_written_in_autocommit_and_in_a_transaction_are_equal():
    direct, through_cursor = _decision("j-direct"), _decision("j-cursor")
    appended = _append(direct)  # autocommit: the statement is its own transaction
    with transaction.atomic():
        _append(through_cursor)
    assert _our_statements() == 1
    rows = {d.token_jti: d for d in Decision.objects.filter(token_jti__in=["j-direct", "j-cursor"])}
    a, b = (model_to_dict(rows[jti]) for jti in ("j-direct", "j-cursor"))
    for name in _COMPARED_AWAY | {"token_jti", "idempotency_key"}:
        a.pop(name, None), b.pop(name, None)
    assert a == b
    stored = rows["j-direct"]
    assert stored.resource == direct.resource
    assert stored.context == direct.context
    assert stored.risk_score == direct.risk_score  # the double survives its text form exactly
    assert stored.ledger_seq == appended.seq
    assert stored.ledger_entry_hash == appended.entry_hash
    assert LedgerEntry.objects.get(seq=appended.seq).entry_hash == appended.entry_hash


@_ON_POSTGRES
def test_integrity_error_is_djangos_and_nothing_is_written():
    _append(_decision("j-dup"))
    head = ChainHead.objects.get(pk=1)
    entries, decisions = LedgerEntry.objects.count(), Decision.objects.count()
    with pytest.raises(IntegrityError):
        _append(_decision("j-dup"))  # token_jti is unique
    assert ChainHead.objects.get(pk=1).seq == head.seq
    assert (LedgerEntry.objects.count(), Decision.objects.count()) == (entries, decisions)
    assert _append(_decision("j-after")).seq == head.seq + 1  # the connection is still usable


@_ON_POSTGRES
def test_lost_prepared_statement_is_prepared_again():
    first = _append(_decision("j-a"))
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    assert _our_statements() == 0
    assert _append(_decision("j-b")).seq == first.seq + 1
    assert _our_statements() == 1


@_ON_POSTGRES
def test_new_connection_prepares_again():
    first = _append(_decision("j-c"))
    connection.close()
    assert _append(_decision("j-d")).seq == first.seq + 1
    assert _our_statements() == 1


@_ON_POSTGRES
def test_a_lost_connection_fails_closed_and_the_next_request_reconnects():
    """The backend behind Django's connection is terminated between two appends (a database
    restart, an idle-session kill): the append raises Django's error and writes nothing, and the
    housekeeping Django runs before the next request replaces the connection."""
    first = _append(_decision("j-before"))
    pid = connection.connection.info.backend_pid
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    with pytest.raises(DatabaseError):
        _append(_decision("j-lost"))
    connection.close_if_unusable_or_obsolete()  # what request_started/finished run
    assert connection.connection is None
    after = _append(_decision("j-after"))
    assert after.seq == first.seq + 1  # nothing was written by the failed append
    assert not Decision.objects.filter(token_jti="j-lost").exists()
    assert ledger_verify()["valid"] is True


@_ON_POSTGRES
def test_a_connection_that_breaks_mid_append_is_an_operational_error():
    """The server's side of the connection disappears without a word (PostgreSQL stopped with
    ``-m immediate``, a network cut): the result has no SQLSTATE. The append must raise Django's
    OperationalError, which the API answers with 503, never a generic error (500)."""
    proxy = Proxy((connection.settings_dict["HOST"], int(connection.settings_dict["PORT"])))
    try:
        with database_at(proxy.port):
            first = _append(_decision("j-proxied"))
            proxy.down()
            with pytest.raises(OperationalError):
                _append(_decision("j-cut"))
    finally:
        proxy.close()
    assert _append(_decision("j-direct")).seq == first.seq + 1  # the cut append wrote nothing
    assert not Decision.objects.filter(token_jti="j-cut").exists()
    assert ledger_verify()["valid"] is True
