"""Appends: the one writer of ledger entries.

``ledger_append`` is the ONLY writer of ledger entries. It runs inside the caller's transaction, so a
governance change and its ledger entry commit or roll back together. Appends are serialised: on
PostgreSQL one SQL statement locks the chain-head row (``FOR UPDATE``), computes the canonical bytes and
both hashes with ``sha256()``, inserts the entry and moves the head — one round trip while the lock is
held. Python then recomputes the hash from the returned fields and refuses to continue if they differ.
Elsewhere (SQLite, whose transactions start with ``BEGIN IMMEDIATE`` and so already hold the write lock)
the same steps run as ORM statements. ``UNIQUE(seq)`` and ``UNIQUE(prev_hash)`` make forks impossible
whatever the code does.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from celery import current_app
from django.conf import settings
from django.db import connection, models, transaction
from psycopg.types.json import Jsonb

from apps.core.exceptions import InvalidInput, ServiceUnavailable
from apps.core.metrics import LEDGER_APPEND_SECONDS
from apps.ledger import events, merkle, tree
from apps.ledger.entry_types import EntryType
from apps.ledger.models import ChainHead, LedgerEntry
from tools.verify_bundle import GENESIS_PREV_HASH, canonical_bytes

logger = logging.getLogger("lexecon.ledger")


CHUNK = tree.CHUNK


@dataclass(frozen=True)
class AppendedEntry:
    """What an append returns: final ``seq`` and ``entry_hash`` (the transaction may still roll back)."""

    seq: int
    entry_hash: str
    timestamp: str
    entry_type: str


def rfc3339_now() -> str:
    """Current UTC time as RFC 3339 with microseconds and ``Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_entry_text(
    *, seq: int, entry_type: str, timestamp: str, payload_text: str, prev_hash: str
) -> bytes:
    """RFC 8785 bytes of the five fields, from the already-canonical payload text.

    JCS sorts keys: entry_type < payload < prev_hash < seq < timestamp. ``entry_type``, ``prev_hash``
    and ``timestamp`` are plain ASCII without characters JSON escapes, so quoting them is their JCS
    form. A test proves this equals ``canonical_entry_bytes`` of the same entry.
    """
    return (
        f'{{"entry_type":"{entry_type}","payload":{payload_text},"prev_hash":"{prev_hash}",'
        f'"seq":{seq},"timestamp":"{timestamp}"}}'
    ).encode()


def payload_text(payload: dict[str, Any]) -> str:
    """Canonical JSON text of a payload; rejects what JSON/JCS cannot represent exactly."""
    if not isinstance(payload, dict):
        raise InvalidInput("A ledger payload must be a JSON object.")
    try:
        return canonical_bytes(payload).decode()
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"The ledger payload is not canonicalisable: {exc}") from exc


def commit_personal(value: Any) -> tuple[str, str]:
    """Commit to personal data without putting it on the ledger.

    Returns ``(commitment, salt)`` with ``commitment = hex SHA-256(salt || canonical(value))`` and a
    random 128-bit salt (hex). Store value and salt off-ledger; erasing them later leaves the chain
    valid, and without the salt the commitment reveals nothing guessable about the value.
    """
    salt = secrets.token_bytes(16)
    digest = hashlib.sha256(salt + canonical_bytes(value)).hexdigest()
    return digest, salt.hex()


def commitment_matches(value: Any, salt_hex: str, commitment: str) -> bool:
    """Check an off-ledger value and salt against the commitment in a ledger payload."""
    digest = hashlib.sha256(bytes.fromhex(salt_hex) + canonical_bytes(value)).hexdigest()
    return secrets.compare_digest(digest, commitment)


# --- Appends -----------------------------------------------------------------------------------------

_PG_APPEND = """
WITH head AS (
    SELECT seq, entry_hash FROM ledger_chainhead WHERE id = 1 FOR UPDATE
), body AS (
    SELECT head.seq + 1 AS seq,
           head.entry_hash AS prev_hash,
           to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts
    FROM head
    WHERE head.seq >= 0
), canon AS (
    SELECT seq, prev_hash, ts,
           convert_to('{"entry_type":"' || %(entry_type)s || '","payload":' || %(payload)s
                      || ',"prev_hash":"' || prev_hash || '","seq":' || seq::text
                      || ',"timestamp":"' || ts || '"}', 'UTF8') AS bytes
    FROM body
), ins AS (
    INSERT INTO ledger_ledgerentry (seq, entry_type, timestamp, payload, prev_hash, entry_hash,
                                    leaf_hash)
    SELECT seq, %(entry_type)s, ts, %(payload)s, prev_hash, encode(sha256(bytes), 'hex'),
           sha256('\\x00'::bytea || bytes)
    FROM canon
    RETURNING seq, entry_hash, prev_hash, timestamp
), moved AS (
    UPDATE ledger_chainhead SET seq = ins.seq, entry_hash = ins.entry_hash FROM ins
    WHERE ledger_chainhead.id = 1
)
SELECT seq, entry_hash, prev_hash, timestamp FROM ins
"""


