"""Checkpoint notes: building the C2SP tlog-checkpoint text, signing it, and key identifiers.

What: the *producing* half of signed checkpoints. The note text is
``<origin>\\n<tree size>\\n<base64 root>\\n`` plus optional extension lines; the signed note
is the text, a blank line, and one line per signature: em dash (U+2014), space, key name,
space, ``base64(4-byte key ID || signature)``, newline.

- Ed25519 (required): signature over the text bytes; key ID =
  ``SHA-256(name || 0x0a || 0x01 || 32-byte public key)[:4]``; verifier key ``note_key`` =
  ``<name>+<key ID hex>+<base64(0x01 || public key)>``, the form Go's
  ``golang.org/x/mod/sumdb/note`` accepts.
- RSA-4096 PSS (second signature; SHA-256, MGF1-SHA-256, maximum salt length): key material
  ``0xff || b"lexecon/rsa-pss-sha256" || DER SubjectPublicKeyInfo``. C2SP signed-note reserves
  type 0xff for signature types without an assigned byte and recommends a longer identifier
  after it; the key ID follows the same recommended rule over that material. Go's note package
  does not know this type and ignores such lines as unknown keys, which the spec requires.

Why split from verification: parsing and verifying (and the format constants) live in
``tools/verify_bundle.py`` so the standalone verifier shipped to auditors is the same code;
this module imports them and adds only what needs private keys. Formats for outside auditors:
``docs/ledger-formats.md``.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from tools.verify_bundle import (
    ALGORITHM_ED25519,
    ALGORITHM_RSA_PSS,
    ED25519_KEY_TYPE,
    HASH_SIZE,
    NOTE_SIGNATURE_PREFIX,
    RSA_MIN_BITS,
    RSA_PSS_KEY_TYPE,
    NoteFormatError,
    is_valid_key_name,
    note_key_id,
    parse_checkpoint,
    parse_signed_note,
    rsa_pss_padding,
)

__all__ = [
    "NoteSigner",
    "build_checkpoint_text",
    "ed25519_key_material",
    "key_id",
    "note_key",
    "note_key_ed25519",
    "note_key_rsa",
    "rsa_key_material",
    "sign_checkpoint",
    "sign_note",
]

PrivateKey = ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
PublicKey = ed25519.Ed25519PublicKey | rsa.RSAPublicKey


def build_checkpoint_text(
    origin: str, size: int, root: bytes, extensions: Sequence[str] = ()
) -> str:
    """Return checkpoint note text; raise ``NoteFormatError`` if it would not parse back.

    Why parse back: a checkpoint we sign must be one every verifier accepts, so the strict
    parser of the standalone verifier is the single definition of "well formed".
    """
    if type(size) is not int or size < 0:
        raise NoteFormatError("tree size must be a non-negative int")
    if not isinstance(root, bytes) or len(root) != HASH_SIZE:
        raise NoteFormatError("root must be 32 bytes")
    lines = [origin, str(size), base64.b64encode(root).decode("ascii"), *extensions]
    if any(not isinstance(line, str) or "\n" in line for line in lines):
        raise NoteFormatError("origin and extension lines must be strings without newlines")
    text = "".join(line + "\n" for line in lines)
    parsed = parse_checkpoint(text)
    if (parsed.origin, parsed.size, parsed.root) != (origin, size, root):
        raise NoteFormatError("checkpoint text does not round-trip")
    return text


def ed25519_key_material(public_key: ed25519.Ed25519PublicKey) -> bytes:
    """Signed-note key material of an Ed25519 key: ``0x01 || 32-byte raw public key``."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return ED25519_KEY_TYPE + raw


def rsa_key_material(public_key: rsa.RSAPublicKey) -> bytes:
    """Signed-note key material of an RSA-PSS key: ``RSA_PSS_KEY_TYPE || DER SPKI``."""
    if public_key.key_size < RSA_MIN_BITS:
        raise ValueError(f"RSA checkpoint keys must have >= {RSA_MIN_BITS} bits")
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return RSA_PSS_KEY_TYPE + der


