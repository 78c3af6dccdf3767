#!/usr/bin/env python3
"""Standalone verifier for Lexecon ledger bundles, and the one implementation of ledger verification.

What: this single file checks an exported ledger bundle with public keys only, and it is also the
module the Django app imports for every *verification* algorithm, so that the code an outside
auditor runs is byte for byte the code the server runs (nothing is written twice):

- canonical entry bytes (RFC 8785 JCS, with a fast path proven identical), entry hash, RFC 9162
  leaf and node hashing, and a compact range that folds leaves into the tree root in O(log n)
  memory;
- RFC 9162 section 2.1.3.2 inclusion and section 2.1.4.2 consistency verification, which never
  raise and answer ``False`` for any malformed input;
- strict parsing of C2SP signed notes and tlog checkpoints, verifier keys (``note_key``) in the
  form Go's ``golang.org/x/mod/sumdb/note`` uses, and signature checks for Ed25519 and for the
  RSA-4096 PSS second signature;
- a streaming chain verifier (bounded memory, used by ``GET /ledger/verify`` on rows streamed
  from the database) and the bundle loader and command line interface;
- the evidence package verifier (``verify_package``): the signed manifest, every file's hash and
  size, each entry against its inclusion proof and the package checkpoint, the consistency proof,
  the evidence against its ledger entries (``docs/evidence-package.md``, ADR 0027).

Why here: an evidence package ships this file on its own, so it may import only the standard
library, ``cryptography`` and ``rfc8785`` (no Django, nothing from ``apps``). Proof *generation*
and note *signing* live in ``apps/ledger/merkle.py`` and ``apps/ledger/notes.py`` and import
their primitives from here. Every format is described in ``docs/ledger-formats.md``.

Signature type for RSA: C2SP signed-note assigns type byte 0x01 to Ed25519 and reserves 0xff
for "signature types without an identifier byte assigned by this specification", recommending
that a longer identifier follow it. Our RSA-PSS key material is therefore
``0xff || b"lexecon/rsa-pss-sha256" || DER SubjectPublicKeyInfo`` (``RSA_PSS_KEY_TYPE``), and
its key ID is ``SHA-256(key name || 0x0a || key material)[:4]``, the recommended rule. It
cannot collide with 0x01..0x05 or the 0xfa..0xfe reserved range.

Command line: ``python tools/verify_bundle.py BUNDLE [--json] [--origin ORIGIN] [--key KEY]``;
``BUNDLE`` is a ledger bundle, or an evidence package (a ZIP, or a directory with
``manifest.json``); exit code 0 when it verifies, 1 when it does not, 2 when the input is unusable.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import itertools
import json
import re
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TypeGuard

import rfc8785
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

# ---------------------------------------------------------------------------------------------
# Canonical entry bytes and hashing
# ---------------------------------------------------------------------------------------------

#: The five fields that make up an entry's canonical bytes, in no particular order (JCS sorts).
ENTRY_FIELDS = ("seq", "entry_type", "timestamp", "payload", "prev_hash")
#: ``prev_hash`` of the genesis entry (seq 0).
GENESIS_PREV_HASH = "0" * 64
#: Size in bytes of every SHA-256 hash in the tree.
HASH_SIZE = 32
#: Root of the empty tree, RFC 9162 section 2.1.1: SHA-256 of the empty string.
EMPTY_ROOT = hashlib.sha256(b"").digest()
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"

# I-JSON / RFC 8785 integers must be exactly representable as IEEE 754 doubles; rfc8785 rejects
# anything outside +-(2**53 - 1), and the fast path must fall back to it (and so raise) there.
_MAX_SAFE_INTEGER = 2**53 - 1
_JSON_ENCODER = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
)
# A UTF-8 lead byte of a 4-byte sequence, i.e. a character outside the Basic Multilingual Plane.
_ASTRAL_UTF8 = re.compile(rb"[\xf0-\xff]")
_sha256 = hashlib.sha256


_UNSAFE = object()
# Floats whose Python repr is positional notation: there the repr digits and layout are exactly
# ECMAScript's Number::toString (RFC 8785 section 3.2.2.3), both being the shortest round-trip form.
_FLOAT_FAST_MIN, _FLOAT_FAST_MAX = 1e-4, 1e16


def _fast_form(value: object) -> object:
    """``value`` in a form ``json`` (sorted keys) renders as its JCS bytes, or ``_UNSAFE``.

    The standard library encoder matches RFC 8785 byte for byte for exact ``dict``/``list``/
    ``tuple``/``str``/``bool``/``None``, for ``int`` inside the double-safe range (JCS string
    escaping is what ``json`` emits with ``ensure_ascii=False``) and for non-integral floats with
    1e-4 <= |x| < 1e16, where ``repr`` is positional and equals ECMAScript's form. Integral floats
    inside the safe range are rendered as the equal ``int`` (JCS writes ``70.0`` as ``70``), and
    zero of either sign as ``0``; containers holding them are copied. Everything else — other
    floats (exponent notation differs), large integers (JCS rejects them), non-string keys
    (``json`` coerces them, JCS rejects them) and subclasses — is ``_UNSAFE``. Characters
    outside the BMP and lone surrogates are checked on the output in ``canonical_bytes``.
    """
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is int:
        return value if -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER else _UNSAFE
    if kind is float:
        if value.is_integer():
            return int(value) if -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER else _UNSAFE
        magnitude = abs(value)  # NaN and infinities fail both comparisons below
        return value if _FLOAT_FAST_MIN <= magnitude < _FLOAT_FAST_MAX else _UNSAFE
    if kind is dict:
        copy = None
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is not str:
                return _UNSAFE
            form = _fast_form(item)
            if form is _UNSAFE:
                return _UNSAFE
            if form is not item:
                if copy is None:
                    copy = dict(value)  # type: ignore[call-overload]
                copy[key] = form
        return value if copy is None else copy
    if kind is list or kind is tuple:
        items = None
        for index, item in enumerate(value):  # type: ignore[call-overload]
            form = _fast_form(item)
            if form is _UNSAFE:
                return _UNSAFE
            if form is not item:
                if items is None:
                    items = list(value)  # type: ignore[call-overload]
                items[index] = form
        return value if items is None else items
    return _UNSAFE


def _fast_path_safe(value: object) -> bool:
    """Tell whether the fast path may render ``value`` (see ``_fast_form``)."""
    return _fast_form(value) is not _UNSAFE


def canonical_bytes(value: object) -> bytes:
    """Return the RFC 8785 (JCS) serialisation of ``value``.

    Why two paths: ``rfc8785.dumps`` costs about 20 us per typical entry, the C ``json``
    encoder about 4 us, and verification of a million entries is dominated by this step. The
    fast path is used only when ``_fast_form`` accepts the value and the output contains neither a
    lone surrogate (UTF-8 encoding fails) nor a non-BMP character (JCS sorts keys by UTF-16
    code units, ``json`` by code points; they differ only for such characters). Otherwise the
    reference implementation decides, including raising ``ValueError``
    (``rfc8785.CanonicalizationError``) for values JCS cannot represent. A Hypothesis property
    test proves both paths byte-identical to ``rfc8785.dumps``.
    """
    form = _fast_form(value)
    if form is not _UNSAFE:
        text = _JSON_ENCODER.encode(form)
        if text.isascii():
            return text.encode("ascii")
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:
            pass  # lone surrogate: let rfc8785 raise its own error
        else:
            if _ASTRAL_UTF8.search(data) is None:
                return data
    # Any object may reach here: rfc8785 raises CanonicalizationError for non-JSON values.
    return rfc8785.dumps(value)  # type: ignore[arg-type]


def _entry_object(
    seq: object, entry_type: object, timestamp: object, payload: object, prev_hash: object
) -> dict[str, object]:
    """Build the exact five-field object whose JCS bytes are an entry's canonical bytes."""
    return {
        "seq": seq,
        "entry_type": entry_type,
        "timestamp": timestamp,
        "payload": payload,
        "prev_hash": prev_hash,
    }


def canonical_entry_bytes(entry: Mapping[str, Any]) -> bytes:
    """Return the canonical bytes of a ledger entry: JCS of exactly the five ``ENTRY_FIELDS``.

    Other keys (``entry_hash``, database ids) are ignored; a missing field raises ``KeyError``.
    """
    return canonical_bytes(
        _entry_object(
            entry["seq"],
            entry["entry_type"],
            entry["timestamp"],
            entry["payload"],
            entry["prev_hash"],
        )
    )


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash ``SHA-256(0x00 || data)``; ``data`` is an entry's canonical bytes."""
    return _sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash ``SHA-256(0x01 || left || right)``."""
    return _sha256(NODE_PREFIX + left + right).digest()


def entry_hash(entry: Mapping[str, Any]) -> str:
    """Return ``entry_hash``: lowercase hex SHA-256 of the entry's canonical bytes."""
    return _sha256(canonical_entry_bytes(entry)).hexdigest()


def entry_hashes(entry: Mapping[str, Any]) -> tuple[str, bytes]:
    """Return ``(entry_hash hex, Merkle leaf hash)`` from a single canonicalisation.

    Why: appending an entry needs both, and canonicalisation is the expensive step.
    """
    data = canonical_entry_bytes(entry)
    return _sha256(data).hexdigest(), leaf_hash(data)


# ---------------------------------------------------------------------------------------------
# RFC 9162 Merkle tree: compact range and proof verification
# ---------------------------------------------------------------------------------------------