def _ensure_head() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO ledger_chainhead (id, seq, entry_hash) VALUES (1, -1, %s) "
                "ON CONFLICT (id) DO NOTHING",
                [GENESIS_PREV_HASH],
            )
    else:
        ChainHead.objects.get_or_create(pk=1)


@dataclass(frozen=True)
class LinkedRow:
    """A row written together with its ledger entry, receiving the entry's seq, hash and timestamp.

    On PostgreSQL it is inserted by the same statement as the entry (one round trip; the row and
    the entry exist together or not at all, even in autocommit). Elsewhere it is saved right after
    the entry inside the same transaction. A constraint violation on the row (e.g. a duplicate
    idempotency key) therefore also prevents the entry.
    """

    instance: Any
    seq_field: str = "ledger_seq"
    hash_field: str | None = "ledger_entry_hash"
    timestamp_field: str | None = "timestamp"

    def sources(self) -> tuple[tuple[str, str], ...]:
        """``(column of ins, field name)`` for each entry value this row receives."""
        pairs = (
            ("seq", self.seq_field),
            ("entry_hash", self.hash_field),
            ("timestamp", self.timestamp_field),
        )
        return tuple((source, name) for source, name in pairs if name)


Linked = LinkedRow | tuple[LinkedRow, ...] | None

_LINKED_SQL: dict[tuple[Any, ...], tuple[str, list[tuple[Any, str, Any]]]] = {}


def _as_tuple(linked: Linked) -> tuple[LinkedRow, ...]:
    if linked is None:
        return ()
    return linked if isinstance(linked, tuple) else (linked,)


def _linked_template(linked: LinkedRow, slot: int) -> tuple[str, list[tuple[Any, str, Any]]]:
    """The CTE text for a model in position ``slot`` of the statement (built once per process)
    and, per bound field, ``(field, parameter name, preparer)`` — see :func:`_preparer`."""
    model = linked.instance.__class__
    cache_key = (model, linked.sources(), slot)
    cached = _LINKED_SQL.get(cache_key)
    if cached is not None:
        return cached
    quote = connection.ops.quote_name
    opts = model._meta
    by_name = {field.name: field for field in opts.concrete_fields}
    names, exprs, bound = [], [], []
    received = {name for _, name in linked.sources()}
    for index, field in enumerate(opts.concrete_fields):
        if field.name in received:
            continue
        key = f"linked{slot}_{index}"
        bound.append((field, key, _preparer(field)))
        names.append(quote(field.column))
        exprs.append(f"CAST(%({key})s AS {field.db_type(connection)})")
    for source, name in linked.sources():
        names.append(quote(by_name[name].column))
        exprs.append(f"ins.{source}")
    # Identifiers come from model metadata (quoted), values are bound parameters.
    sql = f", linked{slot} AS (INSERT INTO {quote(opts.db_table)} ({', '.join(names)}) "
    sql += f"SELECT {', '.join(exprs)} FROM ins)"  # noqa: S608 # nosec B608
    _LINKED_SQL[cache_key] = (sql, bound)
    return sql, bound


def _linked_cte(linked: LinkedRow, slot: int) -> tuple[str, dict[str, Any]]:
    """SQL for a data-modifying CTE that inserts ``linked.instance`` with values from ``ins``."""
    sql, bound = _linked_template(linked, slot)
    instance = linked.instance
    return sql, {key: prepare(instance) for _, key, prepare in bound}


_PLAIN_TYPES = frozenset({"BooleanField", "CharField", "ForeignKey", "TextField", "UUIDField"})
_INTEGER_TYPES = frozenset(
    {"BigIntegerField", "IntegerField", "PositiveIntegerField", "SmallIntegerField"}
)


