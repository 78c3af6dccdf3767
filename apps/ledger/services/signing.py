"""Signing keys: generated at first use, sealed under the master key, rotated (a ledger entry), re-wrapped."""

from __future__ import annotations

import logging
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.principals import system_actor
from apps.core.exceptions import InvalidInput, ServiceUnavailable
from apps.ledger import events
from apps.ledger import keys as keycrypto
from apps.ledger.entry_types import EntryType
from apps.ledger.models import SigningKey
from apps.ledger.services import append

logger = logging.getLogger("lexecon.ledger")


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
    append.ledger_append(
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
