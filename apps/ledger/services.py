"""Writes to the ledger: appends, Merkle node storage, signing keys and checkpoints.

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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from celery import current_app
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Max
from django.utils import timezone
from psycopg.types.json import Jsonb

from apps.accounts.principals import system_actor
from apps.core.exceptions import InvalidInput, ServiceUnavailable
from apps.ledger import events, merkle, notes, tree
from apps.ledger import keys as keycrypto
from apps.ledger.entry_types import EntryType
from apps.ledger.models import ChainHead, Checkpoint, LedgerEntry, MerkleNode, SigningKey
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
    sql += f"SELECT {', '.join(exprs)} FROM ins)"  # noqa: S608
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
    try:
        ledger_checkpoint_create()
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


# --- Stored Merkle nodes -----------------------------------------------------------------------------


_FILL_BATCH = 64


def merkle_nodes_fill(*, size: int) -> int:
    """Store every complete perfect subtree of level >= 8 inside the first ``size`` entries.

    Idempotent and incremental: it resumes after the last stored 256-leaf block. Returns how many
    nodes it wrote. Complete subtrees never change, so stored nodes stay valid for ever.
    """
    base = merkle.STORED_MIN_LEVEL
    done = MerkleNode.objects.filter(level=base).aggregate(top=Max("index"))["top"]
    next_block = 0 if done is None else done + 1
    last_block = size // CHUNK  # blocks [0, last_block) are complete
    if next_block >= last_block:
        return 0
    # The compact range over 256-leaf blocks resumes from stored nodes (peaks of next_block blocks).
    positions = merkle.CompactRange.peak_positions(next_block)
    stored = {
        (level, index): bytes(value)
        for level, index, value in MerkleNode.objects.filter(
            level__in={level + base for level, _ in positions}
        ).values_list("level", "index", "hash")
    }
    peaks = [stored[(level + base, index)] for level, index in positions]
    blocks = merkle.CompactRange.from_peaks(next_block, peaks)
    written = 0
    # Up to _FILL_BATCH blocks per query and per insert: a checkpoint every 1,000 entries covers
    # about four blocks, a first fill of a million entries about four thousand.
    for first in range(next_block, last_block, _FILL_BATCH):
        stop = min(first + _FILL_BATCH, last_block)
        leaves = tree.leaf_hashes(first * CHUNK, stop * CHUNK)
        rows = []
        for block in range(first, stop):
            offset = (block - first) * CHUNK
            block_hash = merkle.InMemoryProvider(leaves[offset : offset + CHUNK]).get_perfect(
                base, 0
            )
            completed: list[tuple[int, int, bytes]] = []
            blocks.append(block_hash, completed)
            rows.append(MerkleNode(level=base, index=block, hash=block_hash))
            rows += [MerkleNode(level=base + lvl, index=idx, hash=h) for lvl, idx, h in completed]
        MerkleNode.objects.bulk_create(rows, ignore_conflicts=True)
        written += len(rows)
    return written


# --- Signing keys --------------------------------------------------------------------------------------


def _wrapper() -> keycrypto.Wrapper:
    return keycrypto.Wrapper.from_master_key(settings.LEXECON_MASTER_KEY)


def _new_kid(purpose: str, algorithm: str) -> str:
    short = "ed25519" if algorithm == SigningKey.Algorithm.ED25519 else "rsa4096"
    return f"{purpose}-{short}-{timezone.now():%Y%m%d}-{secrets.token_hex(4)}"


def signing_key_create(*, purpose: str, algorithm: str) -> SigningKey:
    """Generate a key pair and store it with the private half sealed under the master key."""
    private = keycrypto.generate(algorithm)
    kid = _new_kid(purpose, algorithm)
    wrapper = _wrapper()
    key = SigningKey(
        kid=kid,
        algorithm=algorithm,
        purpose=purpose,
        status=SigningKey.Status.ACTIVE,
        public_key=keycrypto.public_der(private),
        encrypted_private_key=wrapper.seal(keycrypto.private_der(private), kid),
        master_key_id=wrapper.key_id,
        not_before=timezone.now(),
    )
    key.full_clean()
    key.save()
    return key


REQUIRED_KEYS = (
    (SigningKey.Purpose.CHECKPOINT, SigningKey.Algorithm.ED25519),
    (SigningKey.Purpose.CHECKPOINT, SigningKey.Algorithm.RSA_PSS_4096),
    (SigningKey.Purpose.TOKEN, SigningKey.Algorithm.ED25519),
)


def signing_keys_ensure() -> list[SigningKey]:
    """Generate, at first use, every active key the ledger and tokens need.

    Safe under concurrency: the partial unique index allows one active key per purpose and
    algorithm, so a process that loses the race gets an IntegrityError and uses the winner's key.
    """
    created = []
    for purpose, algorithm in REQUIRED_KEYS:
        active = SigningKey.objects.filter(
            purpose=purpose, algorithm=algorithm, status=SigningKey.Status.ACTIVE
        )
        if active.exists():
            continue
        try:
            with transaction.atomic():
                created.append(signing_key_create(purpose=purpose, algorithm=algorithm))
        except (IntegrityError, ValidationError):  # another process created it a moment ago
            continue
    return created


@transaction.atomic
def signing_keys_rotate(*, purposes: tuple[str, ...] = tuple(SigningKey.Purpose.values)) -> dict:
    """Retire the active keys of ``purposes`` and create new ones; record it in the ledger.

    Retired keys keep verifying (old tokens until they expire, old checkpoints for ever) but never
    sign again.
    """
    now = timezone.now()
    retired, created = [], []
    for purpose, algorithm in REQUIRED_KEYS:
        if purpose not in purposes:
            continue
        for key in SigningKey.objects.select_for_update().filter(
            purpose=purpose, algorithm=algorithm, status=SigningKey.Status.ACTIVE
        ):
            key.status = SigningKey.Status.RETIRED
            key.not_after = now
            key.save(update_fields=["status", "not_after"])
            retired.append(key.kid)
        created.append(signing_key_create(purpose=purpose, algorithm=algorithm).kid)
    ledger_append(
        entry_type=EntryType.KEYS_ROTATED,
        payload={
            **events.envelope(
                actor=system_actor("rotate_keys", "manage.py rotate_keys"),
                subject_type="signing_keys",
                subject_id=",".join(sorted(purposes)),
            ),
            "retired": sorted(retired),
            "created": sorted(created),
        },
    )
    return {"retired": retired, "created": created}


@transaction.atomic
def signing_keys_rewrap(*, old_master_key: str) -> int:
    """Re-encrypt every private key from ``old_master_key`` to the current master key."""
    old, new = keycrypto.Wrapper.from_master_key(old_master_key), _wrapper()
    count = 0
    for key in SigningKey.objects.select_for_update().exclude(master_key_id=new.key_id):
        if key.master_key_id != old.key_id:
            raise InvalidInput(
                f"Key {key.kid} is sealed under neither the old nor the new master key."
            )
        plaintext = old.open(key.encrypted_private_key, key.kid)
        key.encrypted_private_key = new.seal(plaintext, key.kid)
        key.master_key_id = new.key_id
        key.save(update_fields=["encrypted_private_key", "master_key_id"])
        count += 1
    return count


# Loaded private keys by (kid, sealed bytes, master key): loading an RSA-4096 key validates it (~0.2 s),
# far too slow per checkpoint or token. A re-wrap or another master key changes the cache key.
_PRIVATE_KEYS: dict[tuple[str, bytes, str], keycrypto.PrivateKey] = {}


def signing_key_private(key: SigningKey) -> keycrypto.PrivateKey:
    """Decrypt an ACTIVE key for signing. Retired keys never sign."""
    if key.status != SigningKey.Status.ACTIVE:
        raise InvalidInput(f"Key {key.kid} is retired: it verifies but never signs.")
    wrapper = _wrapper()
    cache_key = (key.kid, bytes(key.encrypted_private_key), wrapper.key_id)
    private = _PRIVATE_KEYS.get(cache_key)
    if private is None:
        try:
            sealed = wrapper.open(key.encrypted_private_key, key.kid)
        except keycrypto.KeyUnwrapError as exc:
            # A changed LEXECON_MASTER_KEY without `manage.py rewrap_keys`, or a tampered row.
            logger.critical("cannot unseal signing key %s with the configured master key", key.kid)
            raise ServiceUnavailable(
                "The signing keys cannot be unsealed with the configured master key; nothing was "
                "signed or written. An operator must restore LEXECON_MASTER_KEY or re-wrap the keys."
            ) from exc
        private = keycrypto.load_private(sealed)
        _PRIVATE_KEYS[cache_key] = private
    return private


def active_signing_key(*, purpose: str, algorithm: str) -> SigningKey:
    key = SigningKey.objects.filter(
        purpose=purpose, algorithm=algorithm, status=SigningKey.Status.ACTIVE
    ).first()
    if key is None:
        signing_keys_ensure()
        key = SigningKey.objects.get(
            purpose=purpose, algorithm=algorithm, status=SigningKey.Status.ACTIVE
        )
    return key


# --- Checkpoints ---------------------------------------------------------------------------------------


def checkpoint_signers() -> list[notes.NoteSigner]:
    """Ed25519 first, RSA-4096 PSS second, both named after this log's origin."""
    origin = settings.LEXECON_ORIGIN
    return [
        notes.NoteSigner(
            origin,
            signing_key_private(
                active_signing_key(purpose=SigningKey.Purpose.CHECKPOINT, algorithm=algorithm)
            ),
        )
        for algorithm in (SigningKey.Algorithm.ED25519, SigningKey.Algorithm.RSA_PSS_4096)
    ]


def ledger_checkpoint_create() -> Checkpoint | None:
    """Sign a checkpoint over every committed entry, unless the latest already covers them.

    One transaction (one durable commit instead of one per stored-node batch), and the root's
    stored nodes are read in one query: in the embedded default this runs inside the request that
    completed every ``LEXECON_CHECKPOINT_EVERY``-th entry, and its worker serves nobody meanwhile.
    """
    with transaction.atomic():
        return _checkpoint_create()


def _checkpoint_create() -> Checkpoint | None:
    head = ChainHead.objects.filter(pk=1).first()
    size = (head.seq + 1) if head else 0
    if size <= 0:
        return None
    latest = Checkpoint.objects.order_by("-tree_size").first()
    if latest is not None and latest.tree_size >= size:
        return latest
    merkle_nodes_fill(size=size)
    root_hash = tree.root(size)
    note = notes.sign_checkpoint(settings.LEXECON_ORIGIN, size, root_hash, checkpoint_signers())
    checkpoint, _ = Checkpoint.objects.get_or_create(
        tree_size=size, defaults={"root_hash": root_hash, "note": note}
    )
    return checkpoint