def _preparer(field: Any) -> Callable[[Any], Any]:
    """A function ``instance -> database value`` equal to ``field.get_db_prep_save(
    field.pre_save(instance, True), connection)`` (a PostgreSQL test compares the two, types
    included) without Django's generic path, ~0.1 ms per row on the hottest statement. Plain
    values go to psycopg as they are, JSON as ``Jsonb``; fields with their own ``pre_save``
    (``auto_now_add``) and anything unusual keep Django's path."""
    internal = field.get_internal_type()
    attname = field.attname
    plain_save = type(field).pre_save is models.Field.pre_save
    if internal in _PLAIN_TYPES and plain_save:
        return lambda instance: getattr(instance, attname)
    if internal == "FloatField" and plain_save:
        return lambda instance: None if (v := getattr(instance, attname)) is None else float(v)
    if internal in _INTEGER_TYPES and plain_save:
        # psycopg picks int2/int4/int8 by value; Django pins the column's type (Int8 etc.).
        adapt = connection.ops.adapt_integerfield_value
        return lambda instance: adapt(getattr(instance, attname), internal)
    if internal == "JSONField" and field.encoder is None:

        def json_value(instance: Any) -> Jsonb | None:
            value = getattr(instance, attname)
            return None if value is None else Jsonb(value)

        return json_value
    return lambda instance: field.get_db_prep_save(field.pre_save(instance, True), connection)


def _execute_prepared(statement: str, params: dict[str, Any]) -> tuple | None:
    """Run the append statement with server-side binding as a prepared statement.

    Django's psycopg cursors bind parameters client-side, so PostgreSQL would parse and plan this
    multi-CTE statement on every append (measured: most of its cost). Its text is constant, so
    psycopg's ``prepare=True`` keeps one prepared plan per connection (ADR 0006). In autocommit
    mode (every decision that is not escalated) the statement is its own transaction; inside one,
    psycopg opens it as it always does. (A path straight to libpq, ADR 0008, saved nothing
    measurable and is gone, ADR 0013.)
    """
    connection.ensure_connection()
    # wrap_database_errors turns psycopg errors into Django's (IntegrityError, OperationalError…).
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(statement, params, prepare=True)
        return cursor.fetchone()


def _append_postgres(
    entry_type: str, text: str, linked: tuple[LinkedRow, ...] = ()
) -> AppendedEntry | None:
    statement, params = _PG_APPEND, {"entry_type": entry_type, "payload": text}
    if linked:
        head, _ = statement.rsplit("SELECT seq, entry_hash, prev_hash, timestamp FROM ins", 1)
        statement = head.rstrip()
        for slot, row in enumerate(linked):
            cte, linked_params = _linked_cte(row, slot)
            statement += cte
            params.update(linked_params)
        statement += "\nSELECT seq, entry_hash, prev_hash, timestamp FROM ins"
    returned = _execute_prepared(statement, params)
    if returned is None:
        return None
    seq, entry_hash, prev_hash, timestamp = returned
    expected = hashlib.sha256(
        canonical_entry_text(
            seq=seq,
            entry_type=entry_type,
            timestamp=timestamp,
            payload_text=text,
            prev_hash=prev_hash,
        )
    ).hexdigest()
    if expected != entry_hash:  # never continue with a hash an outside verifier would reject
        raise ServiceUnavailable("The ledger computed an unexpected hash; nothing was written.")
    for row in linked:
        _fill_linked(row, seq, entry_hash, timestamp)
        row.instance._state.adding = False
        row.instance._state.db = connection.alias
    return AppendedEntry(seq, entry_hash, timestamp, entry_type)


def _fill_linked(linked: LinkedRow, seq: int, entry_hash: str, timestamp: str) -> None:
    values = {"seq": seq, "entry_hash": entry_hash, "timestamp": timestamp}
    for source, name in linked.sources():
        setattr(linked.instance, name, values[source])


def _append_generic(
    entry_type: str, text: str, linked: tuple[LinkedRow, ...] = ()
) -> AppendedEntry:
    head = ChainHead.objects.select_for_update().get(pk=1)
    seq = head.seq + 1
    timestamp = rfc3339_now()
    data = canonical_entry_text(
        seq=seq,
        entry_type=entry_type,
        timestamp=timestamp,
        payload_text=text,
        prev_hash=head.entry_hash,
    )
    entry_hash = hashlib.sha256(data).hexdigest()
    LedgerEntry.objects.create(
        seq=seq,
        entry_type=entry_type,
        timestamp=timestamp,
        payload=text,
        prev_hash=head.entry_hash,
        entry_hash=entry_hash,
        leaf_hash=merkle.leaf_hash(data),
    )
    ChainHead.objects.filter(pk=1).update(seq=seq, entry_hash=entry_hash)
    for row in linked:
        _fill_linked(row, seq, entry_hash, timestamp)
        row.instance._state.adding = True
        row.instance.save(force_insert=True)
    return AppendedEntry(seq, entry_hash, timestamp, entry_type)


def _ensure_genesis() -> None:
    """Create the head row if missing and write the genesis entry (seq 0) if the ledger is empty."""
    _ensure_head()
    head = ChainHead.objects.select_for_update().get(pk=1)
    if head.seq == -1:
        _append_generic(EntryType.GENESIS.value, _genesis_payload())


