"""Issue, verify and revoke capability tokens (format in ``apps.tokens.format``)."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.conf import settings
from django.db import transaction

from apps.core.exceptions import InvalidInput
from apps.core.ids import uuid7
from apps.ledger import events
from apps.ledger import services as ledger
from apps.ledger.entry_types import EntryType
from apps.ledger.keys import load_public
from apps.ledger.models import SigningKey
from apps.tokens import format as token_format
from apps.tokens.format import Reason, TokenError
from apps.tokens.models import RevokedToken

# The active signing key is re-read at most this often per process; a rotation takes effect within it.
ACTIVE_KEY_TTL_SECONDS = 5.0
_active: dict[str, Any] = {"expires": 0.0, "kid": None, "private": None}
_public_keys: dict[str, ed25519.Ed25519PublicKey] = {}


@dataclass(frozen=True)
class IssuedToken:
    token: str
    claims: dict[str, Any]


@dataclass(frozen=True)
class Verification:
    valid: bool
    reason: str
    message: str
    claims: dict[str, Any] | None


def _signing_key() -> tuple[str, Any]:
    now = time.monotonic()
    if _active["private"] is None or now >= _active["expires"]:
        key = ledger.active_signing_key(
            purpose=SigningKey.Purpose.TOKEN, algorithm=SigningKey.Algorithm.ED25519
        )
        _active.update(
            kid=key.kid,
            private=ledger.signing_key_private(key),
            expires=now + ACTIVE_KEY_TTL_SECONDS,
        )
    return _active["kid"], _active["private"]


def forget_cached_keys() -> None:
    """Drop cached keys (after a rotation in this process, and between tests)."""
    _active.update(expires=0.0, kid=None, private=None)
    _public_keys.clear()


def token_issue(
    *,
    decision_id: str,
    actor: str,
    action: str,
    resource: str | None,
    now: int | None = None,
    lifetime: int | None = None,
) -> IssuedToken:
    """Mint a token for exactly this actor/action/resource, valid ``LEXECON_TOKEN_LIFETIME_SECONDS``."""
    kid, private = _signing_key()
    issued_at = int(time.time()) if now is None else now
    lifetime = settings.LEXECON_TOKEN_LIFETIME_SECONDS if lifetime is None else lifetime
    claims = {
        "v": token_format.VERSION,
        "kid": kid,
        "jti": uuid7().hex,  # 32 hex digits as before; time-ordered for the unique index
        "sub": actor,
        "act": action,
        "res": resource,
        "aud": settings.LEXECON_ORIGIN,
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + lifetime,
        "decision_id": decision_id,
        "action_hash": token_format.action_hash(actor=actor, action=action, resource=resource),
    }
    return IssuedToken(token_format.encode(claims, private), claims)


# What a decision's ``signature`` signs (docs/compat.md): this prefix, then the decision's ledger
# entry hash as 64 lower-case hex digits, ASCII. The prefix keeps it apart from token payloads,
# which the same key signs and which are JSON objects.
DECISION_SIGNATURE_PREFIX = b"lexecon-decision-signature:v1:"


@dataclass(frozen=True)
class DecisionSignature:
    kid: str
    signature: str  # standard base64 of the 64-byte Ed25519 signature


def decision_signature(*, ledger_entry_hash: str) -> DecisionSignature:
    """Sign a decision's ledger entry hash with the active token key (published at
    ``/tokens/keys``). Ed25519 is deterministic: the same hash and key give the same signature, so
    a replayed answer carries the same one until the key is rotated."""
    kid, private = _signing_key()
    signature = private.sign(DECISION_SIGNATURE_PREFIX + ledger_entry_hash.encode("ascii"))
    return DecisionSignature(kid, base64.b64encode(signature).decode("ascii"))


def token_claims(token: str) -> dict[str, Any]:
    """The claims of a token we issued (parsed, not verified: for display only)."""
    return token_format.parse(token).claims


def decision_signature_valid(*, ledger_entry_hash: str, kid: str, signature: str) -> bool:
    """Whether ``signature`` is ours over ``ledger_entry_hash`` by the token key ``kid``."""
    try:
        public = _public_key(kid)
        public.verify(
            base64.b64decode(signature, validate=True),
            DECISION_SIGNATURE_PREFIX + ledger_entry_hash.encode("ascii"),
        )
    except (TokenError, InvalidSignature, ValueError, UnicodeEncodeError):
        return False
    return True


def _public_key(kid: str) -> ed25519.Ed25519PublicKey:
    key = _public_keys.get(kid)
    if key is None:
        row = SigningKey.objects.filter(kid=kid, purpose=SigningKey.Purpose.TOKEN).first()
        if row is None:
            raise TokenError(Reason.UNKNOWN_KID, "the token names a key we never issued")
        loaded = load_public(row.public_key)
        if not isinstance(loaded, ed25519.Ed25519PublicKey):  # token keys are Ed25519 only
            raise TokenError(Reason.UNKNOWN_KID, "the token names a key that is not a token key")
        key = _public_keys[kid] = loaded
    return key


def token_verify(
    *,
    token: Any,
    actor: str | None = None,
    action: str | None = None,
    resource: str | None = None,
    check_action: bool = False,
    now: int | None = None,
) -> Verification:
    """Check a presented token; never raises for a bad token, answers with a reason code."""
    parsed = None
    try:
        parsed = token_format.parse(token)
        token_format.verify_signature(parsed, _public_key(parsed.claims["kid"]))
        token_format.check_claims(
            parsed.claims,
            now=int(time.time()) if now is None else now,
            audience=settings.LEXECON_ORIGIN,
            actor=actor,
            action=action,
            resource=resource,
            check_action=check_action,
        )
        if RevokedToken.objects.filter(jti=parsed.claims["jti"]).exists():
            raise TokenError(Reason.REVOKED, "the token has been revoked")
    except TokenError as exc:
        return Verification(False, exc.reason, exc.message, parsed.claims if parsed else None)
    return Verification(True, Reason.VALID, "the token is valid", parsed.claims)


@transaction.atomic
def token_revoke(
    *, jti: str, reason: str, actor: dict[str, Any], expires_at: int | None = None
) -> RevokedToken:
    """Add ``jti`` to the revocation list (idempotent) and record it in the ledger.

    ``reason`` is the stated cause, recorded in clear as the entry's ``reason`` (callers pass short
    cause texts, not a person's free text)."""
    if not jti or len(jti) > 64:
        raise InvalidInput("A token id (jti) is required.")
    existing = RevokedToken.objects.filter(jti=jti).first()
    if existing is not None:
        return existing
    appended = ledger.ledger_append(
        entry_type=EntryType.TOKEN_REVOKED,
        payload={
            **events.envelope(actor=actor, subject_type="token", subject_id=jti, reason=reason),
            "jti": jti,
        },
    )
    return RevokedToken.objects.create(
        jti=jti,
        reason=reason,
        revoked_by=actor["label"],
        expires_at=datetime.fromtimestamp(expires_at, UTC) if expires_at else None,
        ledger_seq=appended.seq,
    )
