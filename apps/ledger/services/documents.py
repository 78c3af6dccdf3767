"""Signed documents (the original Lexecon's audit packet): RSA-4096 PSS over canonical JSON.

The signature uses the ledger's active RSA checkpoint key, over ``DOCUMENT_CONTEXT`` followed by
the document's canonical JSON. Those bytes are never a checkpoint note (a note's second line is
the tree size in decimal, a document's starts with ``{``), so a document signature can never be
taken for a checkpoint signature, nor the reverse. A
document names the ``key_id`` that signed it; a rotated (retired) key still verifies what it
signed. ADR 0032.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import timezone

from apps.ledger import keys as keycrypto
from apps.ledger.models import SigningKey
from apps.ledger.notes import rsa_pss_padding
from apps.ledger.services import signing

DOCUMENT_CONTEXT = b"lexecon-signed-document-v1\n"
ALGORITHM = "RSA-PSS-SHA256"


def canonical(document: Any) -> bytes:
    """The bytes a document signature covers (sorted keys, no spaces, UTF-8)."""
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode("utf-8")


def _pem(public_key: Any) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def _active_key() -> SigningKey:
    return signing.active_signing_key(
        purpose=SigningKey.Purpose.CHECKPOINT, algorithm=SigningKey.Algorithm.RSA_PSS_4096
    )


def document_public_key() -> dict[str, Any]:
    """The public half of the key that signs documents now, as PEM, with its SHA-256 fingerprint."""
    key = _active_key()
    public = keycrypto.load_public(key.public_key)
    pem = _pem(public)
    return {
        "key_id": key.kid,
        "public_key_pem": pem,
        "fingerprint": hashlib.sha256(pem.encode("ascii")).hexdigest(),
        "algorithm": ALGORITHM,
        "key_size": public.key_size,  # type: ignore[union-attr]
    }


def document_sign(document: dict[str, Any]) -> dict[str, Any]:
    """``signature_info`` for ``document``: algorithm, key id, fingerprint, signature, time."""
    key = _active_key()
    private = signing.signing_key_private(key)
    if not isinstance(private, rsa.RSAPrivateKey):
        raise TypeError(f"{key.kid} is not an RSA key")
    signature = private.sign(
        DOCUMENT_CONTEXT + canonical(document), rsa_pss_padding(), hashes.SHA256()
    )
    pem = _pem(private.public_key())
    return {
        "algorithm": ALGORITHM,
        "key_id": key.kid,
        "public_key_fingerprint": hashlib.sha256(pem.encode("ascii")).hexdigest(),
        "signature": base64.b64encode(signature).decode("ascii"),
        "signed_at": timezone.now().isoformat().replace("+00:00", "Z"),
    }


def document_verify(document: dict[str, Any], signature_info: Any) -> tuple[bool, str]:
    """Check ``signature_info`` over ``document``: ``(valid, why)``. Fails closed on anything
    malformed, an unknown key, another algorithm, or a key that is not an RSA document key."""
    if not isinstance(signature_info, dict):
        return False, "signature_info is missing or not an object"
    if signature_info.get("algorithm") != ALGORITHM:
        return False, f"unsupported algorithm; documents are signed with {ALGORITHM}"
    key = SigningKey.objects.filter(
        kid=str(signature_info.get("key_id", "")),
        purpose=SigningKey.Purpose.CHECKPOINT,
        algorithm=SigningKey.Algorithm.RSA_PSS_4096,
    ).first()
    if key is None:
        return False, "unknown signing key"
    try:
        signature = base64.b64decode(str(signature_info.get("signature", "")), validate=True)
    except (binascii.Error, ValueError):
        return False, "signature is not base64"
    public = keycrypto.load_public(key.public_key)
    if not isinstance(public, rsa.RSAPublicKey):
        return False, "unknown signing key"
    try:
        public.verify(
            signature, DOCUMENT_CONTEXT + canonical(document), rsa_pss_padding(), hashes.SHA256()
        )
    except InvalidSignature:
        return False, "signature does not match the document"
    return True, "signature valid"
