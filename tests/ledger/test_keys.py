"""Signing keys: generated at first use, sealed under the master key, rotated, re-wrapped (T21, T22)."""

from __future__ import annotations

import io
import os

import pytest
from cryptography.hazmat.primitives import serialization
from django.core.management import call_command
from django.db import connection

from apps.core.exceptions import InvalidInput, ServiceUnavailable
from apps.ledger import keys as keycrypto
from apps.ledger import selectors, services
from apps.ledger.models import LedgerEntry, SigningKey
from tests.ledger.conftest import append_many
from tools.verify_bundle import check_checkpoint

pytestmark = pytest.mark.django_db


def private_bytes(key: SigningKey) -> bytes:
    private = services.signing_key_private(key)
    return keycrypto.private_der(private)


def test_keys_are_generated_at_first_use():
    assert SigningKey.objects.count() == 0
    services.signing_keys_ensure()
    assert set(SigningKey.objects.values_list("purpose", "algorithm")) == {
        ("checkpoint", "Ed25519"),
        ("checkpoint", "RSA-PSS-4096"),
        ("token", "Ed25519"),
    }
    assert services.signing_keys_ensure() == []  # idempotent


def test_private_keys_are_not_stored_in_clear():
    services.signing_keys_ensure()
    for key in SigningKey.objects.all():
        secret = private_bytes(key)
        assert secret not in bytes(key.encrypted_private_key)
        raw_private = (
            services.signing_key_private(key).private_bytes(
                serialization.Encoding.Raw,
                serialization.PrivateFormat.Raw,
                serialization.NoEncryption(),
            )
            if key.algorithm == "Ed25519"
            else secret[-64:]
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT encrypted_private_key, public_key FROM ledger_signingkey")
            for sealed, _public in cursor.fetchall():
                assert raw_private not in bytes(sealed)


def test_ciphertext_is_bound_to_its_kid():
    services.signing_keys_ensure()
    a, b = SigningKey.objects.all()[:2]
    wrapper = keycrypto.Wrapper.from_master_key("test-only-master-key-0123456789abcdef")
    with pytest.raises(keycrypto.KeyUnwrapError):
        wrapper.open(bytes(a.encrypted_private_key), b.kid)


def test_wrong_master_key_cannot_decrypt(settings):
    services.signing_keys_ensure()
    key = SigningKey.objects.first()
    settings.LEXECON_MASTER_KEY = "a-completely-different-master-key-000000"
    with pytest.raises(ServiceUnavailable) as raised:  # 503 at the API, never a 500
        services.signing_key_private(key)
    assert isinstance(raised.value.__cause__, keycrypto.KeyUnwrapError)


def test_t21_rotation_retires_old_keys_which_verify_but_never_sign():
    append_many(3)
    first = services.ledger_checkpoint_create()
    old_kids = set(SigningKey.objects.values_list("kid", flat=True))
    out = io.StringIO()
    call_command("rotate_keys", stdout=out)
    retired = SigningKey.objects.filter(kid__in=old_kids)
    assert {k.status for k in retired} == {"retired"}
    assert all(k.not_after is not None for k in retired)
    new_active = SigningKey.objects.filter(status="active")
    assert new_active.count() == 3
    assert not set(new_active.values_list("kid", flat=True)) & old_kids
    assert LedgerEntry.objects.filter(entry_type="keys.rotated").count() == 1
    for key in retired:
        with pytest.raises(InvalidInput, match="retired"):
            services.signing_key_private(key)
    # A new checkpoint is signed by the new keys; the old one still verifies with published keys.
    second = services.ledger_checkpoint_create()
    published = selectors.checkpoint_verifier_keys()
    assert check_checkpoint(first.note, published).trusted
    assert check_checkpoint(second.note, published).trusted
    only_new = [
        k for k in published if k.note_key in {selectors.key_note_key(key) for key in new_active}
    ]
    assert not check_checkpoint(first.note, only_new).trusted
    assert check_checkpoint(second.note, only_new).trusted
    assert selectors.ledger_verify()["valid"] is True


def test_t22_master_key_rewrap(settings, monkeypatch):
    services.signing_keys_ensure()
    before = {
        k.kid: (bytes(k.encrypted_private_key), bytes(k.public_key), private_bytes(k))
        for k in SigningKey.objects.all()
    }
    old_master = settings.LEXECON_MASTER_KEY
    settings.LEXECON_MASTER_KEY = "the-new-master-key-" + os.urandom(8).hex()
    monkeypatch.setenv("LEXECON_OLD_MASTER_KEY", old_master)
    out = io.StringIO()
    call_command("rewrap_keys", stdout=out)
    assert "re-wrapped 3 key(s)" in out.getvalue()
    old_wrapper = keycrypto.Wrapper.from_master_key(old_master)
    for key in SigningKey.objects.all():
        sealed, public, secret = before[key.kid]
        assert bytes(key.encrypted_private_key) != sealed
        assert bytes(key.public_key) == public
        assert private_bytes(key) == secret
        with pytest.raises(keycrypto.KeyUnwrapError):
            old_wrapper.open(bytes(key.encrypted_private_key), key.kid)


def test_published_keys_document_is_what_the_offline_verifier_loads(client):
    from tools.verify_bundle import load_keys

    services.signing_keys_ensure()
    document = client.get("/ledger/keys").json()
    assert {k["purpose"] for k in document["keys"]} == {"checkpoint"}
    loaded = load_keys(document)
    assert {k.algorithm for k in loaded} == {"Ed25519", "RSA-PSS-4096"}
    assert all(k["note_key"].startswith("lexecon.example/ledger+") for k in document["keys"])