class CompactRange:
    """The roots of the perfect subtrees that cover leaves ``[0, size)``, left to right.

    What: a tree of size n is the concatenation of perfect subtrees whose sizes are the set bits
    of n (largest first); appending a leaf merges equal-sized subtrees like a binary counter, so
    the range holds at most 64 hashes and yields the RFC 9162 root at any size in O(log n).
    Why: the streaming verifier recomputes roots of a million entries in bounded memory, and the
    database layer uses ``append(..., completed=...)`` to learn which perfect-subtree nodes to
    store and ``from_peaks`` to resume from stored nodes.
    """

    __slots__ = ("_peaks", "_size")

    def __init__(self) -> None:
        self._peaks: list[bytes] = []
        self._size = 0

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    @property
    def peaks(self) -> tuple[bytes, ...]:
        """Perfect-subtree roots, largest (leftmost) first; positions from ``peak_positions``."""
        return tuple(self._peaks)

    @staticmethod
    def peak_positions(size: int) -> list[tuple[int, int]]:
        """Return ``(level, index)`` of the perfect subtrees covering ``[0, size)``, left first.

        Level 0 is a leaf; the subtree at ``(level, index)`` covers leaves
        ``[index * 2**level, (index + 1) * 2**level)``.
        """
        if type(size) is not int or size < 0:
            raise ValueError("size must be a non-negative int")
        positions = []
        start = 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                positions.append((level, start >> level))
                start += 1 << level
        return positions

    @classmethod
    def from_peaks(cls, size: int, peaks: Sequence[bytes]) -> CompactRange:
        """Rebuild a range of ``size`` leaves from its peak hashes (in ``peak_positions`` order)."""
        if len(peaks) != len(cls.peak_positions(size)):
            raise ValueError("peak count does not match size")
        if any(type(peak) is not bytes or len(peak) != HASH_SIZE for peak in peaks):
            raise ValueError("peaks must be 32-byte hashes")
        compact = cls()
        compact._peaks = list(peaks)
        compact._size = size
        return compact

    def append(self, leaf: bytes, completed: list[tuple[int, int, bytes]] | None = None) -> None:
        """Append one leaf hash; optionally record every perfect subtree this append completes.

        Each completed subtree is added to ``completed`` as ``(level, index, hash)`` with
        level >= 1 (the leaf itself, level 0, is not repeated).
        """
        peaks = self._peaks
        value = leaf
        count = self._size
        level = 0
        while count & 1:
            value = node_hash(peaks.pop(), value)
            count >>= 1
            level += 1
            if completed is not None:
                completed.append((level, count, value))
        peaks.append(value)
        self._size += 1

    def root(self) -> bytes:
        """Return the RFC 9162 root hash of the leaves appended so far (empty tree included)."""
        peaks = self._peaks
        if not peaks:
            return EMPTY_ROOT
        value = peaks[-1]
        for peak in reversed(peaks[:-1]):
            value = node_hash(peak, value)
        return value


def _is_hash(value: object) -> TypeGuard[bytes | bytearray]:
    return (type(value) is bytes or type(value) is bytearray) and len(value) == HASH_SIZE


def _is_size(value: object) -> TypeGuard[int]:
    return type(value) is int and value >= 0


def _hash_list(proof: object) -> list[bytes] | None:
    """Return the proof as a list of 32-byte hashes, or ``None`` if it is anything else."""
    if type(proof) is not list and type(proof) is not tuple:
        return None
    path = []
    for item in proof:
        if not _is_hash(item):
            return None
        path.append(bytes(item))
    return path


def verify_inclusion(
    leaf: object, index: object, size: object, proof: object, root: object
) -> bool:
    """Check an RFC 9162 section 2.1.3.2 inclusion proof; never raises.

    ``leaf`` is the leaf hash (32 bytes), ``proof`` a list of 32-byte hashes, ``root`` the
    expected root of the tree of ``size`` leaves. Returns ``False`` for any malformed input
    (wrong types, bad lengths, negative or out-of-range numbers), for a proof that is too short
    or too long (every element must be consumed and ``sn`` must reach 0), and for a mismatch.
    """
    if not (_is_hash(leaf) and _is_hash(root) and _is_size(index) and _is_size(size)):
        return False
    if index >= size:
        return False
    path = _hash_list(proof)
    if path is None:
        return False
    fn, sn = index, size - 1
    value = bytes(leaf)
    sha256, prefix = _sha256, NODE_PREFIX  # node_hash, inlined: this loop runs per proof level
    for sibling in path:
        if sn == 0:
            return False  # more proof elements than the path has levels
        if fn & 1 or fn == sn:
            value = sha256(prefix + sibling + value).digest()
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            value = sha256(prefix + value + sibling).digest()
        fn >>= 1
        sn >>= 1
    return sn == 0 and value == root


def verify_consistency(
    size1: object, size2: object, proof: object, root1: object, root2: object
) -> bool:
    """Check an RFC 9162 section 2.1.4.2 consistency proof; never raises.

    Proves that the tree of ``size1`` leaves with ``root1`` is a prefix of the tree of ``size2``
    leaves with ``root2``. Returns ``False`` for ``size1 == 0`` (a proof from the empty tree is
    meaningless), ``size1 > size2``, an empty proof when sizes differ, a non-empty proof when
    they are equal, malformed values, unconsumed or missing proof elements (``sn`` must reach
    0, which also proves the proof covers ``size2``), or a mismatch of either root. Equal sizes
    verify exactly when the roots are equal bytes (as transparency-dev/merkle does).
    """
    if not (_is_size(size1) and _is_size(size2)):
        return False
    path = _hash_list(proof)
    if path is None or size1 == 0 or size1 > size2:
        return False
    if size1 == size2:
        return (
            not path
            and (type(root1) is bytes or type(root1) is bytearray)
            and (type(root2) is bytes or type(root2) is bytearray)
            and root1 == root2
        )
    if not path or not _is_hash(root1) or not _is_hash(root2):
        return False
    if size1 & (size1 - 1) == 0:
        path.insert(0, bytes(root1))
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    first_root = second_root = path[0]
    for sibling in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            first_root = node_hash(sibling, first_root)
            second_root = node_hash(sibling, second_root)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            second_root = node_hash(second_root, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and first_root == root1 and second_root == root2


# ---------------------------------------------------------------------------------------------
# C2SP signed notes and tlog checkpoints
# ---------------------------------------------------------------------------------------------

#: Every signature line starts with an em dash (U+2014) and a space.
NOTE_SIGNATURE_PREFIX = "\u2014 "
ALGORITHM_ED25519 = "Ed25519"
ALGORITHM_RSA_PSS = "RSA-PSS-4096"
#: Key material prefix (signature type) of Ed25519 keys, C2SP signed-note type 0x01.
ED25519_KEY_TYPE = b"\x01"
#: Key material prefix of our RSA-PSS keys: C2SP type 0xff plus a long identifier (see above).
RSA_PSS_KEY_TYPE = b"\xff" + b"lexecon/rsa-pss-sha256"
RSA_MIN_BITS = 4096
#: Verifiers must accept at least 16 signatures (C2SP); Go's note package stops at 100.
MAX_NOTE_SIGNATURES = 100
MAX_NOTE_BYTES = 1_000_000
_NOTE_FORBIDDEN = re.compile("[\x00-\x09\x0b-\x1f]")
_KEY_ID_HEX = re.compile(r"[0-9a-fA-F]{8}")
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")
_MAX_TREE_SIZE = 2**64 - 1


class NoteFormatError(ValueError):
    """A signed note, checkpoint or verifier key that does not follow the format exactly."""


def rsa_pss_padding() -> padding.PSS:
    """PSS parameters of the RSA checkpoint signature: SHA-256, MGF1-SHA-256, maximum salt."""
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH)


def strict_b64decode(text: str) -> bytes:
    """Decode standard padded base64, rejecting anything that would not re-encode identically.

    Why: notes are signed text, so one value must have exactly one spelling (no whitespace,
    no missing padding, no non-zero trailing bits).
    """
    if type(text) is not str or not text.isascii():
        raise NoteFormatError("base64 value is not an ASCII string")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise NoteFormatError("invalid base64") from error
    if base64.b64encode(data).decode("ascii") != text:
        raise NoteFormatError("non-canonical base64")
    return data


def is_valid_key_name(name: object) -> bool:
    """C2SP key names: non-empty UTF-8 with no Unicode space, no ``+`` and no control character."""
    if type(name) is not str or not name or "+" in name:
        return False
    if any(char.isspace() or char < " " for char in name):
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def note_key_id(name: str, key_material: bytes) -> bytes:
    """Key ID (the 4-byte "key hash") = ``SHA-256(name || 0x0a || key material)[:4]``.

    ``key_material`` is the signature type prefix followed by the public key encoding:
    ``0x01 || 32-byte Ed25519 key`` or ``RSA_PSS_KEY_TYPE || DER SubjectPublicKeyInfo``.
    """
    return _sha256(name.encode("utf-8") + b"\n" + key_material).digest()[:4]


PublicKey = ed25519.Ed25519PublicKey | rsa.RSAPublicKey


@dataclass(frozen=True)
class NoteVerifierKey:
    """A trusted verifier key parsed from a ``note_key`` string ``name+keyid+base64(material)``."""

    name: str
    key_id: bytes
    algorithm: str
    public_key: PublicKey = field(repr=False, compare=False)
    note_key: str

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Return whether ``signature`` is this key's valid signature over ``message``."""
        try:
            if isinstance(self.public_key, ed25519.Ed25519PublicKey):
                self.public_key.verify(signature, message)
            else:
                self.public_key.verify(signature, message, rsa_pss_padding(), hashes.SHA256())
        except (InvalidSignature, ValueError, TypeError):
            return False
        return True


