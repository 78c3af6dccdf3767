"""Signed checkpoints: C2SP signed-note / tlog-checkpoint format, Go interoperability, strictness.

The Go vectors come from the package documentation of golang.org/x/mod/sumdb/note: a signer
key, its verifier key and the exact signed note Go produces. Ed25519 is deterministic, so our
signer must reproduce that note byte for byte and our verifier must accept it.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from apps.ledger.notes import (
    NoteSigner,
    build_checkpoint_text,
    key_id,
    note_key_ed25519,
    note_key_rsa,
    sign_checkpoint,
    sign_note,
)
from tools.verify_bundle import (
    ALGORITHM_ED25519,
    ALGORITHM_RSA_PSS,
    MAX_NOTE_SIGNATURES,
    NoteFormatError,
    check_checkpoint,
    parse_checkpoint,
    parse_note_key,
    parse_signed_note,
    verify_note,
)

GO_SIGNER_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIGNED = (
    GO_TEXT + "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSN"
    "XgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ORIGIN = "lexecon.example/ledger"
ROOT = hashlib.sha256(b"some root").digest()


@pytest.fixture(scope="module")
def go_private_key() -> ed25519.Ed25519PrivateKey:
    seed = base64.b64decode(GO_SIGNER_KEY.split("+", 4)[4])  # base64 may itself contain '+'
    assert seed[0] == 0x01
    return ed25519.Ed25519PrivateKey.from_private_bytes(seed[1:])


@pytest.fixture(scope="module")
def ed_signer() -> NoteSigner:
    return NoteSigner(ORIGIN, ed25519.Ed25519PrivateKey.generate())


@pytest.fixture(scope="module")
def rsa_signer() -> NoteSigner:
    key = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    return NoteSigner(ORIGIN + "/rsa", key)


@pytest.fixture(scope="module")
def signed_checkpoint(ed_signer, rsa_signer) -> str:
    return sign_checkpoint(ORIGIN, 1234, ROOT, [ed_signer, rsa_signer])


def _keys(*signers: NoteSigner):
    return [parse_note_key(signer.note_key) for signer in signers]


# --- Go interoperability ---------------------------------------------------------------------


def test_note_key_is_gos_verifier_key_with_hand_computed_key_hash(go_private_key):
    public = go_private_key.public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    hand_computed = hashlib.sha256(b"PeterNeumann" + b"\n" + b"\x01" + raw).digest()[:4]

    assert hand_computed.hex() == "c74f20a3"
    assert note_key_ed25519("PeterNeumann", public) == GO_VERIFIER_KEY
    assert key_id("PeterNeumann", public) == hand_computed
    parsed = parse_note_key(GO_VERIFIER_KEY)
    assert (parsed.name, parsed.key_id, parsed.algorithm) == (
        "PeterNeumann",
        hand_computed,
        ALGORITHM_ED25519,
    )


def test_our_signer_reproduces_gos_signed_note_byte_for_byte(go_private_key):
    assert sign_note(GO_TEXT, [NoteSigner("PeterNeumann", go_private_key)]) == GO_SIGNED


def test_our_verifier_accepts_gos_signed_note():
    note = parse_signed_note(GO_SIGNED.encode())
    result = verify_note(note, [parse_note_key(GO_VERIFIER_KEY)])

    assert note.text == GO_TEXT
    assert [key.name for key in result.verified] == ["PeterNeumann"]
    assert result.accepted()


# --- round trips -----------------------------------------------------------------------------


def test_checkpoint_round_trip_with_both_signatures(signed_checkpoint, ed_signer, rsa_signer):
    note = parse_signed_note(signed_checkpoint)
    checkpoint = parse_checkpoint(note.text)
    result = verify_note(note, _keys(ed_signer, rsa_signer))

    assert note.text == f"{ORIGIN}\n1234\n{base64.b64encode(ROOT).decode()}\n"
    assert (checkpoint.origin, checkpoint.size, checkpoint.root) == (ORIGIN, 1234, ROOT)
    assert result.algorithms() == {ALGORITHM_ED25519, ALGORITHM_RSA_PSS}
    assert result.accepted((ALGORITHM_ED25519, ALGORITHM_RSA_PSS))
    assert check_checkpoint(signed_checkpoint, _keys(ed_signer, rsa_signer)).trusted
    lines = signed_checkpoint.split("\n")
    assert lines[3] == ""
    assert lines[4].startswith(f"\u2014 {ORIGIN} ")
    assert lines[5].startswith(f"\u2014 {ORIGIN}/rsa ")


def test_rsa_signature_is_pss_sha256_with_maximum_salt(signed_checkpoint, rsa_signer):
    note = parse_signed_note(signed_checkpoint)
    rsa_line = note.signatures[1]
    public = rsa_signer.private_key.public_key()
    max_salt = 4096 // 8 - 32 - 2  # emLen - hLen - 2

    assert len(rsa_line.signature) == 512
    public.verify(  # raises if the parameters differ: checked with explicit, independent numbers
        rsa_line.signature,
        note.text.encode(),
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=max_salt),
        hashes.SHA256(),
    )
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    material = b"\xff" + b"lexecon/rsa-pss-sha256" + der
    expected_id = hashlib.sha256(rsa_signer.name.encode() + b"\n" + material).digest()[:4]
    assert rsa_line.key_id == expected_id
    assert note_key_rsa(rsa_signer.name, public) == (
        f"{rsa_signer.name}+{expected_id.hex()}+{base64.b64encode(material).decode()}"
    )
    assert parse_note_key(rsa_signer.note_key).algorithm == ALGORITHM_RSA_PSS


def test_checkpoint_with_extension_lines_and_empty_tree(ed_signer):
    empty_root = hashlib.sha256(b"").digest()
    note = sign_checkpoint(ORIGIN, 0, empty_root, [ed_signer], extensions=["ext one", "two"])
    checkpoint = parse_checkpoint(parse_signed_note(note).text)

    assert (checkpoint.size, checkpoint.root, checkpoint.extensions) == (
        0,
        empty_root,
        ("ext one", "two"),
    )
    assert check_checkpoint(note, _keys(ed_signer)).trusted


# --- tampering -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (ORIGIN + "\n", "lexecon.example/other\n"),
        ("\n1234\n", "\n1235\n"),
        (base64.b64encode(ROOT).decode(), base64.b64encode(bytes(32)).decode()),
    ],
    ids=["origin", "size", "root"],
)
def test_tampered_text_fails_every_known_signature(
    signed_checkpoint, ed_signer, rsa_signer, old, new
):
    tampered = signed_checkpoint.replace(old, new, 1)
    assert tampered != signed_checkpoint
    result = verify_note(parse_signed_note(tampered), _keys(ed_signer, rsa_signer))

    assert not result.verified
    assert len(result.failed) == 2
    assert not result.accepted()
    check = check_checkpoint(tampered, _keys(ed_signer, rsa_signer))
    assert check.error_code == "bad_signature"


@pytest.mark.parametrize("which", [0, 1])
def test_tampered_signature_rejects_the_note(signed_checkpoint, ed_signer, rsa_signer, which):
    note = parse_signed_note(signed_checkpoint)
    line = note.signatures[which]
    blob = bytearray(line.key_id + line.signature)
    blob[-1] ^= 0x01
    forged = signed_checkpoint.replace(
        line.line, f"\u2014 {line.name} {base64.b64encode(bytes(blob)).decode()}"
    )
    result = verify_note(parse_signed_note(forged), _keys(ed_signer, rsa_signer))

    assert len(result.verified) == 1
    assert len(result.failed) == 1
    assert not result.accepted(())  # a failing known key rejects the note (C2SP SHOULD)


def test_unknown_keys_are_ignored_but_cannot_vouch(signed_checkpoint, ed_signer):
    stranger = NoteSigner("witness.example/w1", ed25519.Ed25519PrivateKey.generate())
    text = parse_signed_note(signed_checkpoint).text
    cosigned = signed_checkpoint + stranger.signature_line(text)

    result = verify_note(parse_signed_note(cosigned), _keys(ed_signer))
    assert result.accepted()
    assert {line.name for line in result.unknown} == {ORIGIN + "/rsa", "witness.example/w1"}

    only_stranger = sign_note(text, [stranger])
    assert not verify_note(parse_signed_note(only_stranger), _keys(ed_signer)).accepted(())
    assert check_checkpoint(only_stranger, _keys(ed_signer)).error_code == "bad_signature"


def test_same_name_other_key_is_unknown_not_failed(signed_checkpoint, ed_signer):
    impostor = NoteSigner(ORIGIN, ed25519.Ed25519PrivateKey.generate())
    text = parse_signed_note(signed_checkpoint).text
    note = sign_note(text, [impostor])

    result = verify_note(parse_signed_note(note), _keys(ed_signer))
    assert (result.verified, result.failed, len(result.unknown)) == ((), (), 1)


def test_required_ed25519_signature(signed_checkpoint, rsa_signer):
    result = verify_note(parse_signed_note(signed_checkpoint), _keys(rsa_signer))

    assert result.algorithms() == {ALGORITHM_RSA_PSS}
    assert not result.accepted()  # Ed25519 is required by default
    assert result.accepted((ALGORITHM_RSA_PSS,))
    check = check_checkpoint(signed_checkpoint, _keys(rsa_signer))
    assert check.error_code == "bad_signature"
    assert "Ed25519" in check.message


# --- strictness ------------------------------------------------------------------------------

GOOD_LINE = GO_SIGNED.split("\n")[3]  # the signature line of Go's example


@pytest.mark.parametrize(
    "note",
    [
        GO_TEXT + GOOD_LINE + "\n",  # no blank line
        GO_TEXT + "\n",  # no signature
        GO_TEXT + "\n" + GOOD_LINE,  # last line without newline
        GO_TEXT + "\n" + GOOD_LINE + "\n\n",  # trailing blank line
        GO_TEXT + "\n" + GOOD_LINE.replace("\u2014", "\u2013") + "\n",  # en dash
        GO_TEXT + "\n" + GOOD_LINE.replace("\u2014 ", "\u2014") + "\n",  # no space
        GO_TEXT + "\n" + GOOD_LINE.replace("Peter", "Pe+ter") + "\n",  # '+' in name
        GO_TEXT + "\n" + GOOD_LINE.replace("PeterNeumann ", " ") + "\n",  # empty name
        GO_TEXT + "\n" + GOOD_LINE.replace("AM=", "AM") + "\n",  # missing padding
        GO_TEXT + "\n" + GOOD_LINE.replace("AM=", "AN=") + "\n",  # non-canonical base64
        GO_TEXT + "\n" + GOOD_LINE.replace("x08go", "x08g*") + "\n",  # not base64
        GO_TEXT + "\n" + GOOD_LINE + " \n",  # trailing space
        GO_TEXT + "\n\u2014 PeterNeumann AAAA\n",  # shorter than key ID + 1 byte
        GO_TEXT.replace("problem,", "problem,\r") + "\n" + GOOD_LINE + "\n",  # control char
        GO_TEXT.replace(" you", "\tyou", 1) + "\n" + GOOD_LINE + "\n",  # tab
        "\ud800" + GO_TEXT + "\n" + GOOD_LINE + "\n",  # lone surrogate
        GO_TEXT + "\n" + (GOOD_LINE + "\n") * (MAX_NOTE_SIGNATURES + 1),  # too many
        b"\xff\xfe" + (GO_TEXT + "\n" + GOOD_LINE + "\n").encode(),  # not UTF-8
        12345,
    ],
)
def test_strict_parser_rejects_malformed_notes(note):
    with pytest.raises(NoteFormatError):
        parse_signed_note(note)


@pytest.mark.parametrize(
    "text",
    [
        f"{ORIGIN}\n012\n{base64.b64encode(ROOT).decode()}\n",  # leading zero
        f"{ORIGIN}\n+12\n{base64.b64encode(ROOT).decode()}\n",  # sign
        f"{ORIGIN}\n-1\n{base64.b64encode(ROOT).decode()}\n",
        f"{ORIGIN}\n 12\n{base64.b64encode(ROOT).decode()}\n",
        f"{ORIGIN}\n1e3\n{base64.b64encode(ROOT).decode()}\n",
        f"{ORIGIN}\n\u0661\u0662\n{base64.b64encode(ROOT).decode()}\n",  # Arabic-Indic digits
        f"{ORIGIN}\n{2**64}\n{base64.b64encode(ROOT).decode()}\n",  # beyond uint64
        f"{ORIGIN}\n12\n{base64.b64encode(ROOT[:31]).decode()}\n",  # 31-byte root
        f"{ORIGIN}\n12\n{base64.b64encode(ROOT + b'x').decode()}\n",  # 33-byte root
        f"{ORIGIN}\n12\n{base64.b64encode(ROOT).decode().rstrip('=')}\n",  # no padding
        f"{ORIGIN}\n12\n{ROOT.hex()}\n",  # hex, not base64
        f"{ORIGIN}\n12\n",  # no root line
        f"\n12\n{base64.b64encode(ROOT).decode()}\n",  # empty origin
        f"{ORIGIN}\n12\n{base64.b64encode(ROOT).decode()}\n\next\n",  # empty extension line
        f"{ORIGIN}\n12\n{base64.b64encode(ROOT).decode()}",  # no final newline
    ],
)
def test_strict_checkpoint_parser_rejects_malformed_text(text):
    with pytest.raises(NoteFormatError):
        parse_checkpoint(text)


def test_malformed_checkpoint_is_reported_not_raised(ed_signer):
    note = sign_note(f"{ORIGIN}\n012\n{base64.b64encode(ROOT).decode()}\n", [ed_signer])
    check = check_checkpoint(note, _keys(ed_signer))
    assert (check.trusted, check.error_code) == (False, "malformed_checkpoint")
    assert check_checkpoint(b"\xff", _keys(ed_signer)).error_code == "malformed_checkpoint"


def _with_key_id(note_key: str, new_id: str) -> str:
    name, _, rest = note_key.partition("+")
    return f"{name}+{new_id}+{rest.partition('+')[2]}"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda key: _with_key_id(key, "00000000"),  # key ID does not match
        lambda key: _with_key_id(key, key.split("+")[1][:7]),  # 7 hex digits
        lambda key: "Peter Neumann" + key[len("PeterNeumann") :],  # space in name
        lambda key: key[: -len("W")] + "X",  # different key material
        lambda key: key + "=",  # bad base64
        lambda key: key.split("+")[0],  # no key ID or key
        lambda key: key.replace("ARpc2", "Apc2"),  # truncated material
    ],
)
def test_parse_note_key_rejects_malformed_keys(mutate):
    with pytest.raises(NoteFormatError):
        parse_note_key(mutate(GO_VERIFIER_KEY))


def test_parse_note_key_rejects_unknown_type_and_weak_rsa():
    material = b"\x02" + bytes(32)
    unknown = "name+" + hashlib.sha256(b"name\n" + material).digest()[:4].hex()
    unknown += "+" + base64.b64encode(material).decode()
    with pytest.raises(NoteFormatError, match="unknown"):
        parse_note_key(unknown)
    weak = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    der = weak.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    material = b"\xfflexecon/rsa-pss-sha256" + der
    weak_key = "name+" + hashlib.sha256(b"name\n" + material).digest()[:4].hex()
    weak_key += "+" + base64.b64encode(material).decode()
    with pytest.raises(NoteFormatError, match="4096"):
        parse_note_key(weak_key)
    with pytest.raises(ValueError, match="4096"):
        note_key_rsa("name", weak)


@pytest.mark.parametrize(
    ("origin", "size", "root", "extensions"),
    [
        (ORIGIN, -1, ROOT, ()),
        (ORIGIN, True, ROOT, ()),
        (ORIGIN, 1, ROOT[:31], ()),
        ("two\nlines", 1, ROOT, ()),
        ("", 1, ROOT, ()),
        (ORIGIN, 1, ROOT, ("",)),
        (ORIGIN, 1, ROOT, ("a\nb",)),
    ],
)
def test_build_checkpoint_text_refuses_what_would_not_parse(origin, size, root, extensions):
    with pytest.raises(NoteFormatError):
        build_checkpoint_text(origin, size, root, extensions)


def test_signing_requires_valid_names_text_and_an_ed25519_key(rsa_signer, ed_signer):
    with pytest.raises(NoteFormatError):
        NoteSigner("bad name", ed25519.Ed25519PrivateKey.generate())
    with pytest.raises(NoteFormatError):
        sign_note("no final newline", [ed_signer])
    with pytest.raises(NoteFormatError):
        sign_note("a control\tcharacter\n", [ed_signer])
    with pytest.raises(NoteFormatError):
        sign_note("text\n", [])
    with pytest.raises(NoteFormatError):
        sign_checkpoint(ORIGIN, 1, ROOT, [rsa_signer])
