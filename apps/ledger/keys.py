"""Key material: generation, and AES-GCM wrapping of private keys under ``LEXECON_MASTER_KEY``.

The master key never touches the database. A 256-bit wrapping key is derived from it with HKDF-SHA256;
each private key (PKCS#8 DER) is sealed with AES-256-GCM under a fresh 96-bit nonce, with the key's
``kid`` as associated data so a ciphertext cannot be moved to another key row. ``master_key_id`` (a
short hash of the wrapping key) records which master key sealed a row, for re-wrapping.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_SIZE = 12
_HKDF_INFO = b"lexecon/signing-keys/v1"

# The two algorithms signing keys use (``Ed25519`` for tokens and notes, ``RSA-PSS-4096`` for notes).
PrivateKey = ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
PublicKey = ed25519.Ed25519PublicKey | rsa.RSAPublicKey


class KeyUnwrapError(Exception):
    """The stored private key could not be decrypted (wrong master key or tampered row)."""


@dataclass(frozen=True)
class Wrapper:
    """AES-GCM sealing under a key derived from one master key."""

    key: bytes

    @classmethod
    def from_master_key(cls, master_key: str) -> Wrapper:
        if not master_key:
            raise ValueError("the master key is empty")
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
            master_key.encode()
        )
        return cls(derived)

    @property
    def key_id(self) -> str:
        return hashlib.sha256(b"lexecon/master-key-id|" + self.key).hexdigest()[:16]

    def seal(self, plaintext: bytes, kid: str) -> bytes:
        nonce = os.urandom(NONCE_SIZE)
        return nonce + AESGCM(self.key).encrypt(nonce, plaintext, kid.encode())

    def open(self, sealed: bytes | memoryview, kid: str) -> bytes:
        data = bytes(sealed)  # a BinaryField reads back as memoryview on PostgreSQL
        try:
            return AESGCM(self.key).decrypt(data[:NONCE_SIZE], data[NONCE_SIZE:], kid.encode())
        except (InvalidTag, ValueError) as exc:
            raise KeyUnwrapError(f"cannot decrypt the private key of {kid}") from exc


def generate(algorithm: str) -> PrivateKey:
    """Generate a private key object for ``Ed25519`` or ``RSA-PSS-4096``."""
    if algorithm == "Ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if algorithm == "RSA-PSS-4096":
        return rsa.generate_private_key(public_exponent=65537, key_size=4096)
    raise ValueError(f"unknown algorithm {algorithm!r}")


def private_der(private_key: PrivateKey) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_der(private_key: PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_private(der: bytes) -> PrivateKey:
    """Load a private key we generated and sealed ourselves.

    RSA validation (~0.2 s for 4096 bits) is skipped: the DER comes out of an AES-GCM envelope
    that authenticates it, so it is exactly the key ``generate`` produced.
    """
    key = serialization.load_der_private_key(
        der, password=None, unsafe_skip_rsa_key_validation=True
    )
    if not isinstance(key, ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey):
        raise ValueError(f"unsupported private key type {type(key).__name__}")
    return key


def load_public(der: bytes | memoryview) -> PublicKey:
    key = serialization.load_der_public_key(bytes(der))
    if not isinstance(key, ed25519.Ed25519PublicKey | rsa.RSAPublicKey):
        raise ValueError(f"unsupported public key type {type(key).__name__}")
    return key
