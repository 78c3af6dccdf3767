"""Ledger scenarios of RELIABILITY: T01 (10,000 entries verify alike on the server, offline and in an
independent RFC 9162 build) and tamper scenarios T02-T07, T10, T11, each detected and located exactly.

Tampering is done in raw SQL as an attacker with database access would (on PostgreSQL bypassing the
append-only triggers as a superuser can). Run on SQLite and, in the second CI pass, on PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from apps.ledger import bundle, notes, selectors, services
from apps.ledger.models import Checkpoint, LedgerEntry
from tests.ledger.conftest import append_many, raw_sql
from tools.verify_bundle import canonical_entry_bytes, leaf_hash

pytestmark = pytest.mark.django_db


def verify() -> dict:
    return selectors.ledger_verify()


def rehash_from(seq: int) -> None:
    """Recompute every hash from ``seq`` on, as a careful attacker would (a 'full rewrite')."""
    rows = list(LedgerEntry.objects.filter(seq__gte=seq).order_by("seq"))
    prev = LedgerEntry.objects.get(seq=seq - 1).entry_hash if seq > 0 else "0" * 64
    for row in rows:
        data = canonical_entry_bytes(
            {
                "seq": row.seq,
                "entry_type": row.entry_type,
                "timestamp": row.timestamp,
                "payload": json.loads(row.payload),
                "prev_hash": prev,
            }
        )
        digest = hashlib.sha256(data).hexdigest()
        raw_sql(
            "UPDATE ledger_ledgerentry SET prev_hash = %s, entry_hash = %s, leaf_hash = %s "
            "WHERE seq = %s",
            [f"tmp{row.seq:061d}", f"tmq{row.seq:061d}", leaf_hash(data), row.seq],
        )
        raw_sql(
            "UPDATE ledger_ledgerentry SET prev_hash = %s, entry_hash = %s WHERE seq = %s",
            [prev, digest, row.seq],
        )
        prev = digest
    raw_sql("UPDATE ledger_chainhead SET entry_hash = %s WHERE id = 1", [prev])


def test_intact_ledger_verifies_and_is_anchored():
    append_many(40)
    services.ledger_checkpoint_create()
    report = verify()
    assert report["valid"] is True
    assert report["entries_checked"] == 41
    assert report["checkpoint_size"] == 41
    assert report["anchored"] is True


def test_without_checkpoint_tail_is_reported_unanchored():
    append_many(5)
    report = verify()
    assert report["valid"] is True
    assert report["anchored"] is False
    assert "UNANCHORED" in report["message"]


def test_t02_edited_payload_is_hash_mismatch_at_that_seq():
    append_many(60)
    services.ledger_checkpoint_create()
    raw_sql("UPDATE ledger_ledgerentry SET payload = %s WHERE seq = 42", ['{"n":999}'])
    report = verify()
    assert report["valid"] is False
    assert report["error_code"] == "hash_mismatch"
    assert report["first_invalid_seq"] == 42
    assert [e["code"] for e in report["errors"]] == ["hash_mismatch"]  # no cascade of failures


def test_t03_deleted_middle_row_is_a_gap_at_the_next_seq():
    append_many(30)
    raw_sql("DELETE FROM ledger_ledgerentry WHERE seq = 10")
    report = verify()
    assert report["error_code"] == "gap"
    assert report["first_invalid_seq"] == 11


def test_t04_swapped_payloads_are_hash_mismatch_at_the_first():
    append_many(30)
    a, b = (LedgerEntry.objects.get(seq=s).payload for s in (20, 21))
    raw_sql("UPDATE ledger_ledgerentry SET payload = %s WHERE seq = 20", [b])
    raw_sql("UPDATE ledger_ledgerentry SET payload = %s WHERE seq = 21", [a])
    report = verify()
    assert report["error_code"] == "hash_mismatch"
    assert report["first_invalid_seq"] == 20


def test_t05_truncated_tail_below_a_checkpoint_is_truncated():
    append_many(50)
    checkpoint = services.ledger_checkpoint_create()
    assert checkpoint.tree_size == 51
    raw_sql("DELETE FROM ledger_ledgerentry WHERE seq >= 41")
    raw_sql("UPDATE ledger_chainhead SET seq = 40 WHERE id = 1")
    report = verify()
    assert report["valid"] is False
    assert report["error_code"] == "truncated"
    assert report["entries_checked"] == 41
    assert "51" in report["message"]


def test_t06_full_rewrite_passes_the_chain_but_not_the_checkpoint():
    append_many(40)
    services.ledger_checkpoint_create()
    raw_sql("UPDATE ledger_ledgerentry SET payload = %s WHERE seq = 10", ['{"n":-1}'])
    rehash_from(10)
    report = verify()
    assert report["valid"] is False
    assert report["error_code"] == "root_mismatch"
    assert report["checkpoint_size"] is None
    # The chain alone links up again: only the signed checkpoint exposes the rewrite.
    assert not any(e["code"] in {"hash_mismatch", "broken_link", "gap"} for e in report["errors"])


def test_t06_consistency_from_old_checkpoint_fails_after_rewrite():
    from tools.verify_bundle import parse_checkpoint, parse_signed_note, verify_consistency

    append_many(30)
    old = services.ledger_checkpoint_create()
    old_root = parse_checkpoint(parse_signed_note(old.note).text).root
    raw_sql("UPDATE ledger_ledgerentry SET payload = %s WHERE seq = 5", ['{"n":-5}'])
    rehash_from(5)
    raw_sql("DELETE FROM ledger_merklenode")
    append_many(3, prefix="after")
    proof = selectors.consistency_proof(first=old.tree_size, second=34)
    from apps.ledger import merkle, tree

    new_root = merkle.root(34, tree.DatabaseProvider(34))
    import base64

    assert not verify_consistency(
        old.tree_size, 34, [base64.b64decode(p) for p in proof["proof"]], old_root, new_root
    )


def test_signature_forged_checkpoint_is_bad_signature():
    append_many(10)
    checkpoint = services.ledger_checkpoint_create()
    lines = checkpoint.note.split("\n")
    sig_line = lines[4]
    name, blob = sig_line[2:].split(" ")
    import base64

    raw = bytearray(base64.b64decode(blob))
    raw[10] ^= 1
    lines[4] = f"— {name} {base64.b64encode(bytes(raw)).decode()}"
    raw_sql(
        "UPDATE ledger_checkpoint SET note = %s WHERE tree_size = %s",
        ["\n".join(lines), checkpoint.tree_size],
    )
    report = verify()
    assert report["valid"] is False
    assert report["error_code"] == "bad_signature"


def test_t07_equivocation_in_an_exported_bundle(tmp_path):
    append_many(12)
    services.ledger_checkpoint_create()
    bundle.bundle_write(tmp_path)
    forged = notes.sign_checkpoint(
        "lexecon.example/ledger",
        13,
        hashlib.sha256(b"another history").digest(),
        services.checkpoint_signers(),
    )
    document = json.loads((tmp_path / "checkpoints.json").read_text())
    document["checkpoints"].append({"tree_size": 13, "note": forged})
    (tmp_path / "checkpoints.json").write_text(json.dumps(document))
    result = subprocess.run(
        [sys.executable, str(tmp_path / "verify_bundle.py"), str(tmp_path), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["error_code"] == "equivocation"
    equivocation = next(e for e in report["errors"] if e["code"] == "equivocation")
    assert len(equivocation["notes"]) == 2


def test_exported_bundle_verifies_offline(tmp_path):
    append_many(300)
    services.ledger_checkpoint_create()
    counts = bundle.bundle_write(tmp_path)
    assert counts["entries"] == 301
    result = subprocess.run(
        [sys.executable, str(tmp_path / "verify_bundle.py"), str(tmp_path), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["valid"] is True
    assert report["checkpoint_size"] == 301
    assert report["root"] == verify()["root"]


def test_t01_ten_thousand_decisions_verify_alike_everywhere(
    tmp_path, ledger_transactional_db, agent_client
):
    """T01: 10,000 decision entries; /ledger/verify and the offline verifier on the exported bundle
    both say valid at size 10,000 with the same root, which equals an independent in-memory RFC 9162
    build (pymerkle) over the stored entries' canonical bytes.

    Each append commits on its own, as appends do in production (one long transaction of 10,000
    appends makes PostgreSQL walk the head row's growing update chain: quadratic)."""
    from pymerkle import InmemoryTree

    services.ledger_append(entry_type="test.event", payload={"warmup": True})  # genesis + 1
    for number in range(9998):
        services.ledger_append(
            entry_type="test.event",  # decision-shaped; the verifier never reads payloads
            payload={
                "decision_id": f"t01-{number}",
                "actor": "ai_agent:t01",
                "action": "read",
                "outcome": ("allowed", "denied", "escalated")[number % 3],
                "risk": {"score": (number % 1000) / 10, "level": "low"},
            },
        )
    checkpoint = services.ledger_checkpoint_create()
    assert checkpoint.tree_size == 10_000

    reader = agent_client("ledger:read")
    server = reader.get("/ledger/verify").json()
    assert server["valid"] is True
    assert server["entries_checked"] == 10_000
    assert server["checkpoint_size"] == 10_000

    bundle.bundle_write(tmp_path)
    result = subprocess.run(
        [sys.executable, str(tmp_path / "verify_bundle.py"), str(tmp_path), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    offline = json.loads(result.stdout)
    assert offline["valid"] is True
    assert offline["checkpoint_size"] == 10_000

    oracle = InmemoryTree(algorithm="sha256")
    oracle.append_entries(
        canonical_entry_bytes(
            {
                "seq": row.seq,
                "entry_type": row.entry_type,
                "timestamp": row.timestamp,
                "payload": json.loads(row.payload),
                "prev_hash": row.prev_hash,
            }
        )
        for row in LedgerEntry.objects.order_by("seq").iterator(chunk_size=2000)
    )
    independent = oracle.get_root().hex()
    assert bytes(checkpoint.root_hash).hex() == independent
    assert offline["root"] == verify()["root"] == independent


def test_verify_ledger_command_exit_codes():
    append_many(5)
    services.ledger_checkpoint_create()
    call_command("verify_ledger")  # exit 0: returns normally
    raw_sql("UPDATE ledger_ledgerentry SET payload = %s WHERE seq = 3", ['{"n":0}'])
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_ledger")
    assert exit_info.value.code == 1


# --- T11: the application cannot rewrite history on PostgreSQL -----------------------------------


@pytest.mark.usefixtures("postgres_only")
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_ledgerentry SET payload = '{}' WHERE seq = 1",
        "DELETE FROM ledger_ledgerentry WHERE seq = 1",
        "TRUNCATE ledger_ledgerentry",
        "UPDATE ledger_checkpoint SET note = 'x'",
        "DELETE FROM ledger_checkpoint",
    ],
)
def test_t11_triggers_refuse_rewrites(statement):
    append_many(3)
    services.ledger_checkpoint_create()
    before = list(LedgerEntry.objects.order_by("seq").values_list("entry_hash", flat=True))
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert list(LedgerEntry.objects.order_by("seq").values_list("entry_hash", flat=True)) == before
    assert Checkpoint.objects.count() == 1


def as_app_role(statement: str) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL ROLE lexecon_app_test")
        cursor.execute(statement)


@pytest.mark.usefixtures("postgres_only")
def test_t11_hardened_app_role_cannot_update_even_without_triggers():
    append_many(2)
    with connection.cursor() as cursor:
        cursor.execute("DROP ROLE IF EXISTS lexecon_app_test")
        cursor.execute("CREATE ROLE lexecon_app_test")
        cursor.execute("GRANT ALL ON ledger_ledgerentry, ledger_checkpoint TO lexecon_app_test")
    call_command("ledger_harden", "--role", "lexecon_app_test")
    with pytest.raises(DatabaseError, match="permission denied"):
        as_app_role("SET LOCAL session_replication_role = replica")  # not allowed either
    with pytest.raises(DatabaseError, match="permission denied"):
        as_app_role("UPDATE ledger_ledgerentry SET payload = '{}' WHERE seq = 1")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL ROLE lexecon_app_test")
        cursor.execute("SELECT count(*) FROM ledger_ledgerentry")
        assert cursor.fetchone()[0] == 3


# --- T10: stateful model — verify is ok iff no unanchored tamper happened --------------------------


class LedgerMachine(RuleBasedStateMachine):
    """Append / checkpoint / tamper / verify in any order; the report must match the model."""

    @initialize()
    def start(self):
        raw_sql("DELETE FROM ledger_checkpoint")
        raw_sql("DELETE FROM ledger_merklenode")
        raw_sql("DELETE FROM ledger_ledgerentry")
        raw_sql("DELETE FROM ledger_chainhead")
        self.size = 0
        self.tampered: int | None = None  # seq of the first edited payload

    @rule(count=st.integers(1, 5))
    def append(self, count):
        if self.tampered is not None:
            return  # an attacker's edit followed by more appends is covered by the rules below
        append_many(count)
        self.size = LedgerEntry.objects.count()

    @rule()
    def checkpoint(self):
        if self.size and self.tampered is None:
            services.ledger_checkpoint_create()

    @rule(data=st.data())
    def tamper(self, data):
        if self.size < 2:
            return
        seq = data.draw(st.integers(1, self.size - 1))
        raw_sql("UPDATE ledger_ledgerentry SET payload = %s WHERE seq = %s", ['{"evil":true}', seq])
        self.tampered = seq if self.tampered is None else min(self.tampered, seq)

    @invariant()
    def verify_matches_model(self):
        report = selectors.ledger_verify()
        if self.tampered is None:
            assert report["valid"] is True
        else:
            assert report["valid"] is False
            assert report["error_code"] == "hash_mismatch"
            assert report["first_invalid_seq"] == self.tampered


@pytest.mark.usefixtures("db")
def test_t10_state_machine():
    LedgerMachine.TestCase.settings = hyp_settings(
        max_examples=25, stateful_step_count=8, deadline=None
    )
    LedgerMachine.TestCase().runTest()
