"""The capability token format (DESIGN §8) — encoding, strict parsing and claim checks, no database.

``cap_<base64url(JCS payload)>.<base64url(Ed25519 signature)>``, unpadded base64url, the signature over
the exact payload bytes. Payload ``{v, kid, jti, sub, act, res, aud, iat, nbf, exp, decision_id,
action_hash}``, times as integer Unix seconds, ``action_hash`` = hex SHA-256 of the JCS of
``{actor, action, resource}``.

Parsing is strict so that one token has exactly one spelling: the payload must be canonical JCS, only
the listed claims may appear, with the listed types. Verification order (ASVS 9.1.1): shape, then the
key chosen by ``kid`` from our own key table only (no algorithm or key material from the token), then the
signature, and only then the claims.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from tools.verify_bundle import canonical_bytes

PREFIX = "cap_"
VERSION = 1
MAX_TOKEN_LENGTH = 4096
LEEWAY_SECONDS = 60

CLAIM_TYPES: dict[str, type | tuple[type, ...]] = {
    "v": int,
    "kid": str,
    "jti": str,
    "sub": str,
    "act": str,
    "res": (str, type(None)),
    "aud": str,
    "iat": int,
    "nbf": int,
    "exp": int,
    "decision_id": str,
    "action_hash": str,
}


class Reason:
    """Distinct reason codes of ``POST /decide/verify`` (documented in docs/api.md)."""

    VALID = "valid"
    MALFORMED = "malformed"
    UNSUPPORTED_VERSION = "unsupported_version"
    UNKNOWN_KID = "unknown_kid"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    WRONG_AUDIENCE = "wrong_audience"
    REVOKED = "revoked"
    ACTION_MISMATCH = "action_mismatch"


class TokenError(Exception):
    """A token failed a check; ``reason`` is one of :class:`Reason`."""

    def __init__(self, reason: str, message: str):
        self.reason = reason
        self.message = message
        super().__init__(message)


def action_hash(*, actor: str, action: str, resource: str | None) -> str:
    """Hex SHA-256 of the JCS of ``{actor, action, resource}`` — binds a token to one action."""
    return hashlib.sha256(
        canonical_bytes({"actor": actor, "action": action, "resource": resource})
    ).hexdigest()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    if not text or not text.isascii() or "=" in text:
        raise TokenError(Reason.MALFORMED, "not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise TokenError(Reason.MALFORMED, "not base64url") from exc
    if _b64url(data) != text:
        raise TokenError(Reason.MALFORMED, "non-canonical base64url")
    return data


def encode(claims: dict[str, Any], private_key: ed25519.Ed25519PrivateKey) -> str:
    """Sign ``claims`` (all of CLAIM_TYPES, exactly) and return the token string."""
    check_claim_shape(claims)
    payload = canonical_bytes(claims)
    return f"{PREFIX}{_b64url(payload)}.{_b64url(private_key.sign(payload))}"


def check_claim_shape(claims: Any) -> None:
    if not isinstance(claims, dict) or set(claims) != set(CLAIM_TYPES):
        raise TokenError(Reason.MALFORMED, "the token does not carry exactly the expected claims")
    for name, kind in CLAIM_TYPES.items():
        value = claims[name]
        if isinstance(value, bool) or not isinstance(value, kind):
            raise TokenError(Reason.MALFORMED, f"claim {name!r} has the wrong type")


@dataclass(frozen=True)
class ParsedToken:
    payload: bytes
    signature: bytes
    claims: dict[str, Any]


def parse(token: Any) -> ParsedToken:
    """Split and decode a token without trusting anything in it yet."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or not token.startswith(PREFIX):
        raise TokenError(Reason.MALFORMED, "not a capability token")
    parts = token[len(PREFIX) :].split(".")
    if len(parts) != 2:
        raise TokenError(Reason.MALFORMED, "a token has exactly two parts")
    payload, signature = _unb64url(parts[0]), _unb64url(parts[1])
    if len(signature) != 64:
        raise TokenError(Reason.MALFORMED, "an Ed25519 signature is 64 bytes")
    try:
        claims = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise TokenError(Reason.MALFORMED, "the payload is not JSON") from exc
    check_claim_shape(claims)
    try:
        canonical = canonical_bytes(claims)
    except (TypeError, ValueError) as exc:
        raise TokenError(Reason.MALFORMED, "the payload is not canonical JSON") from exc
    if canonical != payload:
        raise TokenError(Reason.MALFORMED, "the payload is not canonical JSON")
    if claims["v"] != VERSION:
        raise TokenError(
            Reason.UNSUPPORTED_VERSION, f"token version {claims['v']} is not supported"
        )
    return ParsedToken(payload, signature, claims)


def verify_signature(parsed: ParsedToken, public_key: ed25519.Ed25519PublicKey) -> None:
    try:
        public_key.verify(parsed.signature, parsed.payload)
    except InvalidSignature as exc:
        raise TokenError(Reason.BAD_SIGNATURE, "the signature does not verify") from exc


def check_claims(
    claims: dict[str, Any],
    *,
    now: int,
    audience: str,
    actor: str | None = None,
    action: str | None = None,
    resource: str | None = None,
    check_action: bool = False,
) -> None:
    """Time window (± ``LEEWAY_SECONDS``), audience, and — when asked — the bound action."""
    if claims["aud"] != audience:
        raise TokenError(Reason.WRONG_AUDIENCE, "the token is for another audience")
    if now + LEEWAY_SECONDS < claims["nbf"]:
        raise TokenError(Reason.NOT_YET_VALID, "the token is not valid yet")
    if now - LEEWAY_SECONDS >= claims["exp"]:
        raise TokenError(Reason.EXPIRED, "the token has expired")
    if check_action:
        presented = action_hash(
            actor=actor if actor is not None else claims["sub"],
            action=action if action is not None else "",
            resource=resource,
        )
        if presented != claims["action_hash"]:
            raise TokenError(Reason.ACTION_MISMATCH, "the token was issued for another action")
