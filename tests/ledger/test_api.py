"""The ledger API: auth matrix, exact shapes, proofs that verify against signed checkpoints, 4xx."""

from __future__ import annotations

import base64

import pytest

from apps.ledger import services
from apps.ledger.models import LedgerEntry
from tests.ledger.conftest import append_many
from tools.verify_bundle import (
    check_checkpoint,
    load_keys,
    parse_checkpoint,
    parse_signed_note,
    verify_consistency,
    verify_inclusion,
)

pytestmark = pytest.mark.django_db

PROTECTED = [
    "/ledger/entries",
    "/ledger/verify",
    "/ledger/proof/inclusion?seq=0",
    "/ledger/proof/consistency?first=1&second=2",
]


@pytest.fixture
def reader(agent_client):
    return agent_client("ledger:read")


@pytest.fixture
def ledger(db):
    append_many(20)
    return services.ledger_checkpoint_create()


@pytest.mark.parametrize("url", PROTECTED)
def test_auth_matrix(url, ledger, client, agent_client, verified_client):
    assert client.get(url).status_code == 401
    assert agent_client("decide").get(url).status_code == 403
    assert verified_client("reviewer").get(url).status_code == 403
    assert agent_client("ledger:read").get(url).status_code == 200
    assert verified_client("auditor").get(url).status_code == 200


def test_entries_shape_order_and_filters(reader, ledger):
    body = reader.get("/ledger/entries?offset=2&limit=5").json()
    assert body["total"] == 21
    assert body["chain_valid"] is None
    assert [e["seq"] for e in body["entries"]] == [2, 3, 4, 5, 6]
    entry = body["entries"][0]
    # Our fields, and the original Lexecon's names beside them (ADR 0031, tests/compat).
    ours = {"seq", "entry_type", "timestamp", "payload", "prev_hash", "entry_hash"}
    assert set(entry) == ours | {"entry_id", "event_type", "data", "previous_hash"}
    assert entry["payload"] == {"n": 1, "label": "e1"}
    genesis = reader.get("/ledger/entries?entry_type=ledger.genesis").json()
    assert genesis["total"] == 1
    assert reader.get("/ledger/entries?verify=true&limit=1").json()["chain_valid"] is True


@pytest.mark.parametrize(
    "query",
    ["offset=-1", "limit=0", "limit=5000", "offset=abc", "entry_type=nope", "verify=maybe"],
)
def test_entries_bad_parameters_are_400(reader, ledger, query):
    response = reader.get(f"/ledger/entries?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_verify_reports_the_exact_fields(reader, ledger):
    body = reader.get("/ledger/verify").json()
    assert body["valid"] is True
    assert body["entries_checked"] == 21
    assert body["first_invalid_seq"] is None
    assert body["error_code"] is None
    assert body["checkpoint_size"] == 21


def test_checkpoint_is_public_text_and_verifies_with_published_keys(client, ledger):
    response = client.get("/ledger/checkpoint")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    note = response.content.decode()
    assert note == ledger.note
    assert note.startswith("lexecon.example/ledger\n21\n")
    keys = load_keys(client.get("/ledger/keys").json())
    check = check_checkpoint(note, keys)
    assert check.trusted
    assert {k.algorithm for k in check.verification.verified} == {"Ed25519", "RSA-PSS-4096"}


def test_checkpoint_404_before_any(client, db):
    response = client.get("/ledger/checkpoint")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_checkpoints_list(client, ledger):
    append_many(5)
    services.ledger_checkpoint_create()
    body = client.get("/ledger/checkpoints").json()
    assert body["total"] == 2
    assert [c["tree_size"] for c in body["checkpoints"]] == [26, 21]
    assert len(base64.b64decode(body["checkpoints"][0]["root_hash"])) == 32


def test_inclusion_proof_verifies_against_the_signed_checkpoint(reader, client, ledger):
    root = parse_checkpoint(parse_signed_note(ledger.note).text).root
    for seq in range(21):
        body = reader.get(f"/ledger/proof/inclusion?seq={seq}&tree_size=21").json()
        assert body["seq"] == seq
        assert body["tree_size"] == 21
        leaf = base64.b64decode(body["leaf_hash"])
        assert leaf == bytes(LedgerEntry.objects.get(seq=seq).leaf_hash)
        proof = [base64.b64decode(p) for p in body["proof"]]
        assert verify_inclusion(leaf, seq, 21, proof, root)
        assert not verify_inclusion(leaf, (seq + 1) % 21, 21, proof, root)
    assert len(reader.get("/ledger/proof/inclusion?seq=3").content) < 1024


def test_consistency_proof_between_two_checkpoints(reader, ledger):
    append_many(13)
    later = services.ledger_checkpoint_create()
    root1 = parse_checkpoint(parse_signed_note(ledger.note).text).root
    root2 = parse_checkpoint(parse_signed_note(later.note).text).root
    body = reader.get("/ledger/proof/consistency?first=21&second=34").json()
    assert body["first"] == 21
    assert body["second"] == 34
    proof = [base64.b64decode(p) for p in body["proof"]]
    assert verify_consistency(21, 34, proof, root1, root2)
    assert not verify_consistency(21, 34, proof, root2, root1)


@pytest.mark.parametrize(
    "url",
    [
        "/ledger/proof/inclusion",
        "/ledger/proof/inclusion?seq=-1",
        "/ledger/proof/inclusion?seq=21",
        "/ledger/proof/inclusion?seq=5&tree_size=3",
        "/ledger/proof/inclusion?seq=1&tree_size=0",
        "/ledger/proof/inclusion?seq=1&tree_size=99",
        "/ledger/proof/inclusion?seq=10000000&tree_size=10000000",
        "/ledger/proof/inclusion?seq=1e3",
        "/ledger/proof/consistency?first=0&second=0",
        "/ledger/proof/consistency?first=-1&second=0",
        "/ledger/proof/consistency?first=5&second=3",
        "/ledger/proof/consistency?first=1&second=22",
        "/ledger/proof/consistency?first=x&second=2",
        "/ledger/proof/consistency?first=99999999999999999999999&second=2",
    ],
)
def test_bad_proof_parameters_are_400_in_error_shape(reader, ledger, url):
    response = reader.get(url)
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] in {"validation_error", "invalid_input"}
    assert "proof" not in body


def test_status_shows_ledger_head(reader, ledger):
    body = reader.get("/status").json()
    assert body["ledger"]["size"] == 21
    assert body["ledger"]["latest_checkpoint_size"] == 21
    assert body["ledger"]["head_hash"] == LedgerEntry.objects.get(seq=20).entry_hash