def _append_one(entry_type: str, text: str, linked: tuple[LinkedRow, ...] = ()) -> AppendedEntry:
    if connection.vendor == "postgresql":
        appended = _append_postgres(entry_type, text, linked)
        if appended is None:  # no head row yet, or an empty ledger without its genesis entry
            _ensure_genesis()
            appended = _append_postgres(entry_type, text, linked)
        if appended is None:
            raise ServiceUnavailable("The ledger head is missing; nothing was written.")
        return appended
    _ensure_genesis()
    return _append_generic(entry_type, text, linked)


def _genesis_payload() -> str:
    return payload_text({"origin": settings.LEXECON_ORIGIN, "format": "lexecon-ledger/1"})


def ledger_append(
    *, entry_type: str, payload: dict[str, Any], linked: Linked = None
) -> AppendedEntry:
    """Append one entry inside the caller's transaction and return its final seq and hash.

    Called inside ``transaction.atomic()`` the entry commits or rolls back with the caller's change.
    Called outside one on PostgreSQL, the single append statement is its own transaction, so the
    chain-head lock is held only inside the server (no round trip, no GIL hand-off while locked).
    ``payload`` must be exactly what ``entry_type`` declares in :mod:`apps.ledger.events` (the
    common envelope plus the type's fields); anything else is refused before a byte is written.
    The first append of a new ledger writes the genesis entry (seq 0) first. Every
    ``LEXECON_CHECKPOINT_EVERY`` entries a checkpoint is scheduled for after the commit. ``linked``
    names a row (or a tuple of rows) to write together with the entry (see :class:`LinkedRow`).
    """
    started = time.perf_counter()
    try:
        return _ledger_append(entry_type=entry_type, payload=payload, linked=linked)
    finally:
        LEDGER_APPEND_SECONDS.observe(time.perf_counter() - started)


def _ledger_append(*, entry_type: str, payload: dict[str, Any], linked: Linked) -> AppendedEntry:
    if not isinstance(payload, dict):
        raise InvalidInput("A ledger payload must be a JSON object.")
    events.validate_payload(entry_type, payload, allow_test=settings.LEXECON_LEDGER_TEST_EVENTS)
    text = payload_text(payload)
    linked = _as_tuple(linked)
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        appended = _append_postgres(entry_type, text, linked)
        if appended is None:
            with transaction.atomic():
                appended = _append_one(entry_type, text, linked)
    else:
        with transaction.atomic():
            appended = _append_one(entry_type, text, linked)
    every = settings.LEXECON_CHECKPOINT_EVERY
    if every > 0 and (appended.seq + 1) % every == 0:
        transaction.on_commit(_enqueue_checkpoint)
    return appended


def _enqueue_checkpoint() -> None:
    """After commit: make a checkpoint now (eager mode) or have a worker asked for one."""
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        _CheckpointRequests.of_this_process().ask()
        return
    # By the task's registered name (LedgerConfig.ready registers it; a missing name is a
    # KeyError, never a silent publish): the checkpoint code signs with keys whose rotation
    # appends, so importing it from here would make a loop. Eager mode signs it right here.
    try:
        current_app.tasks["ledger.checkpoint"].delay()
    except Exception:
        logger.exception("could not make a ledger checkpoint now; the periodic task will")


class _CheckpointRequests(threading.Thread):
    """Asks Celery for checkpoints from a thread of its own, never from the request that
    completed the entry (RELIABILITY T15).

    Publishing to a broker that is down fails after its retries (about 0.7 s), and to one that
    hangs it blocks until the broker answers again; either would hold up a ``/decide`` answer.
    Requests made while one is pending are one request: a checkpoint covers every entry up to
    the moment it is made. A failure is logged; the periodic ``ledger.checkpoint`` task makes
    the checkpoint in any case. One thread per process, started at the first request (after a
    fork, so every gunicorn worker has its own).
    """

    _current: _CheckpointRequests | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        super().__init__(name="lexecon-checkpoint-requests", daemon=True)
        self.pid = os.getpid()
        self._wanted = threading.Event()

    @classmethod
    def of_this_process(cls) -> _CheckpointRequests:
        with cls._lock:
            current = cls._current
            if current is None or current.pid != os.getpid():
                current = cls._current = cls()
                current.start()
            return current

    def ask(self) -> None:
        self._wanted.set()

    def run(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            try:
                current_app.send_task("ledger.checkpoint")
            except Exception:
                logger.exception("could not ask for a ledger checkpoint; the periodic task will")