def _key_material(public_key: PublicKey) -> bytes:
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return ed25519_key_material(public_key)
    if isinstance(public_key, rsa.RSAPublicKey):
        return rsa_key_material(public_key)
    raise TypeError("checkpoint keys are Ed25519 or RSA")


def key_id(name: str, public_key: PublicKey) -> bytes:
    """The 4-byte key ID ("key hash") a signature line of this key carries."""
    if not is_valid_key_name(name):
        raise NoteFormatError("key names must be non-empty, without spaces or '+'")
    return note_key_id(name, _key_material(public_key))


def note_key(name: str, public_key: PublicKey) -> str:
    """Verifier key string ``<name>+<key ID hex>+<base64(key material)>`` for either type."""
    material = _key_material(public_key)
    identifier = key_id(name, public_key)
    return f"{name}+{identifier.hex()}+{base64.b64encode(material).decode('ascii')}"


def note_key_ed25519(name: str, public_key: ed25519.Ed25519PublicKey) -> str:
    """Ed25519 verifier key, identical to Go's ``note.NewEd25519VerifierKey(name, key)``."""
    if not isinstance(public_key, ed25519.Ed25519PublicKey):
        raise TypeError("expected an Ed25519 public key")
    return note_key(name, public_key)


def note_key_rsa(name: str, public_key: rsa.RSAPublicKey) -> str:
    """RSA-PSS verifier key (our 0xff type; see the module docstring)."""
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise TypeError("expected an RSA public key")
    return note_key(name, public_key)


@dataclass(frozen=True)
class NoteSigner:
    """A named private key that signs note text (Ed25519, or RSA-PSS for the second line)."""

    name: str
    private_key: PrivateKey = field(repr=False)

    def __post_init__(self) -> None:
        """Reject invalid names and keys early, before any note is produced."""
        key_id(self.name, self.private_key.public_key())

    @property
    def algorithm(self) -> str:
        """``Ed25519`` or ``RSA-PSS-4096``, as published in ``GET /ledger/keys``."""
        if isinstance(self.private_key, ed25519.Ed25519PrivateKey):
            return ALGORITHM_ED25519
        return ALGORITHM_RSA_PSS

    @property
    def note_key(self) -> str:
        """The verifier key string that checks this signer's signatures."""
        return note_key(self.name, self.private_key.public_key())

    def sign(self, text: bytes) -> bytes:
        """Raw signature over the note text bytes."""
        if isinstance(self.private_key, ed25519.Ed25519PrivateKey):
            return self.private_key.sign(text)
        return self.private_key.sign(text, rsa_pss_padding(), hashes.SHA256())

    def signature_line(self, text: str) -> str:
        """One signature line, newline included: em dash, space, name, space, base64 blob."""
        blob = key_id(self.name, self.private_key.public_key()) + self.sign(text.encode("utf-8"))
        encoded = base64.b64encode(blob).decode("ascii")
        return f"{NOTE_SIGNATURE_PREFIX}{self.name} {encoded}\n"


def sign_note(text: str, signers: Sequence[NoteSigner]) -> str:
    """Return the signed note: ``text``, a blank line, one signature line per signer, in order.

    The result is parsed back with the strict verifier parser, so a note this function returns
    is always well formed (text ends in newline, no control characters, valid names).
    """
    if not signers:
        raise NoteFormatError("a signed note needs at least one signature")
    if not text.endswith("\n"):
        raise NoteFormatError("note text must end in a newline")
    signed = text + "\n" + "".join(signer.signature_line(text) for signer in signers)
    if parse_signed_note(signed).text != text:  # raises first for control characters etc.
        raise NoteFormatError("signed note does not round-trip")
    return signed


def sign_checkpoint(
    origin: str,
    size: int,
    root: bytes,
    signers: Sequence[NoteSigner],
    extensions: Sequence[str] = (),
) -> str:
    """Build and sign a checkpoint (Ed25519 signer first, then the RSA-PSS signer)."""
    if not any(signer.algorithm == ALGORITHM_ED25519 for signer in signers):
        raise NoteFormatError("checkpoints require an Ed25519 signature")
    return sign_note(build_checkpoint_text(origin, size, root, extensions), signers)
