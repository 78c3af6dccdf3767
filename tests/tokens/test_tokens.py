"""Capability tokens: tampering and misuse (RELIABILITY T19-T21), revocation, verify API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from apps.accounts.principals import system_actor
from apps.decisions.models import Decision
from apps.ledger import services as ledger
from apps.ledger.models import LedgerEntry, SigningKey
from apps.tokens import format as token_format
from apps.tokens import services as tokens
from tests.conftest import DEMO
from tools.verify_bundle import canonical_bytes, verify_inclusion

pytestmark = pytest.mark.django_db


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture
def issued(db):
    return tokens.token_issue(
        decision_id="d-1", actor="ai_agent:x", action="read", resource="crm/1", now=1_800_000_000
    )


def parts(token: str) -> tuple[dict, bytes]:
    payload, signature = token[4:].split(".")
    return json.loads(unb64(payload)), unb64(signature)


def reassemble(claims: dict, signature: bytes) -> str:
    return f"cap_{b64(canonical_bytes(claims))}.{b64(signature)}"


def verify(token, **kwargs):
    kwargs.setdefault("now", 1_800_000_010)
    return tokens.token_verify(token=token, **kwargs)


def test_fresh_token_is_valid_with_exact_claims(issued):
    result = verify(
        issued.token, actor="ai_agent:x", action="read", resource="crm/1", check_action=True
    )
    assert result.valid
    assert result.reason == "valid"
    assert set(result.claims) == set(token_format.CLAIM_TYPES)
    assert result.claims["exp"] - result.claims["iat"] == 300
    assert (
        result.claims["action_hash"]
        == hashlib.sha256(
            canonical_bytes({"actor": "ai_agent:x", "action": "read", "resource": "crm/1"})
        ).hexdigest()
    )


def test_t19_flipped_payload_byte_is_bad_signature(issued):
    claims, signature = parts(issued.token)
    claims["act"] = "delete"
    assert verify(reassemble(claims, signature)).reason == "bad_signature"


def test_t19_signature_from_another_key_is_bad_signature(issued):
    claims, _ = parts(issued.token)
    forged = ed25519.Ed25519PrivateKey.generate().sign(canonical_bytes(claims))
    assert verify(reassemble(claims, forged)).reason == "bad_signature"


def test_t19_hs256_with_public_key_as_secret_is_rejected(issued):
    claims, _ = parts(issued.token)
    key = SigningKey.objects.get(kid=claims["kid"])
    mac = hmac.new(bytes(key.public_key), canonical_bytes(claims), hashlib.sha256).digest()
    assert verify(reassemble(claims, mac + mac)).reason == "bad_signature"
    assert verify(reassemble(claims, mac)).reason == "malformed"


@pytest.mark.parametrize(
    "extra",
    [
        {"alg": "none"},
        {"jku": "https://evil.example/keys"},
        {"jwk": {"kty": "OKP"}},
        {"typ": "JWT"},
    ],
)
def test_t19_extra_header_like_claims_are_malformed(issued, extra):
    claims, signature = parts(issued.token)
    assert verify(reassemble({**claims, **extra}, signature)).reason == "malformed"


def test_t19_unknown_kid(issued):
    claims, _ = parts(issued.token)
    claims["kid"] = "token-ed25519-19990101-deadbeef"
    private = ed25519.Ed25519PrivateKey.generate()
    assert verify(reassemble(claims, private.sign(canonical_bytes(claims)))).reason == "unknown_kid"


def test_t19_checkpoint_key_cannot_sign_tokens(issued):
    claims, _ = parts(issued.token)
    checkpoint_key = ledger.active_signing_key(purpose="checkpoint", algorithm="Ed25519")
    claims["kid"] = checkpoint_key.kid
    signature = ledger.signing_key_private(checkpoint_key).sign(canonical_bytes(claims))
    assert verify(reassemble(claims, signature)).reason == "unknown_kid"


def test_t19_token_kid_with_a_non_ed25519_key_is_unknown_kid(issued):
    # A token-purpose row holding an RSA key (never produced by our services) names no key a token
    # can be checked with: a reason code, not a TypeError from verifying with the wrong key type.
    from django.utils import timezone

    from apps.ledger import keys

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    SigningKey.objects.create(
        kid="token-rsa-19990101-deadbeef",
        algorithm=SigningKey.Algorithm.RSA_PSS_4096,
        purpose=SigningKey.Purpose.TOKEN,
        public_key=keys.public_der(rsa_key),
        encrypted_private_key=b"unused",
        master_key_id="unused",
        not_before=timezone.now(),
    )
    claims, signature = parts(issued.token)
    claims["kid"] = "token-rsa-19990101-deadbeef"
    assert verify(reassemble(claims, signature)).reason == "unknown_kid"


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "cap_",
        "cap_.",
        "cap_a.b",
        "nope",
        "cap_" + "A" * 5000,
        "cap_abc.def.ghi",
        None,
        42,
        "cap_e30.AAAA",
        "cap_e30=." + "A" * 86,
    ],
)
def test_garbage_is_malformed_never_an_error(garbage):
    result = tokens.token_verify(token=garbage)
    assert result.valid is False
    assert result.reason == "malformed"


def test_non_canonical_payload_is_malformed(issued):
    claims, signature = parts(issued.token)
    spaced = json.dumps(claims, indent=1).encode()
    assert verify(f"cap_{b64(spaced)}.{b64(signature)}").reason == "malformed"


def test_t20_time_window_with_leeway(issued):
    exp, nbf = issued.claims["exp"], issued.claims["nbf"]
    leeway = token_format.LEEWAY_SECONDS
    assert verify(issued.token, now=exp + leeway - 1).valid
    assert verify(issued.token, now=exp + leeway).reason == "expired"
    assert verify(issued.token, now=nbf - leeway).valid
    assert verify(issued.token, now=nbf - leeway - 1).reason == "not_yet_valid"


def test_t20_real_clock_expiry_with_time_machine(db):
    with time_machine.travel("2026-11-29 10:00:00Z", tick=False):
        token = tokens.token_issue(decision_id="d", actor="a", action="b", resource=None).token
        assert tokens.token_verify(token=token).valid
    with time_machine.travel("2026-11-29 10:06:01Z", tick=False):
        assert tokens.token_verify(token=token).reason == "expired"


def test_t20_wrong_audience(issued, settings):
    settings.LEXECON_ORIGIN = "other.example/ledger"
    assert verify(issued.token).reason == "wrong_audience"


def test_t20_wrong_action_or_resource(issued):
    assert (
        verify(
            issued.token, actor="ai_agent:x", action="delete", resource="crm/1", check_action=True
        ).reason
        == "action_mismatch"
    )
    assert (
        verify(
            issued.token, actor="ai_agent:x", action="read", resource="crm/2", check_action=True
        ).reason
        == "action_mismatch"
    )
    assert (
        verify(
            issued.token, actor="ai_agent:y", action="read", resource="crm/1", check_action=True
        ).reason
        == "action_mismatch"
    )


def test_t21_rotation_old_tokens_verify_new_tokens_use_new_kid(issued):
    old_kid = issued.claims["kid"]
    ledger.signing_keys_rotate(purposes=("token",))
    tokens.forget_cached_keys()
    fresh = tokens.token_issue(
        decision_id="d-2", actor="a", action="b", resource=None, now=1_800_000_000
    )
    assert fresh.claims["kid"] != old_kid
    assert verify(issued.token).valid
    assert verify(fresh.token).valid
    assert SigningKey.objects.get(kid=old_kid).status == "retired"


def test_revocation_is_immediate_and_in_the_ledger(issued):
    tokens.token_revoke(
        jti=issued.claims["jti"], reason="compromised agent", actor=system_actor("test")
    )
    assert verify(issued.token).reason == "revoked"
    entry = LedgerEntry.objects.get(entry_type="token.revoked")
    assert json.loads(entry.payload)["jti"] == issued.claims["jti"]
    tokens.token_revoke(jti=issued.claims["jti"], reason="again", actor=system_actor("test"))
    assert LedgerEntry.objects.filter(entry_type="token.revoked").count() == 1


# --- over the API -------------------------------------------------------------------------------


def test_verify_api_reports_reason_codes(agent):
    token = agent.post("/decide", DEMO, format="json").json()["capability_token"]
    ok = agent.post(
        "/decide/verify",
        {"capability_token": token, "action": "access_customer_data"},
        format="json",
    ).json()
    assert ok["valid"] is True
    wrong = agent.post(
        "/decide/verify", {"capability_token": token, "action": "delete"}, format="json"
    ).json()
    assert wrong == {**wrong, "valid": False, "reason": "action_mismatch"}
    garbage = agent.post("/decide/verify", {"capability_token": "cap_x.y"}, format="json")
    assert garbage.status_code == 200
    assert garbage.json()["reason"] == "malformed"
    both = agent.post(
        "/decide/verify",
        {"capability_token": token, "decision_id": "00000000-0000-0000-0000-000000000000"},
        format="json",
    )
    assert both.status_code == 400


def test_verify_by_decision_id_returns_entry_and_proof_against_checkpoint(agent):
    body = agent.post("/decide", DEMO, format="json").json()
    result = agent.post("/decide/verify", {"decision_id": body["decision_id"]}, format="json")
    assert result.status_code == 200
    data = result.json()
    assert data["ledger_entry"]["seq"] == body["ledger_entry_id"]
    assert data["ledger_entry"]["entry_hash"] == body["ledger_entry_hash"]
    from tools.verify_bundle import parse_checkpoint, parse_signed_note

    checkpoint = parse_checkpoint(parse_signed_note(data["checkpoint"]).text)
    proof = data["inclusion_proof"]
    assert proof["tree_size"] == checkpoint.size
    assert verify_inclusion(
        base64.b64decode(proof["leaf_hash"]),
        proof["seq"],
        proof["tree_size"],
        [base64.b64decode(p) for p in proof["proof"]],
        checkpoint.root,
    )


def test_revoke_api(agent, agent_client):
    token = agent.post("/decide", DEMO, format="json").json()["capability_token"]
    other = agent_client("decide")
    denied = other.post("/tokens/revoke", {"capability_token": token, "reason": "x"}, format="json")
    assert denied.status_code == 403
    assert not LedgerEntry.objects.filter(entry_type="token.revoked").exists()
    response = agent.post(
        "/tokens/revoke", {"capability_token": token, "reason": "done"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["revoked"] is True
    check = agent.post("/decide/verify", {"capability_token": token}, format="json").json()
    assert check["reason"] == "revoked"
    unknown = agent.post("/tokens/revoke", {"jti": "f" * 32, "reason": "x"}, format="json")
    assert unknown.status_code == 404


def test_token_keys_are_public_and_separate_from_checkpoint_keys(client, agent):
    agent.post("/decide", DEMO, format="json")
    keys = client.get("/tokens/keys").json()["keys"]
    assert {k["purpose"] for k in keys} == {"token"}
    ledger_keys = client.get("/ledger/keys").json()["keys"]
    assert not {k["kid"] for k in keys} & {k["kid"] for k in ledger_keys}
    assert Decision.objects.count() == 1