def _public_key_from_material(material: bytes) -> tuple[str, PublicKey]:
    """Decode key material (type prefix + key) into ``(algorithm, public key)``."""
    if material[:1] == ED25519_KEY_TYPE and len(material) == 1 + 32:
        return ALGORITHM_ED25519, ed25519.Ed25519PublicKey.from_public_bytes(material[1:])
    if material.startswith(RSA_PSS_KEY_TYPE):
        try:
            key = serialization.load_der_public_key(material[len(RSA_PSS_KEY_TYPE) :])
        except (ValueError, UnsupportedAlgorithm) as error:
            raise NoteFormatError("RSA key material is not a DER SubjectPublicKeyInfo") from error
        if not isinstance(key, rsa.RSAPublicKey) or key.key_size < RSA_MIN_BITS:
            raise NoteFormatError(f"RSA key must be an RSA public key of >= {RSA_MIN_BITS} bits")
        return ALGORITHM_RSA_PSS, key
    raise NoteFormatError("unknown or malformed key type")


def parse_note_key(note_key: str) -> NoteVerifierKey:
    """Parse a verifier key ``<name>+<8 hex key ID>+<base64(type || public key)>``.

    Accepts exactly what Go's ``note.NewVerifier`` accepts for Ed25519 (and our RSA type), and
    checks that the key ID matches the name and key material.
    """
    if type(note_key) is not str:
        raise NoteFormatError("note key must be a string")
    name, _, rest = note_key.partition("+")
    key_id_hex, _, material_b64 = rest.partition("+")
    if not is_valid_key_name(name) or not _KEY_ID_HEX.fullmatch(key_id_hex):
        raise NoteFormatError("malformed note key")
    material = strict_b64decode(material_b64)
    if not material:
        raise NoteFormatError("empty key material")
    key_id = bytes.fromhex(key_id_hex)
    if note_key_id(name, material) != key_id:
        raise NoteFormatError("note key ID does not match its name and public key")
    algorithm, public_key = _public_key_from_material(material)
    return NoteVerifierKey(
        name=name, key_id=key_id, algorithm=algorithm, public_key=public_key, note_key=note_key
    )


@dataclass(frozen=True)
class NoteSignature:
    """One signature line of a signed note: key name, 4-byte key ID and signature bytes."""

    name: str
    key_id: bytes
    signature: bytes
    line: str


@dataclass(frozen=True)
class SignedNote:
    """A parsed signed note: the signed ``text`` (ending in newline) and its signature lines."""

    text: str
    signatures: tuple[NoteSignature, ...]


