"""ledger_append: exact canonical bytes, genesis, contiguity, the caller's transaction, validation."""

from __future__ import annotations

import hashlib
import itertools
import json

import pytest
from django.db import transaction
from hypothesis import given
from hypothesis import strategies as st

from apps.core.exceptions import InvalidInput
from apps.ledger import services
from apps.ledger.models import ChainHead, LedgerEntry
from tests.ledger.conftest import append_many
from tools.verify_bundle import GENESIS_PREV_HASH, canonical_entry_bytes, leaf_hash

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@given(
    payload=st.dictionaries(st.text(max_size=10), json_values, max_size=5),
    seq=st.integers(0, 10**12),
)
def test_concatenated_canonical_bytes_equal_jcs_of_the_five_fields(payload, seq):
    text = services.payload_text(payload)
    entry = {
        "seq": seq,
        "entry_type": "decision.made",
        "timestamp": "2026-11-29T06:40:11.123456Z",
        "payload": payload,
        "prev_hash": "ab" * 32,
    }
    assert services.canonical_entry_text(
        seq=seq,
        entry_type="decision.made",
        timestamp=entry["timestamp"],
        payload_text=text,
        prev_hash="ab" * 32,
    ) == canonical_entry_bytes(entry)


@pytest.mark.django_db
def test_first_append_writes_genesis_then_entry():
    appended = services.ledger_append(entry_type="test.event", payload={"a": 1})
    assert appended.seq == 1
    genesis, first = LedgerEntry.objects.order_by("seq")
    assert genesis.seq == 0
    assert genesis.entry_type == "ledger.genesis"
    assert genesis.prev_hash == GENESIS_PREV_HASH
    assert first.prev_hash == genesis.entry_hash
    assert json.loads(first.payload) == {"a": 1}
    assert first.timestamp.endswith("Z")


@pytest.mark.django_db
def test_stored_hashes_are_the_documented_ones():
    append_many(5)
    for entry in LedgerEntry.objects.order_by("seq"):
        data = canonical_entry_bytes(
            {
                "seq": entry.seq,
                "entry_type": entry.entry_type,
                "timestamp": entry.timestamp,
                "payload": json.loads(entry.payload),
                "prev_hash": entry.prev_hash,
            }
        )
        assert entry.entry_hash == hashlib.sha256(data).hexdigest()
        assert bytes(entry.leaf_hash) == leaf_hash(data)


@pytest.mark.django_db
def test_chain_is_contiguous_and_head_tracks_it():
    appended = append_many(20)
    assert [a.seq for a in appended] == list(range(1, 21))
    rows = list(LedgerEntry.objects.order_by("seq").values_list("seq", "prev_hash", "entry_hash"))
    assert [r[0] for r in rows] == list(range(21))
    for previous, current in itertools.pairwise(rows):
        assert current[1] == previous[2]
    head = ChainHead.objects.get()
    assert head.seq == 20
    assert head.entry_hash == rows[-1][2]


@pytest.mark.django_db
def test_append_rolls_back_with_the_callers_transaction():
    append_many(2)
    before = LedgerEntry.objects.count()

    def change_that_fails() -> None:
        with transaction.atomic():
            services.ledger_append(entry_type="test.event", payload={"x": 1})
            raise RuntimeError("the governance change failed")

    with pytest.raises(RuntimeError):
        change_that_fails()
    assert LedgerEntry.objects.count() == before
    assert ChainHead.objects.get().seq == before - 1
    assert services.ledger_append(entry_type="test.event", payload={"x": 2}).seq == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("entry_type", "payload"),
    [
        ("no.such.type", {}),
        ("ledger.genesis", {}),
        ("test.event", ["not", "an", "object"]),
        ("test.event", {"f": float("nan")}),
        ("test.event", {"big": 2**80}),
    ],
)
def test_invalid_appends_are_rejected_and_write_nothing(entry_type, payload):
    with pytest.raises(InvalidInput):
        services.ledger_append(entry_type=entry_type, payload=payload)
    assert LedgerEntry.objects.count() == 0


@pytest.mark.django_db
def test_unicode_and_control_characters_round_trip():
    payload = {"name": "Zoë \u2028 \x00 \U0001f600", "nested": {"b": [1, "é"], "a": None}}
    appended = services.ledger_append(entry_type="test.event", payload=payload)
    entry = LedgerEntry.objects.get(seq=appended.seq)
    assert json.loads(entry.payload) == payload
    assert entry.entry_hash == appended.entry_hash


def test_commitments_hide_and_bind_personal_data():
    commitment, salt = services.commit_personal({"email": "a@example.org"})
    again, other_salt = services.commit_personal({"email": "a@example.org"})
    assert commitment != again  # salted: equal values do not give equal commitments
    assert services.commitment_matches({"email": "a@example.org"}, salt, commitment)
    assert not services.commitment_matches({"email": "b@example.org"}, salt, commitment)
    assert not services.commitment_matches({"email": "a@example.org"}, other_salt, commitment)


@pytest.mark.django_db
def test_server_verification_of_stored_text_agrees_with_the_dict_path():
    from apps.ledger import selectors
    from tools.verify_bundle import ChainVerifier

    for payload in ({"a": "Zoë \u2028 \x00"}, {"emoji": "\U0001f600", "n": -(2**53) + 1}, {}):
        services.ledger_append(entry_type="test.event", payload=payload)
    assert selectors.ledger_verify()["valid"] is True
    rows = list(
        LedgerEntry.objects.order_by("seq").values_list(
            "seq", "entry_type", "timestamp", "payload", "prev_hash", "entry_hash"
        )
    )
    as_text, as_dict = ChainVerifier(payload_as_text=True), ChainVerifier()
    as_text.feed_many(rows)
    as_dict.feed_many([(*row[:3], json.loads(row[3]), *row[4:]) for row in rows])
    assert as_text.finish()["root"] == as_dict.finish()["root"]
    tampered = [rows[0], (*rows[1][:3], rows[1][3].replace("Zo", "Za"), *rows[1][4:]), *rows[2:]]
    checker = ChainVerifier(payload_as_text=True)
    checker.feed_many(tampered)
    report = checker.finish()
    assert report["error_code"] == "hash_mismatch"
    assert report["first_invalid_seq"] == 1


@pytest.mark.django_db
def test_append_statement_is_prepared_once_per_connection(postgres_only):
    """The append statement keeps a server-side prepared plan (Django turns psycopg's preparation
    off unless ``prepare_threshold`` is set, which silently ignored ``prepare=True`` before)."""
    from django.db import connection

    append_many(3)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements "
            "WHERE statement LIKE '%%INSERT INTO ledger_ledgerentry%%' AND NOT from_sql"
        )
        assert cursor.fetchone()[0] == 1


def test_every_nth_entry_signs_a_checkpoint_after_commit_in_eager_mode(
    db, settings, django_capture_on_commit_callbacks
):
    """The N-th append asks for ``ledger.checkpoint`` by name after commit; in the embedded
    default (Celery eager) that signs the checkpoint in the same process, no broker involved."""
    from apps.ledger.models import Checkpoint

    settings.LEXECON_CHECKPOINT_EVERY = 3
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(3):  # genesis (seq 0) + seq 1..3; seq 2 completes the interval of 3
            services.ledger_append(entry_type="test.event", payload={"n": n})
    # One checkpoint, signed after the commit, over everything committed by then.
    sizes = list(Checkpoint.objects.values_list("tree_size", flat=True))
    assert sizes == [4]