@dataclass(frozen=True)
class Checkpoint:
    """The body of a C2SP tlog checkpoint: origin, tree size, 32-byte root, extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()


@dataclass(frozen=True)
class NoteVerification:
    """Which known keys verified a note, which known keys failed, which lines were unknown."""

    verified: tuple[NoteVerifierKey, ...]
    failed: tuple[NoteVerifierKey, ...]
    unknown: tuple[NoteSignature, ...]

    def algorithms(self) -> frozenset[str]:
        """Algorithms of the keys whose signature verified."""
        return frozenset(key.algorithm for key in self.verified)

    def accepted(self, required_algorithms: Iterable[str] = (ALGORITHM_ED25519,)) -> bool:
        """True when no known key's signature failed and every required algorithm verified.

        C2SP: a known key whose signature fails SHOULD reject the whole note; a note with no
        verified known signature MUST be rejected. Unknown keys are ignored.
        """
        present = self.algorithms()
        return (
            not self.failed
            and bool(self.verified)
            and all(algorithm in present for algorithm in required_algorithms)
        )


def parse_signed_note(data: bytes | str) -> SignedNote:
    """Parse a C2SP signed note strictly; raise ``NoteFormatError`` on any deviation.

    Rules: valid UTF-8 (no lone surrogates), at most ``MAX_NOTE_BYTES``, no control character
    other than newline; the text is everything up to and including the newline before the
    *last* blank line; then one or more lines ``em dash, space, key name, space,
    base64(key ID || signature)``, each ending in newline; at most ``MAX_NOTE_SIGNATURES``.
    """
    if isinstance(data, str):
        try:
            raw = data.encode("utf-8")
        except UnicodeEncodeError as error:
            raise NoteFormatError("note is not valid UTF-8") from error
    elif isinstance(data, bytes | bytearray):
        raw = bytes(data)
    else:
        raise NoteFormatError("note must be bytes or str")
    if len(raw) > MAX_NOTE_BYTES:
        raise NoteFormatError("note is too large")
    try:
        message = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise NoteFormatError("note is not valid UTF-8") from error
    if _NOTE_FORBIDDEN.search(message):
        raise NoteFormatError("note contains a control character other than newline")
    split = message.rfind("\n\n")
    if split < 0:
        raise NoteFormatError("note has no blank line before its signatures")
    text, block = message[: split + 1], message[split + 2 :]
    if not block or not block.endswith("\n"):
        raise NoteFormatError("signature block is empty or does not end in a newline")
    signatures = []
    for line in block[:-1].split("\n"):
        if len(signatures) == MAX_NOTE_SIGNATURES:
            raise NoteFormatError("too many signatures")
        if not line.startswith(NOTE_SIGNATURE_PREFIX):
            raise NoteFormatError("signature line does not start with an em dash and a space")
        name, _, encoded = line[len(NOTE_SIGNATURE_PREFIX) :].partition(" ")
        if not is_valid_key_name(name) or not encoded:
            raise NoteFormatError("malformed signature line")
        blob = strict_b64decode(encoded)
        if len(blob) < 5:
            raise NoteFormatError("signature is shorter than a key ID plus one byte")
        signatures.append(NoteSignature(name, blob[:4], blob[4:], line))
    return SignedNote(text=text, signatures=tuple(signatures))


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse checkpoint note text strictly; raise ``NoteFormatError`` on any deviation.

    ``origin\\nsize\\nbase64(root)\\n`` followed by optional non-empty extension lines, each
    ending in newline. The size is decimal without sign or leading zeros; the root is canonical
    standard base64 of exactly 32 bytes.
    """
    if type(text) is not str or not text.endswith("\n"):
        raise NoteFormatError("checkpoint text must end in a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or any(not line for line in lines):
        raise NoteFormatError("checkpoint needs origin, size and root lines, none empty")
    origin, size_text, root_text = lines[:3]
    if not _DECIMAL.fullmatch(size_text) or int(size_text) > _MAX_TREE_SIZE:
        raise NoteFormatError("tree size is not a canonical decimal number")
    root = strict_b64decode(root_text)
    if len(root) != HASH_SIZE:
        raise NoteFormatError("root hash is not 32 bytes")
    return Checkpoint(origin=origin, size=int(size_text), root=root, extensions=tuple(lines[3:]))


def verify_note(note: SignedNote, keys: Iterable[NoteVerifierKey]) -> NoteVerification:
    """Check every signature of ``note`` whose (key name, key ID) matches a trusted key.

    Unknown signature lines are ignored (C2SP: verifiers MUST ignore signatures from unknown
    keys, even if they share a name or an ID, but not both, with a known key). Repeated lines of
    one key are checked once. If several trusted keys share a name and ID, a signature verifies
    when any of them accepts it.
    """
    known: dict[tuple[str, bytes], list[NoteVerifierKey]] = {}
    for key in keys:
        known.setdefault((key.name, key.key_id), []).append(key)
    message = note.text.encode("utf-8")
    verified: list[NoteVerifierKey] = []
    failed: list[NoteVerifierKey] = []
    unknown: list[NoteSignature] = []
    seen: set[tuple[str, bytes]] = set()
    for signature in note.signatures:
        identity = (signature.name, signature.key_id)
        candidates = known.get(identity)
        if candidates is None:
            if signature not in unknown:
                unknown.append(signature)
            continue
        if identity in seen:
            continue
        seen.add(identity)
        good = next((key for key in candidates if key.verify(message, signature.signature)), None)
        if good is None:
            failed.append(candidates[0])
        else:
            verified.append(good)
    return NoteVerification(tuple(verified), tuple(failed), tuple(unknown))


@dataclass(frozen=True)
class CheckpointCheck:
    """Outcome of parsing and verifying one signed checkpoint; never carries an exception.

    ``error_code`` is ``None`` when the checkpoint is trusted, otherwise ``malformed_checkpoint``
    or ``bad_signature``.
    """

    note: str
    checkpoint: Checkpoint | None
    verification: NoteVerification | None
    error_code: str | None
    message: str

    @property
    def trusted(self) -> bool:
        """True when the note parsed and its required signatures verified."""
        return self.error_code is None


def check_checkpoint(
    note: bytes | str,
    keys: Iterable[NoteVerifierKey],
    *,
    required_algorithms: Iterable[str] = (ALGORITHM_ED25519,),
) -> CheckpointCheck:
    """Parse a signed checkpoint and verify it against trusted keys, returning a verdict.

    Why a verdict and not an exception: the chain verifier must report every bad checkpoint
    with its note text, and the caller decides what a failure means.
    """
    if isinstance(note, str):
        shown = note
    elif isinstance(note, bytes | bytearray):
        shown = bytes(note).decode("utf-8", "replace")
    else:
        shown = repr(note)
    try:
        signed = parse_signed_note(note)
        checkpoint = parse_checkpoint(signed.text)
    except NoteFormatError as error:
        return CheckpointCheck(shown, None, None, "malformed_checkpoint", str(error))
    verification = verify_note(signed, keys)
    required = tuple(required_algorithms)
    if verification.accepted(required):
        signers = ", ".join(sorted(key.name + "/" + key.algorithm for key in verification.verified))
        return CheckpointCheck(shown, checkpoint, verification, None, f"signed by {signers}")
    if verification.failed:
        names = ", ".join(sorted(key.name + "/" + key.algorithm for key in verification.failed))
        message = f"signature by trusted key {names} does not verify"
    else:
        missing = sorted(set(required) - verification.algorithms()) or ["any trusted key"]
        message = "no valid signature by " + ", ".join(missing)
    return CheckpointCheck(shown, checkpoint, verification, "bad_signature", message)


# ---------------------------------------------------------------------------------------------
# Streaming chain verifier
# ---------------------------------------------------------------------------------------------

#: Error codes in reporting precedence (the first present becomes the report's ``error_code``).
ERROR_PRECEDENCE = (
    "equivocation",
    "malformed_entry",
    "gap",
    "hash_mismatch",
    "broken_link",
    "root_mismatch",
    "truncated",
    "stored_leaf_mismatch",
    "stored_node_mismatch",
    "bad_signature",
    "malformed_checkpoint",
    "wrong_origin",
    "bad_proof",
    "unanchored_proof",
)
_CHAIN_CODES = frozenset({"malformed_entry", "gap", "hash_mismatch", "broken_link"})

EntryLike = Mapping[str, Any] | tuple[Any, ...]
# Strings whose JSON form is just the string in quotes (no escapes), for assembling entry bytes.
_PLAIN_STRING = re.compile(r"[A-Za-z0-9._:+\-]*")


def _error(code: str, message: str, seq: int | None = None, **details: Any) -> dict[str, Any]:
    return {"code": code, "seq": seq, "message": message, **details}


def _primary_error(errors: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """Pick the error a report leads with, by ``ERROR_PRECEDENCE`` then by detection order."""
    if not errors:
        return None
    return min(errors, key=lambda error: ERROR_PRECEDENCE.index(error["code"]))


class ChainVerifier:
    """Verify a ledger streamed in ``seq`` order against trusted signed checkpoints.

    What it checks, per entry: required fields and types (``malformed_entry``), contiguous
    ``seq`` from 0 (``gap``), the stored ``entry_hash`` against the recomputed one
    (``hash_mismatch``), ``prev_hash`` against the previous entry's hash (``broken_link``; the
    genesis links to 64 zeros); and, whenever the running tree size equals a trusted
    checkpoint's size, the recomputed root (``root_mismatch``). At ``finish``: a trusted
    checkpoint larger than the ledger is ``truncated``. Before streaming: checkpoints that do
    not parse or verify are ``malformed_checkpoint``/``bad_signature`` (and never anchor
    anything), a different origin is ``wrong_origin``, and two trusted checkpoints with one size
    and different roots are ``equivocation`` (the report carries both notes).

    Processing stops at the first failure in the chain: later entries are not reported as
    independent failures. Memory is O(log n) plus the checkpoints. Entries are mappings with the
    five fields plus ``entry_hash``, or tuples ``(seq, entry_type, timestamp, payload,
    prev_hash, entry_hash)`` (faster for database rows).
    """

    def __init__(
        self,
        checkpoints: Iterable[CheckpointCheck] = (),
        *,
        origin: str | None = None,
        capture_leaves: Iterable[int] = (),
        payload_as_text: bool = False,
        keep_leaves: bool = False,
    ) -> None:
        """Prepare verification against ``checkpoints`` (from ``check_checkpoint``).

        ``origin`` pins the log identity; without it, the origin of the first trusted checkpoint
        is the log's. ``capture_leaves`` names seqs whose leaf hashes are kept (``leaf_hashes``)
        so that inclusion proofs can be tied to actual entries. With ``payload_as_text``, tuple
        entries carry the payload as its stored canonical JSON text (the server's own rows): the
        canonical bytes are then assembled around it instead of parsing and re-encoding it.
        With ``keep_leaves``, each ``feed_many`` call leaves the leaf hashes it computed in
        ``batch_leaves`` (one per verified entry, in order) and adds every perfect subtree the
        entries completed to ``completed`` as ``(level, index, hash)``, for the caller to compare
        with what it has stored and then clear: the server checks its stored leaf hashes and
        Merkle nodes this way (``apps.ledger.selectors.ledger_verify``).
        """
        self._range = CompactRange()
        self._last_hash = GENESIS_PREV_HASH
        self._errors: list[dict[str, Any]] = []
        self._chain_failed = False
        self._capture = frozenset(capture_leaves)
        self._payload_as_text = payload_as_text
        self._keep_leaves = keep_leaves
        self.batch_leaves: list[bytes] = []
        self.completed: list[tuple[int, int, bytes]] = []
        self.leaf_hashes: dict[int, bytes] = {}
        #: One summary per checkpoint given, in input order (shown in the report).
        self.checkpoints: list[dict[str, Any]] = []
        self._matched_size: int | None = None
        by_size: dict[int, dict[bytes, CheckpointCheck]] = {}
        self._summaries: dict[int, list[tuple[dict[str, Any], bytes]]] = {}
        for check in checkpoints:
            checkpoint = check.checkpoint
            summary: dict[str, Any] = {
                "size": checkpoint.size if checkpoint else None,
                "root": checkpoint.root.hex() if checkpoint else None,
                "origin": checkpoint.origin if checkpoint else None,
                "trusted": False,
                "status": "untrusted",
                "message": check.message,
            }
            self.checkpoints.append(summary)
            if checkpoint is None or not check.trusted:
                self._errors.append(
                    _error(check.error_code or "bad_signature", check.message, note=check.note)
                )
                continue
            if origin is None:
                origin = checkpoint.origin
            if checkpoint.origin != origin:
                summary["status"] = "wrong_origin"
                self._errors.append(
                    _error(
                        "wrong_origin",
                        f"checkpoint origin {checkpoint.origin!r} is not {origin!r}",
                        note=check.note,
                    )
                )
                continue
            summary["trusted"] = True
            summary["status"] = "pending"
            self._summaries.setdefault(checkpoint.size, []).append((summary, checkpoint.root))
            by_size.setdefault(checkpoint.size, {}).setdefault(checkpoint.root, check)
        self.origin = origin
        for size, roots in sorted(by_size.items()):
            if len(roots) > 1:
                self._errors.append(
                    _error(
                        "equivocation",
                        f"{len(roots)} validly signed checkpoints of size {size} have "
                        "different roots",
                        checkpoint_size=size,
                        notes=[check.note for check in roots.values()],
                    )
                )
        self._targets: dict[int, frozenset[bytes]] = {
            size: frozenset(roots) for size, roots in by_size.items()
        }
        self._pending = sorted(self._targets, reverse=True)  # smallest size last, popped first
        self._check_reached_targets()

    @property
    def size(self) -> int:
        """Number of entries verified so far."""
        return self._range.size

    def trusted_roots(self, size: object) -> frozenset[bytes]:
        """Roots of the trusted checkpoints of ``size`` (two or more only under equivocation)."""
        if type(size) is not int:
            return frozenset()
        return self._targets.get(size, frozenset())

    def _fail_chain(self, code: str, seq: int | None, message: str) -> None:
        self._chain_failed = True
        self._errors.append(_error(code, message, seq))

    def _check_reached_targets(self) -> None:
        """Compare the root when the running size equals the next checkpoint size."""
        size = self._range.size
        while self._pending and self._pending[-1] == size:
            target = self._pending.pop()
            computed = self._range.root()
            for summary, root in self._summaries[target]:
                summary["status"] = "matched" if root == computed else "root_mismatch"
            if computed in self._targets[target]:
                self._matched_size = target
                continue
            self._chain_failed = True
            lower = self._matched_size or 0
            self._errors.append(
                _error(
                    "root_mismatch",
                    f"recomputed root at size {target} differs from the signed checkpoint; "
                    f"the chain links but entries in [{lower}, {target}) were rewritten",
                    None,
                    checkpoint_size=target,
                    computed_root=computed.hex(),
                    suspect_range=[lower, target],
                )
            )
            return

    def feed(self, entry: EntryLike) -> bool:
        """Verify one entry; return ``False`` once the chain has failed."""
        return self.feed_many((entry,))

    def feed_many(self, entries: Iterable[EntryLike]) -> bool:
        """Verify entries in order; return ``False`` once the chain has failed.

        Why one tight loop: this is the hot path for a million rows (canonicalisation, two
        SHA-256 and a compact-range append per entry).
        """
        if self._chain_failed:
            return False
        compact = self._range
        append = compact.append
        previous = self._last_hash
        expected = compact.size
        next_target = self._pending[-1] if self._pending else -1
        capture = self._capture
        sha256 = _sha256
        as_text = self._payload_as_text
        plain = _PLAIN_STRING.fullmatch
        keep = self._keep_leaves
        self.batch_leaves = []
        kept = self.batch_leaves.append
        completed = self.completed
        for entry in entries:
            try:
                if type(entry) is tuple:
                    seq, entry_type, timestamp, payload, prev_hash, stored = entry
                else:
                    seq = entry["seq"]  # type: ignore[call-overload]
                    entry_type = entry["entry_type"]  # type: ignore[call-overload]
                    timestamp = entry["timestamp"]  # type: ignore[call-overload]
                    payload = entry["payload"]  # type: ignore[call-overload]
                    prev_hash = entry["prev_hash"]  # type: ignore[call-overload]
                    stored = entry["entry_hash"]  # type: ignore[call-overload]
            except (KeyError, TypeError, ValueError, IndexError):
                self._fail_chain(
                    "malformed_entry", expected, f"entry at position {expected} lacks fields"
                )
                break
            if type(seq) is not int or not (
                type(entry_type) is str
                and type(timestamp) is str
                and type(prev_hash) is str
                and type(stored) is str
            ):
                self._fail_chain(
                    "malformed_entry", expected, f"entry at position {expected} has bad types"
                )
                break
            if seq != expected:
                self._fail_chain(
                    "gap", seq, f"expected seq {expected} but found {seq} (missing or reordered)"
                )
                break
            try:
                if (
                    as_text
                    and type(payload) is str
                    and plain(entry_type)
                    and plain(timestamp)
                    and plain(prev_hash)
                ):
                    data = (
                        f'{{"entry_type":"{entry_type}","payload":{payload},'
                        f'"prev_hash":"{prev_hash}","seq":{seq},"timestamp":"{timestamp}"}}'
                    ).encode()
                else:
                    if as_text and type(payload) is str:
                        payload = json.loads(payload)
                    data = canonical_bytes(
                        {
                            "seq": seq,
                            "entry_type": entry_type,
                            "timestamp": timestamp,
                            "payload": payload,
                            "prev_hash": prev_hash,
                        }
                    )
            except (ValueError, TypeError, RecursionError) as error:
                self._fail_chain(
                    "malformed_entry", seq, f"entry {seq} is not JCS-encodable: {error}"
                )
                break
            if sha256(data).hexdigest() != stored:
                self._fail_chain(
                    "hash_mismatch", seq, f"entry {seq}: stored entry_hash differs from content"
                )
                break
            if prev_hash != previous:
                self._fail_chain(
                    "broken_link", seq, f"entry {seq}: prev_hash is not the previous entry_hash"
                )
                break
            leaf = sha256(LEAF_PREFIX + data).digest()
            if keep:
                kept(leaf)
                append(leaf, completed)
            else:
                append(leaf)
            if capture and seq in capture:
                self.leaf_hashes[seq] = leaf
            previous = stored
            expected += 1
            if expected == next_target:
                self._last_hash = previous
                self._check_reached_targets()
                if self._chain_failed:
                    break
                next_target = self._pending[-1] if self._pending else -1
        self._last_hash = previous
        return not self._chain_failed

    def finish(self, *, extra_errors: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
        """Close the stream and return the report (see ``docs/ledger-formats.md``).

        ``extra_errors`` lets the bundle verifier add proof failures to the same report.
        """
        size = self._range.size
        if not self._chain_failed and self._pending:
            target = self._pending[0]
            self._errors.append(
                _error(
                    "truncated",
                    f"signed checkpoint size {target} > ledger size {size}: entries are missing",
                    size,
                    checkpoint_size=target,
                )
            )
        for summary in self.checkpoints:
            if summary["status"] == "pending":
                summary["status"] = "not_checked" if self._chain_failed else "beyond_ledger"
        errors = [*self._errors, *extra_errors]
        primary = _primary_error(errors)
        anchored = self._matched_size is not None
        unanchored_tail = size - (self._matched_size or 0)
        if primary is not None:
            message = primary["message"]
        elif not anchored:
            message = (
                f"chain of {size} entries intact but UNANCHORED: no trusted signed checkpoint "
                "covers it, so truncation or a full rewrite would go unnoticed"
            )
        elif unanchored_tail:
            message = (
                f"chain of {size} entries intact; root matches the signed checkpoint of size "
                f"{self._matched_size}; the last {unanchored_tail} entries are not yet anchored"
            )
        else:
            message = f"chain of {size} entries intact and anchored by a signed checkpoint"
        return {
            "valid": primary is None,
            "entries_checked": size,
            "first_invalid_seq": primary["seq"] if primary is not None else None,
            "error_code": primary["code"] if primary is not None else None,
            "checkpoint_size": self._matched_size,
            "root": self._range.root().hex(),
            "anchored": anchored,
            "unanchored_tail": unanchored_tail,
            "origin": self.origin,
            "message": message,
            "errors": errors,
            "checkpoints": self.checkpoints,
        }


# ---------------------------------------------------------------------------------------------
# Bundles and the command line
# ---------------------------------------------------------------------------------------------


class BundleError(Exception):
    """The bundle cannot be used at all (missing files, unparseable JSON, no trusted keys)."""


def _b64_hash(value: object) -> bytes:
    data = strict_b64decode(value)  # type: ignore[arg-type]
    if len(data) != HASH_SIZE:
        raise NoteFormatError("hash is not 32 bytes")
    return data


def load_keys(document: object) -> list[NoteVerifierKey]:
    """Read trusted keys from the ``GET /ledger/keys`` document ``{"keys": [...]}``.

    Each key's ``note_key`` is parsed (its key ID is checked) and must describe the same public
    key as its ``public_key`` (base64 DER SubjectPublicKeyInfo) and ``algorithm``; any
    inconsistency makes the whole file unusable, because it is the root of trust.
    """
    items = document.get("keys") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise BundleError('keys must be {"keys": [...]}')
    keys = []
    for position, item in enumerate(items):
        label = f"key {position}"
        try:
            label = f"key {item.get('kid', position)!r}"
            key = parse_note_key(item["note_key"])
            declared = serialization.load_der_public_key(strict_b64decode(item["public_key"]))
        except (AttributeError, KeyError, TypeError, ValueError, UnsupportedAlgorithm) as error:
            raise BundleError(f"{label}: unusable ({error})") from error
        if item.get("algorithm") != key.algorithm:
            raise BundleError(f"{label}: algorithm does not match its note_key")
        spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        if declared.public_bytes(*spki) != key.public_key.public_bytes(*spki):
            raise BundleError(f"{label}: public_key does not match its note_key")
        keys.append(key)
    return keys


@dataclass
class Bundle:
    """A loaded bundle: an entry iterator plus checkpoint notes, key document and proofs."""

    entries: Callable[[], Iterator[object]]
    checkpoints: list[str]
    keys: object
    proofs: Mapping[str, Any]


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise BundleError(f"{path.name}: cannot read JSON ({error})") from error


def _jsonl_entries(path: Path) -> Iterator[object]:
    """Yield one parsed entry per line; an unparseable line yields ``None`` (malformed entry)."""
    with path.open("rb") as handle:
        for line in handle:
            try:
                yield json.loads(line)
            except ValueError:
                yield None


def _checkpoint_notes(document: object) -> list[str]:
    items = document.get("checkpoints") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise BundleError('checkpoints must be {"checkpoints": [...]}')
    notes = []
    for item in items:
        note = item.get("note") if isinstance(item, dict) else item
        if not isinstance(note, str):
            raise BundleError("every checkpoint needs a signed note string in 'note'")
        notes.append(note)
    return notes


def load_bundle(path: Path) -> Bundle:
    """Load a bundle directory (``entries.jsonl``, ``checkpoints.json``, ``keys.json``,
    optional ``proofs.json``) or a single JSON file with keys entries/checkpoints/keys/proofs.
    ``keys.json`` may be absent when keys are pinned on the command line.
    """
    if path.is_dir():
        entries_path = path / "entries.jsonl"
        if not entries_path.is_file():
            raise BundleError("entries.jsonl is missing")
        checkpoints_path = path / "checkpoints.json"
        checkpoints = (
            _checkpoint_notes(_read_json(checkpoints_path)) if checkpoints_path.exists() else []
        )
        keys_path = path / "keys.json"
        proofs_path = path / "proofs.json"
        proofs = _read_json(proofs_path) if proofs_path.exists() else {}
        return Bundle(
            entries=lambda: _jsonl_entries(entries_path),
            checkpoints=checkpoints,
            keys=_read_json(keys_path) if keys_path.exists() else None,
            proofs=proofs if isinstance(proofs, dict) else {"invalid": proofs},
        )
    if path.is_file():
        document = _read_json(path)
        if not isinstance(document, dict) or not isinstance(document.get("entries"), list):
            raise BundleError("a single-file bundle must be an object with an 'entries' list")
        entries = document["entries"]
        proofs = document.get("proofs") or {}
        return Bundle(
            entries=lambda: iter(entries),
            checkpoints=_checkpoint_notes(document.get("checkpoints") or []),
            keys=document.get("keys"),
            proofs=proofs if isinstance(proofs, dict) else {"invalid": proofs},
        )
    raise BundleError(f"{path}: no such file or directory")


def check_proofs(proofs: Mapping[str, Any], verifier: ChainVerifier) -> list[dict[str, Any]]:
    """Verify ``proofs.json`` items against trusted checkpoint roots of the matching sizes.

    Inclusion: ``{seq, tree_size, leaf_hash, proof}`` (hashes in base64); the leaf hash must
    also equal the recomputed leaf of entry ``seq`` when that entry was verified. Consistency:
    ``{first, second, proof}``. A proof without a trusted checkpoint of its size cannot be
    anchored and is reported as ``unanchored_proof``.
    """
    errors: list[dict[str, Any]] = []
    if "invalid" in proofs or not all(
        isinstance(proofs.get(kind, []), list) for kind in ("inclusion", "consistency")
    ):
        return [_error("bad_proof", "proofs.json must be {inclusion: [...], consistency: [...]}")]
    for position, item in enumerate(proofs.get("inclusion", [])):
        try:
            seq, size = item["seq"], item["tree_size"]
            leaf = _b64_hash(item["leaf_hash"])
            path = [_b64_hash(element) for element in item["proof"]]
        except (KeyError, TypeError, ValueError) as error:
            errors.append(_error("bad_proof", f"inclusion proof {position} malformed: {error}"))
            continue
        roots = verifier.trusted_roots(size)
        if not roots:
            errors.append(_error("unanchored_proof", f"no trusted checkpoint of size {size}", seq))
        elif seq in verifier.leaf_hashes and verifier.leaf_hashes[seq] != leaf:
            errors.append(_error("bad_proof", f"leaf_hash is not entry {seq}'s leaf", seq))
        elif not any(verify_inclusion(leaf, seq, size, path, root) for root in roots):
            errors.append(
                _error("bad_proof", f"inclusion proof of seq {seq} in size {size} fails", seq)
            )
    for position, item in enumerate(proofs.get("consistency", [])):
        try:
            first, second = item["first"], item["second"]
            path = [_b64_hash(element) for element in item["proof"]]
        except (KeyError, TypeError, ValueError) as error:
            errors.append(_error("bad_proof", f"consistency proof {position} malformed: {error}"))
            continue
        first_roots, second_roots = verifier.trusted_roots(first), verifier.trusted_roots(second)
        if not first_roots or not second_roots:
            errors.append(
                _error("unanchored_proof", f"no trusted checkpoints of sizes {first}/{second}")
            )
        elif not any(
            verify_consistency(first, second, path, root1, root2)
            for root1 in first_roots
            for root2 in second_roots
        ):
            errors.append(_error("bad_proof", f"consistency proof {first} -> {second} fails"))
    return errors


def _proof_seqs(proofs: Mapping[str, Any]) -> set[int]:
    items = proofs.get("inclusion", [])
    if not isinstance(items, list):
        return set()
    return {
        item["seq"] for item in items if isinstance(item, dict) and type(item.get("seq")) is int
    }


def verify_bundle(
    path: Path | str,
    *,
    origin: str | None = None,
    pinned_keys: Sequence[str] = (),
) -> dict[str, Any]:
    """Verify a bundle end to end and return the report; raise ``BundleError`` if unusable.

    Trust: with ``pinned_keys`` (note_key strings obtained out of band), only those keys are
    trusted and ``keys.json`` is ignored; otherwise every key in ``keys.json`` is trusted.
    """
    bundle = load_bundle(Path(path))
    if pinned_keys:
        try:
            keys = [parse_note_key(text) for text in pinned_keys]
        except NoteFormatError as error:
            raise BundleError(f"pinned key unusable: {error}") from error
        trust = "pinned"
    elif bundle.keys is not None:
        keys = load_keys(bundle.keys)
        trust = "keys.json"
    else:
        raise BundleError("no trusted keys: keys.json is missing and no --key was given")
    if not keys:
        raise BundleError("no trusted keys")
    checks = [check_checkpoint(note, keys) for note in bundle.checkpoints]
    verifier = ChainVerifier(checks, origin=origin, capture_leaves=_proof_seqs(bundle.proofs))
    verifier.feed_many(bundle.entries())  # type: ignore[arg-type]
    report = verifier.finish(extra_errors=check_proofs(bundle.proofs, verifier))
    report["trust"] = trust
    report["trusted_keys"] = [key.note_key for key in keys]
    return report


# ---------------------------------------------------------------------------------------------
# Evidence packages (docs/evidence-package.md)
# ---------------------------------------------------------------------------------------------

#: ``format`` of ``manifest.json`` and the first line of the text ``manifest.sig`` signs.
PACKAGE_FORMAT = "lexecon-evidence-package/1"
PACKAGE_NOTE_HEADER = PACKAGE_FORMAT
_MANIFEST = "manifest.json"
_MANIFEST_SIG = "manifest.sig"
_PACKAGE_ENTRIES = "entries.jsonl"
_PACKAGE_INCLUSION = "proofs/inclusion.jsonl"
_PACKAGE_CONSISTENCY = "proofs/consistency.json"
_PACKAGE_KEYS = "keys/keys.json"
_PACKAGE_EVIDENCE_INDEX = "evidence/index.json"
#: At most this many errors of one code are listed; the rest are counted.
MAX_ERRORS_PER_CODE = 20
_HEX64 = re.compile(r"[0-9a-f]{64}")
_EXPORT_ID = re.compile(r"[A-Za-z0-9._:\-]{1,100}")


def manifest_note_text(*, export_id: str, manifest_sha256: str) -> str:
    """The note text ``manifest.sig`` signs: a fixed header, the manifest's hash, the export id.

    Why a header line: the same key signs checkpoints, and a checkpoint's second line is a
    number, so a manifest note can never be read as a checkpoint nor a checkpoint as a manifest.
    """
    if not _EXPORT_ID.fullmatch(export_id) or not _HEX64.fullmatch(manifest_sha256):
        raise NoteFormatError("export id or manifest hash is malformed")
    return f"{PACKAGE_NOTE_HEADER}\nmanifest-sha256 {manifest_sha256}\nexport {export_id}\n"


def parse_manifest_note_text(text: str) -> tuple[str, str]:
    """Return ``(export_id, manifest_sha256)`` from signed manifest text, or raise."""
    lines = text.split("\n")
    if (
        len(lines) != 4
        or lines[0] != PACKAGE_NOTE_HEADER
        or lines[3] != ""
        or not lines[1].startswith("manifest-sha256 ")
        or not lines[2].startswith("export ")
    ):
        raise NoteFormatError("not a Lexecon package manifest signature")
    export_id, digest = lines[2][len("export ") :], lines[1][len("manifest-sha256 ") :]
    if manifest_note_text(export_id=export_id, manifest_sha256=digest) != text:
        raise NoteFormatError("manifest signature text is malformed")
    return export_id, digest


def is_package(path: Path) -> bool:
    """A package is a ZIP file, or a directory holding ``manifest.json`` or ``manifest.sig``."""
    if path.is_dir():
        return (path / _MANIFEST).exists() or (path / _MANIFEST_SIG).exists()
    return path.is_file() and zipfile.is_zipfile(path)


class _PackageSource:
    """Read access to the files of a package, from a ZIP or an unpacked directory."""

    def __init__(self, path: Path) -> None:
        self._zip: zipfile.ZipFile | None = None
        self._root = path
        self.duplicates: list[str] = []
        if path.is_dir():
            self.names = sorted(
                item.relative_to(path).as_posix() for item in path.rglob("*") if item.is_file()
            )
            return
        try:
            self._zip = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile) as error:
            raise BundleError(f"{path}: not a readable ZIP ({error})") from error
        names = [name for name in self._zip.namelist() if not name.endswith("/")]
        counts: dict[str, int] = {}
        for name in names:
            counts[name] = counts.get(name, 0) + 1
        self.duplicates = sorted(name for name, count in counts.items() if count > 1)
        self.names = sorted(counts)

    def open(self, name: str) -> BinaryIO:
        """Open a listed file for reading; ``KeyError`` when it is not in the package."""
        if name not in self.names:
            raise KeyError(name)
        if self._zip is not None:
            return self._zip.open(name)  # type: ignore[return-value]
        return (self._root / name).open("rb")

    def read(self, name: str) -> bytes:
        with self.open(name) as handle:
            return handle.read()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


class _Findings:
    """Errors (the package is invalid) and warnings (it is valid, but read this), capped."""

    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []
        self.warnings: list[str] = []
        self.suppressed: dict[str, int] = {}
        self._per_code: dict[str, int] = {}

    def add(self, code: str, message: str, *, file: str | None, seq: int | None = None) -> None:
        count = self._per_code.get(code, 0) + 1
        self._per_code[code] = count
        if count > MAX_ERRORS_PER_CODE:
            self.suppressed[code] = self.suppressed.get(code, 0) + 1
            return
        self.errors.append(_error(code, message, seq, file=file))


def _safe_package_path(name: object) -> bool:
    if type(name) is not str or not name or name.startswith("/") or "\\" in name:
        return False
    return all(part not in ("", ".", "..") for part in name.split("/"))


def _hash_member(source: _PackageSource, name: str) -> tuple[str, int]:
    digest = _sha256()
    size = 0
    with source.open(name) as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


@dataclass
class _Anchor:
    """A checkpoint of the package: where its note is, what the manifest says, what verified."""

    label: str
    file: str | None
    size: int | None
    root: bytes | None
    trusted: bool = False


class _PackageCheck:
    """One verification run over a package; ``run`` returns the report."""

    def __init__(
        self, source: _PackageSource, keys: list[NoteVerifierKey], trust: str, origin: str | None
    ) -> None:
        self.source = source
        self.keys = keys
        self.trust = trust
        self.origin = origin
        self.found = _Findings()
        self.manifest: dict[str, Any] = {}
        self.listed: dict[str, dict[str, Any]] = {}
        self.entries_checked = 0
        self.registered: dict[int, tuple[object, object]] = {}
        self.evidence = {"included": 0, "expired": 0, "missing": 0, "cross_checked": 0}
        self.signers: list[str] = []
        self.signed_export_id: str | None = None

    # -- the signed manifest ----------------------------------------------------------------

    def check_manifest(self) -> bool:
        """Verify ``manifest.sig`` and bind ``manifest.json`` to it; False if unreadable."""
        found = self.found
        try:
            manifest_bytes = self.source.read(_MANIFEST)
        except KeyError:
            found.add("missing_file", "manifest.json is missing", file=_MANIFEST)
            return False
        try:
            signed = parse_signed_note(self.source.read(_MANIFEST_SIG))
            export_id, digest = parse_manifest_note_text(signed.text)
        except KeyError:
            found.add("missing_file", "manifest.sig is missing", file=_MANIFEST_SIG)
        except NoteFormatError as error:
            found.add("bad_manifest_signature", f"manifest.sig: {error}", file=_MANIFEST_SIG)
        else:
            verification = verify_note(signed, self.keys)
            if not verification.accepted():
                found.add(
                    "bad_manifest_signature",
                    "manifest.sig: no valid Ed25519 signature by a trusted key"
                    + (" (a trusted key's signature fails)" if verification.failed else ""),
                    file=_MANIFEST_SIG,
                )
            else:
                self.signers = sorted(
                    f"{key.name}/{key.algorithm}" for key in verification.verified
                )
                if _sha256(manifest_bytes).hexdigest() != digest:
                    found.add(
                        "manifest_mismatch",
                        "manifest.json is not the manifest manifest.sig signs (its SHA-256 "
                        "differs)",
                        file=_MANIFEST,
                    )
                self.signed_export_id = export_id
        try:
            manifest = json.loads(manifest_bytes)
        except ValueError as error:
            found.add("malformed_manifest", f"manifest.json: not JSON ({error})", file=_MANIFEST)
            return False
        if not isinstance(manifest, dict) or manifest.get("format") != PACKAGE_FORMAT:
            found.add(
                "malformed_manifest",
                f"manifest.json: format is not {PACKAGE_FORMAT}",
                file=_MANIFEST,
            )
            return False
        self.manifest = manifest
        signed_id = self.signed_export_id
        if signed_id is not None and manifest.get("export_id") != signed_id:
            found.add("manifest_mismatch", "manifest.json names another export", file=_MANIFEST)
        files = manifest.get("files")
        if not isinstance(files, list):
            found.add("malformed_manifest", "manifest.json: 'files' is not a list", file=_MANIFEST)
            return False
        for item in files:
            path = item.get("path") if isinstance(item, dict) else None
            if (
                not _safe_package_path(path)
                or path in (_MANIFEST, _MANIFEST_SIG)
                or path in self.listed
                or type(item.get("size")) is not int
                or not _HEX64.fullmatch(str(item.get("sha256")))
            ):
                found.add(
                    "malformed_manifest", f"manifest.json: bad file item {item!r}", file=_MANIFEST
                )
                continue
            self.listed[str(path)] = item
        return True

    # -- every file ----------------------------------------------------------------------------

    def check_files(self) -> None:
        found = self.found
        for name in self.source.duplicates:
            found.add("duplicate_file", f"{name} appears twice in the archive", file=name)
        for name, item in self.listed.items():
            try:
                digest, size = _hash_member(self.source, name)
            except KeyError:
                found.add(
                    "missing_file", f"{name} is listed in the manifest but missing", file=name
                )
                continue
            except (OSError, zipfile.BadZipFile, zlib.error, EOFError) as error:
                found.add("file_mismatch", f"{name} cannot be read ({error})", file=name)
                continue
            if digest != item["sha256"] or size != item["size"]:
                found.add(
                    "file_mismatch",
                    f"{name} differs from the signed manifest (SHA-256 {digest}, {size} bytes; "
                    f"manifest: {item['sha256']}, {item['size']} bytes)",
                    file=name,
                )
        for name in self.source.names:
            if name not in self.listed and name not in (_MANIFEST, _MANIFEST_SIG):
                found.add("unlisted_file", f"{name} is not part of the signed package", file=name)

    def _read_listed(self, name: str) -> bytes | None:
        if name not in self.listed:
            self.found.add("missing_file", f"the manifest does not list {name}", file=_MANIFEST)
            return None
        try:
            return self.source.read(name)
        except (KeyError, OSError, zipfile.BadZipFile, zlib.error, EOFError):
            return None  # already reported by check_files

    # -- checkpoints and proofs ----------------------------------------------------------------

    def _anchor(self, label: str) -> _Anchor:
        summary = self.manifest.get(label)
        found = self.found
        if not isinstance(summary, dict) or not isinstance(summary.get("file"), str):
            found.add("malformed_manifest", f"manifest.json: '{label}' is missing", file=_MANIFEST)
            return _Anchor(label, None, None, None)
        name = summary["file"]
        anchor = _Anchor(label, name, None, None)
        data = self._read_listed(name)
        if data is None:
            return anchor
        check = check_checkpoint(data, self.keys)
        if check.checkpoint is None or not check.trusted:
            code = check.error_code or "bad_signature"
            found.add(code, f"{name}: {check.message}", file=name)
            return anchor
        checkpoint = check.checkpoint
        origin = self.origin or self.manifest.get("origin")
        if checkpoint.origin != origin:
            found.add(
                "wrong_origin", f"{name}: origin {checkpoint.origin!r} is not {origin!r}", file=name
            )
            return anchor
        if (checkpoint.size, checkpoint.root.hex()) != (
            summary.get("tree_size"),
            summary.get("root"),
        ):
            found.add(
                "manifest_mismatch",
                f"{name}: size or root differs from the manifest's '{label}'",
                file=name,
            )
            return anchor
        anchor.size, anchor.root, anchor.trusted = checkpoint.size, checkpoint.root, True
        return anchor

    def check_consistency(self, package: _Anchor, latest: _Anchor) -> None:
        data = self._read_listed(_PACKAGE_CONSISTENCY)
        if data is None or not (package.trusted and latest.trusted):
            return
        try:
            document = json.loads(data)
            first, second = document["first"], document["second"]
            path = [_b64_hash(item) for item in document["proof"]]
        except (ValueError, KeyError, TypeError) as error:
            self.found.add(
                "bad_proof",
                f"{_PACKAGE_CONSISTENCY}: malformed ({error})",
                file=_PACKAGE_CONSISTENCY,
            )
            return
        if (first, second) != (package.size, latest.size) or not verify_consistency(
            first, second, path, package.root, latest.root
        ):
            self.found.add(
                "bad_proof",
                f"{_PACKAGE_CONSISTENCY}: the package checkpoint ({package.size}) is not proven "
                f"a prefix of the latest ({latest.size})",
                file=_PACKAGE_CONSISTENCY,
            )

    def check_entries(self, package: _Anchor) -> None:
        """Every entry line canonical, ascending, linked to a present predecessor, and proven
        included in the package checkpoint by its proof line."""
        found = self.found
        for name in (_PACKAGE_ENTRIES, _PACKAGE_INCLUSION):
            if name not in self.listed:
                found.add("missing_file", f"the manifest does not list {name}", file=_MANIFEST)
                return
        if not package.trusted:
            found.add(
                "unanchored_proof",
                "no trusted package checkpoint: entries cannot be proven included",
                file=_PACKAGE_INCLUSION,
            )
        size, root = package.size, package.root
        previous_seq, previous_hash = -1, GENESIS_PREV_HASH
        count = 0
        try:
            with (
                self.source.open(_PACKAGE_ENTRIES) as entries,
                self.source.open(_PACKAGE_INCLUSION) as proofs,
            ):
                for line, proof_line in itertools.zip_longest(entries, proofs):
                    count += 1
                    previous_seq, previous_hash = self._check_entry(
                        count, line, proof_line, size, root, previous_seq, previous_hash
                    )
        except (KeyError, OSError, zipfile.BadZipFile, zlib.error, EOFError) as error:
            found.add(
                "file_mismatch",
                f"{_PACKAGE_ENTRIES} cannot be read ({error})",
                file=_PACKAGE_ENTRIES,
            )
        self.entries_checked = count
        if count != self.manifest.get("entries"):
            found.add(
                "manifest_mismatch",
                f"{count} entries in {_PACKAGE_ENTRIES}, the manifest says "
                f"{self.manifest.get('entries')}",
                file=_PACKAGE_ENTRIES,
            )

    def _check_entry(
        self,
        position: int,
        line: bytes | None,
        proof_line: bytes | None,
        size: int | None,
        root: bytes | None,
        previous_seq: int,
        previous_hash: str,
    ) -> tuple[int, str]:
        found = self.found
        a2b_base64 = binascii.a2b_base64
        if line is None:
            found.add("bad_proof", f"proof line {position} has no entry", file=_PACKAGE_INCLUSION)
            return previous_seq, previous_hash
        data = line[:-1] if line.endswith(b"\n") else line
        try:
            entry = json.loads(data)
            canonical = canonical_entry_bytes(entry)
            seq = entry["seq"]
        except (ValueError, KeyError, TypeError, RecursionError):
            found.add(
                "malformed_entry",
                f"{_PACKAGE_ENTRIES} line {position} is not an entry",
                file=_PACKAGE_ENTRIES,
            )
            return previous_seq, previous_hash
        if canonical != data or not line.endswith(b"\n") or len(entry) != len(ENTRY_FIELDS):
            found.add(
                "malformed_entry",
                f"{_PACKAGE_ENTRIES} line {position} is not the canonical form of an entry",
                file=_PACKAGE_ENTRIES,
                seq=seq if type(seq) is int else None,
            )
            return previous_seq, previous_hash
        if type(seq) is not int or seq <= previous_seq:
            found.add(
                "gap",
                f"{_PACKAGE_ENTRIES} line {position}: seq {seq!r} does not ascend",
                file=_PACKAGE_ENTRIES,
                seq=seq if type(seq) is int else None,
            )
            return previous_seq, previous_hash
        digest = _sha256(data).hexdigest()
        if seq == previous_seq + 1 and entry["prev_hash"] != previous_hash:
            found.add(
                "broken_link",
                f"entry {seq}: prev_hash is not the hash of entry {previous_seq}",
                file=_PACKAGE_ENTRIES,
                seq=seq,
            )
        if entry["entry_type"] == "evidence.registered" and isinstance(entry["payload"], dict):
            payload = entry["payload"]
            self.registered[seq] = (payload.get("artifact_id"), payload.get("sha256"))
        if proof_line is None:
            found.add(
                "bad_proof", f"entry {seq} has no proof line", file=_PACKAGE_INCLUSION, seq=seq
            )
            return seq, digest
        if size is None or root is None:
            return seq, digest
        try:
            proof = json.loads(proof_line)
            # Standard base64, strictly; verify_inclusion refuses any element not of 32 bytes.
            path = [a2b_base64(item, strict_mode=True) for item in proof["proof"]]
            matches = proof["seq"] == seq and proof["tree_size"] == size
        except (ValueError, KeyError, TypeError, binascii.Error):
            matches = False
        if not matches or not verify_inclusion(
            _sha256(LEAF_PREFIX + data).digest(), seq, size, path, root
        ):
            found.add(
                "bad_proof",
                f"entry {seq}: its inclusion proof in the checkpoint of size {size} fails",
                file=_PACKAGE_INCLUSION,
                seq=seq,
            )
        return seq, digest

    # -- evidence ------------------------------------------------------------------------------

    def check_evidence(self) -> None:
        found = self.found
        data = self._read_listed(_PACKAGE_EVIDENCE_INDEX)
        if data is None:
            return
        try:
            items = json.loads(data)["artifacts"]
            if not isinstance(items, list):
                raise TypeError("artifacts is not a list")
        except (ValueError, KeyError, TypeError) as error:
            found.add(
                "malformed_evidence",
                f"{_PACKAGE_EVIDENCE_INDEX}: {error}",
                file=_PACKAGE_EVIDENCE_INDEX,
            )
            return
        for item in items:
            try:
                artifact_id, sha256, status = item["artifact_id"], item["sha256"], item["status"]
                size, seq, name = item["size_bytes"], item["ledger_seq"], item["file"]
            except (KeyError, TypeError):
                found.add(
                    "malformed_evidence",
                    f"{_PACKAGE_EVIDENCE_INDEX}: bad item {item!r}",
                    file=_PACKAGE_EVIDENCE_INDEX,
                )
                continue
            if status not in self.evidence or status == "cross_checked":
                found.add(
                    "malformed_evidence",
                    f"{_PACKAGE_EVIDENCE_INDEX}: artifact {artifact_id} has status {status!r}",
                    file=_PACKAGE_EVIDENCE_INDEX,
                )
                continue
            self.evidence[status] += 1
            if status == "included":
                listed = self.listed.get(name) if isinstance(name, str) else None
                if listed is None or (listed["sha256"], listed["size"]) != (sha256, size):
                    found.add(
                        "evidence_mismatch",
                        f"evidence {artifact_id}: {name} does not have the recorded hash and size",
                        file=name if isinstance(name, str) else _PACKAGE_EVIDENCE_INDEX,
                    )
            elif status == "missing":
                found.warnings.append(
                    f"evidence {artifact_id}: its content was missing from the operator's storage "
                    "(only its hash is in the package)"
                )
            recorded = self.registered.get(seq) if type(seq) is int else None
            if recorded is not None:
                if recorded != (artifact_id, sha256):
                    found.add(
                        "evidence_mismatch",
                        f"evidence {artifact_id}: differs from its ledger entry {seq}",
                        file=_PACKAGE_EVIDENCE_INDEX,
                        seq=seq,
                    )
                else:
                    self.evidence["cross_checked"] += 1

    # -- the whole run -------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        package = latest = _Anchor("checkpoint", None, None, None)
        if self.check_manifest():
            self.check_files()
            package = self._anchor("checkpoint")
            latest = self._anchor("latest_checkpoint")
            self.check_consistency(package, latest)
            self.check_entries(package)
            self.check_evidence()
        found = self.found
        primary = _primary_package_error(found.errors)
        manifest = self.manifest
        if primary is None:
            message = (
                f"package intact: {len(self.listed) + 2} files match the signed manifest; "
                f"{self.entries_checked} entries are proven included in the signed checkpoint of "
                f"size {package.size}, which is consistent with the latest ({latest.size})"
            )
        else:
            message = primary["message"]
        return {
            "valid": primary is None,
            "kind": "package",
            "message": message,
            "error_code": primary["code"] if primary else None,
            "failed_files": sorted({e["file"] for e in found.errors if e.get("file")}),
            "errors": found.errors,
            "suppressed_errors": found.suppressed,
            "warnings": found.warnings,
            "export_id": manifest.get("export_id"),
            "scope": manifest.get("scope"),
            "period": manifest.get("period"),
            "requested_by": manifest.get("requested_by"),
            "generator": manifest.get("generator"),
            "created_at": manifest.get("created_at"),
            "origin": self.origin or manifest.get("origin"),
            "manifest_signed_by": self.signers,
            "files_checked": len(self.listed),
            "entries_checked": self.entries_checked,
            "checkpoint": {
                "size": package.size,
                "root": package.root.hex() if package.root else None,
            },
            "latest_checkpoint": {
                "size": latest.size,
                "root": latest.root.hex() if latest.root else None,
            },
            "evidence": self.evidence,
            "trust": self.trust,
            "trusted_keys": [key.note_key for key in self.keys],
        }


#: Package error codes, most fundamental first (the first present leads the report).
PACKAGE_ERROR_PRECEDENCE = (
    "bad_keys",
    "bad_manifest_signature",
    "manifest_mismatch",
    "malformed_manifest",
    "missing_file",
    "duplicate_file",
    "unlisted_file",
    "file_mismatch",
    "malformed_checkpoint",
    "bad_signature",
    "wrong_origin",
    "malformed_entry",
    "gap",
    "broken_link",
    "unanchored_proof",
    "bad_proof",
    "malformed_evidence",
    "evidence_mismatch",
)


def _primary_package_error(errors: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    if not errors:
        return None
    return min(errors, key=lambda error: PACKAGE_ERROR_PRECEDENCE.index(error["code"]))


def verify_package(
    path: Path | str, *, origin: str | None = None, pinned_keys: Sequence[str] = ()
) -> dict[str, Any]:
    """Verify an evidence package (ZIP or unpacked directory); raise ``BundleError`` if unusable.

    Trust: with ``pinned_keys`` only those keys are trusted; otherwise the keys in
    ``keys/keys.json``, which proves only that the package is self-consistent.
    """
    source = _PackageSource(Path(path))
    try:
        keys_error = None
        if pinned_keys:
            try:
                keys = [parse_note_key(text) for text in pinned_keys]
            except NoteFormatError as error:
                raise BundleError(f"pinned key unusable: {error}") from error
            trust = "pinned"
        else:
            trust = _PACKAGE_KEYS
            try:
                keys = load_keys(json.loads(source.read(_PACKAGE_KEYS)))
            except (KeyError, ValueError, BundleError) as error:
                keys, keys_error = [], f"{_PACKAGE_KEYS}: unusable ({error})"
        check = _PackageCheck(source, keys, trust, origin)
        if keys_error is not None:
            check.found.add("bad_keys", keys_error, file=_PACKAGE_KEYS)
        return check.run()
    finally:
        source.close()


def _package_summary(report: Mapping[str, Any]) -> str:
    """Render a package report for a regulator."""
    period = report.get("period") or {}
    checkpoint, latest = report["checkpoint"], report["latest_checkpoint"]
    evidence = report["evidence"]
    lines = [
        f"Lexecon evidence package: {'VALID' if report['valid'] else 'INVALID'}",
        f"  export:            {report['export_id']} (scope {report['scope']}, "
        f"{period.get('from') or 'beginning'} to {period.get('to') or 'now'})",
        f"  requested by:      {report['requested_by']}; made by {report['generator']} at "
        f"{report['created_at']}",
        f"  manifest signed:   {', '.join(report['manifest_signed_by']) or 'NOT VERIFIED'}",
        f"  files checked:     {report['files_checked']} (hash and size of each)",
        f"  ledger entries:    {report['entries_checked']}, each with an inclusion proof",
        f"  checkpoint:        size {checkpoint['size']}, root {checkpoint['root']}",
        f"  latest checkpoint: size {latest['size']} (consistency proven from the package's)",
        f"  evidence:          {evidence['included']} included, {evidence['expired']} past "
        f"retention (hash only), {evidence['missing']} missing; {evidence['cross_checked']} "
        "matched against their ledger entries",
        f"  trust:             {report['trust']} ({len(report['trusted_keys'])} keys)",
        f"  {report['message']}",
    ]
    if report["failed_files"]:
        lines.append(f"  files that failed: {', '.join(report['failed_files'])}")
    for error in report["errors"]:
        where = error.get("file") or ""
        if error["seq"] is not None:
            where += f" seq {error['seq']}"
        lines.append(f"  - {error['code']} [{where}]: {error['message']}")
    lines.extend(
        f"  - ... and {count} more {code} errors"
        for code, count in report["suppressed_errors"].items()
    )
    lines.extend(f"  warning: {warning}" for warning in report["warnings"])
    if report["trust"] != "pinned":
        lines.append(
            "  note: the keys were taken from the package itself, which proves only that it is "
            "self-consistent; pin the ledger's key from its operator's GET /ledger/keys with --key"
        )
    return "\n".join(lines) + "\n"


def _summary(report: Mapping[str, Any]) -> str:
    """Render a report for humans."""
    lines = [
        f"Ledger bundle: {'VALID' if report['valid'] else 'INVALID'}",
        f"  entries checked:      {report['entries_checked']}",
        f"  root (hex):           {report['root']}",
        f"  origin:               {report['origin']}",
        f"  largest checkpoint:   {report['checkpoint_size']} (anchored: {report['anchored']})",
        f"  trust:                {report['trust']} ({len(report['trusted_keys'])} keys)",
    ]
    if not report["valid"]:
        lines.append(
            f"  first failure:        {report['error_code']} at seq {report['first_invalid_seq']}"
        )
    lines.append(f"  {report['message']}")
    lines.extend(
        f"  - {error['code']}"
        + (f" at seq {error['seq']}" if error["seq"] is not None else "")
        + f": {error['message']}"
        for error in report["errors"]
    )
    if report["trust"] != "pinned":
        lines.append(
            "  note: keys were taken from the bundle itself; pin keys obtained out of band "
            "with --key for an independent check"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns 0 valid, 1 invalid, 2 unusable input."""
    parser = argparse.ArgumentParser(
        description="Verify a Lexecon ledger export bundle or evidence package offline, with "
        "public keys only."
    )
    parser.add_argument(
        "bundle",
        type=Path,
        help="bundle directory or single JSON file, or evidence package (ZIP or unpacked "
        "directory with manifest.json)",
    )
    parser.add_argument("--json", action="store_true", help="print the JSON report")
    parser.add_argument("--origin", help="require checkpoints to carry this log origin")
    parser.add_argument(
        "--key",
        action="append",
        default=[],
        metavar="NOTE_KEY",
        help="trust only this verifier key (repeatable); obtain it out of band",
    )
    arguments = parser.parse_args(argv)
    package = is_package(arguments.bundle)
    try:
        check = verify_package if package else verify_bundle
        report = check(arguments.bundle, origin=arguments.origin, pinned_keys=arguments.key)
    except BundleError as error:
        if arguments.json:
            sys.stdout.write(json.dumps({"valid": None, "unusable": str(error)}) + "\n")
        else:
            what = "package" if package else "bundle"
            sys.stderr.write(f"unusable {what}: {error}\n")
        return 2
    if arguments.json:
        sys.stdout.write(json.dumps(report, indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write(_package_summary(report) if package else _summary(report))
    return 0 if report["valid"] else 1


if __name__ == "__main__":
    sys.exit(main())
