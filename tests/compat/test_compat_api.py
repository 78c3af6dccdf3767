"""The original Lexecon's routes of sections 1.1, 1.2, 1.3, 1.7 and 1.9 (docs/compat.md)."""

from __future__ import annotations

import ast
import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import load_der_public_key
from django_otp.oath import TOTP

from apps.decisions.models import Decision
from apps.ledger.models import LedgerEntry
from apps.policies.models import PolicyVersion
from tests.conftest import DEMO, PASSWORD

ORIGINAL = {
    "actor": "ai_agent:customer_service",
    "proposed_action": "access_customer_data",
    "tool": "crm",
    "user_intent": "answer a support ticket",
    "context": {"purpose": "support_ticket"},
    "risk_level": 1,
}
COMPAT = Path(__file__).resolve().parents[2] / "apps" / "compat"


def test_compat_imports_only_services_selectors_and_models_of_other_apps():
    allowed_other = {
        "apps.accounts.authentication",  # the agent key and staff session classes
        "apps.accounts.constants",
        "apps.accounts.views",  # the staff home page, served to browsers at GET /
        "apps.ledger.entry_types",
    }
    for path in COMPAT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                if not name.startswith("apps.") or name.startswith(("apps.compat", "apps.core")):
                    continue
                parts = name.split(".")
                if len(parts) < 3:
                    continue  # "from apps.ledger import selectors": the names are checked
                ok = parts[2] in {"services", "selectors", "models"} or ".".join(parts[:3]) in (
                    allowed_other
                )
                assert ok, f"{path.name} imports {name}"


def _decide(client, body, **extra):
    return client.post("/decide", body, format="json", **extra)


# --- 1.2 /decide ---------------------------------------------------------------------------------


def test_original_request_gets_original_fields_and_a_verifiable_signature(agent, client):
    response = _decide(agent, ORIGINAL)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["decision"] == "permit"
    assert body["allowed"] is True
    assert body["reasoning"] == body["reason"]
    decision = Decision.objects.get()
    assert body["policy_version_hash"] == decision.policy_version
    token = body["capability_token"]
    assert token["token_id"] == decision.token_jti
    assert token["scope"] == {"action": "access_customer_data", "tool": "crm"}
    assert token["policy_version_hash"] == decision.policy_version
    assert token["token"] == decision.capability_token
    assert token["expiry"].endswith("+00:00")
    # The signature: Ed25519 over the prefix and the ledger entry hash, with a published key.
    keys = {k["kid"]: k for k in client.get("/tokens/keys").json()["keys"]}
    public = load_der_public_key(base64.b64decode(keys[body["signature_kid"]]["public_key"]))
    assert isinstance(public, ed25519.Ed25519PublicKey)
    message = b"lexecon-decision-signature:v1:" + body["ledger_entry_hash"].encode()
    public.verify(base64.b64decode(body["signature"]), message)  # raises if wrong
    # Written through our service: the same ledger entry as a native call.
    entry = LedgerEntry.objects.get(seq=body["ledger_entry_id"])
    assert entry.entry_type == "decision.made"
    assert json.loads(entry.payload)["request"]["action"] == "access_customer_data"


def test_original_deny_has_null_token_and_native_answers_are_unchanged(agent):
    denied = _decide(agent, {**ORIGINAL, "proposed_action": "delete_everything"}).json()
    assert denied["decision"] == "deny"
    assert denied["capability_token"] is None
    native = _decide(agent, DEMO).json()
    assert isinstance(native["capability_token"], str)
    assert "signature" not in native
    assert "reasoning" not in native


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tool": None}, "tool"),
        ({"user_intent": None}, "user_intent"),
        ({"actor": "bad actor!"}, "actor"),
        ({"risk_level": 9}, "risk_level"),
        ({"policy_mode": "yolo"}, "policy_mode"),
        ({"actor": "a" * 220}, "actor"),  # fits the original (255), not ours (200)
    ],
)
def test_original_validation_errors_are_422_detail_lists(agent, change, field):
    body = {k: v for k, v in {**ORIGINAL, **change}.items() if v is not None}
    response = _decide(agent, body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, list)
    assert any(item["loc"][:2] == ["body", field] for item in detail), detail
    assert Decision.objects.count() == 0
    assert not LedgerEntry.objects.filter(entry_type="decision.made").exists()


def test_native_validation_stays_400_error_shape(agent):
    response = _decide(agent, {**DEMO, "actor": 5})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize("scopes", [None, ("ledger:read",)])
def test_decide_permissions_write_nothing(client, agent_client, demo_policy, scopes):
    caller = client if scopes is None else agent_client(*scopes)
    response = caller.post("/decide", ORIGINAL, content_type="application/json")
    assert response.status_code in {401, 403}
    assert Decision.objects.count() == 0


def test_decide_verify_original_inputs(agent):
    answer = _decide(agent, ORIGINAL).json()
    for body in (
        answer,
        {"decision_response": answer},
        {"ledger_entry_hash": answer["ledger_entry_hash"]},
    ):
        result = agent.post("/decide/verify", body, format="json")
        assert result.status_code == 200, result.content
        assert result.json()["verified"] is True
        assert result.json()["entry"]["entry_hash"] == answer["ledger_entry_hash"]
        assert result.json()["entry"]["event_type"] == "decision.made"
    forged = {**answer, "signature": base64.b64encode(b"x" * 64).decode()}
    assert agent.post("/decide/verify", forged, format="json").json()["verified"] is False
    missing = agent.post("/decide/verify", {"decision_response": {}}, format="json")
    assert missing.status_code == 400
    assert missing.json() == {"detail": "Missing ledger_entry_hash"}
    unknown = agent.post("/decide/verify", {"ledger_entry_hash": "0" * 64}, format="json")
    assert unknown.status_code == 404


# --- 1.2 policies ------------------------------------------------------------------------------


def test_bare_original_policy_loads_and_activates(agent_client):
    writer = agent_client("policies:write", "policies:read")
    document = {
        "name": "short form",
        "terms": [
            {"id": "actor:bot", "type": "actor", "name": "Bot"},
            {"id": "action:read", "type": "action", "name": "Read"},
        ],
        "relations": [{"type": "permits", "subject": "actor:bot", "action": "action:read"}],
    }
    response = writer.post("/policies/load", document, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "success"
    assert (body["terms_loaded"], body["relations_loaded"]) == (2, 1)
    assert body["active"] is True
    assert LedgerEntry.objects.filter(entry_type="policy.activated").count() == 1
    listing = writer.get("/policies").json()
    assert listing["policy_hash"] == body["policy_hash"]
    assert (listing["terms_count"], listing["relations_count"]) == (2, 1)
    assert listing["mode"] == "strict"
    bad = writer.post("/policies/load", {"terms": [{"id": "x"}]}, format="json")
    assert bad.status_code == 400
    assert bad.json()["detail"].startswith("Failed to load policy:")
    reader = agent_client("policies:read")
    assert reader.post("/policies/load", document, format="json").status_code == 403
    assert PolicyVersion.objects.count() == 1


# --- 1.3 ledger ---------------------------------------------------------------------------------


def test_ledger_entries_verify_and_report(agent):
    _decide(agent, ORIGINAL)
    body = agent.get("/ledger/entries?event_type=decision&verify=true").json()
    assert body["total"] == 1
    assert body["offset"] == 0
    assert body["chain_valid"] is True
    entry = body["entries"][0]
    assert entry["event_type"] == "decision.made"
    assert entry["data"] == entry["payload"]
    assert entry["previous_hash"] == entry["prev_hash"]
    assert agent.get("/ledger/entries?event_type=nothing").json()["total"] == 0
    verify = agent.get("/ledger/verify").json()
    assert verify["chain_intact"] is True
    assert verify["entries_verified"] == LedgerEntry.objects.count()
    assert verify["chain_head_hash"] == LedgerEntry.objects.order_by("-seq")[0].entry_hash
    report = agent.get("/ledger/report").json()
    assert report["total_entries"] == LedgerEntry.objects.count()
    assert report["integrity_valid"] is True
    assert report["event_type_counts"]["decision.made"] == 1
    stats = agent.get("/storage/stats").json()
    assert stats["total_entries"] == LedgerEntry.objects.count()
    assert stats["chain_integrity"] is True


@pytest.mark.parametrize(
    "url", ["/ledger/report", "/storage/stats", "/api/v1/audit/decisions", "/api/v1/audit/stats"]
)
def test_read_routes_need_credentials_and_scope(client, agent_client, make_user, url):
    assert client.get(url).status_code == 401
    assert agent_client("decide").get(url).status_code == 403
    password_only = make_user("pw", "auditor")
    client.force_login(password_only)  # password step only, no one-time code
    assert client.get(url).status_code == 403


# --- 1.1 system -----------------------------------------------------------------------------------


def test_health_status_root_and_dashboards(client, agent):
    health = client.get("/health").json()
    assert health["status"] == "ok"
    assert {"version", "node_id", "timestamp"} <= set(health)
    status = agent.get("/status").json()
    assert status["policy_loaded"] is True
    assert status["node_id"] == health["node_id"]
    assert status["ledger_entries"] == LedgerEntry.objects.count()
    info = client.get("/", HTTP_ACCEPT="application/json")
    assert info.status_code == 200
    assert info.json()["endpoints"]["decide"] == "/decide"
    assert client.get("/", HTTP_ACCEPT="*/*").json()["status"] == "operational"  # curl, requests
    assert client.get("/", HTTP_ACCEPT="text/html").status_code == 302  # to the sign-in page
    assert client.get("/").status_code == 302  # no Accept: a browser, as before
    assert client.get("/dashboard")["Location"] == "/dashboard/"
    assert client.get("/dashboard/governance")["Location"] == "/dashboard/"
    assert client.get("/health")["X-Request-ID"]


# --- 1.7 auth -------------------------------------------------------------------------------------


def _code(user) -> str:
    device = user.totpdevice_set.get()
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits).token():06d}"


def test_login_needs_the_one_time_code_and_the_session_works(client, make_user):
    user = make_user("olga", "admin")
    first = client.post(
        "/auth/login", {"username": "olga", "password": PASSWORD}, content_type="application/json"
    ).json()
    assert first == {
        "success": False,
        "error": "One-time code required: send the request again with otp_code.",
        "mfa_required": True,
    }
    wrong = client.post(
        "/auth/login", {"username": "olga", "password": "nope"}, content_type="application/json"
    ).json()
    assert wrong == {"success": False, "error": "Invalid username or password"}
    done = client.post(
        "/auth/login",
        {"username": "olga", "password": PASSWORD, "otp_code": _code(user)},
        content_type="application/json",
    ).json()
    assert done["success"] is True
    assert done["user"]["username"] == "olga"
    from django.test import Client

    bearer = Client(HTTP_AUTHORIZATION=f"Bearer {done['session_id']}")
    me = bearer.get("/auth/me")
    assert me.status_code == 200
    assert me.json()["user"]["username"] == "olga"
    users = bearer.get("/auth/users").json()
    assert [u["username"] for u in users["users"]] == ["olga"]
    created = bearer.post(
        "/auth/users",
        {"username": "newbie", "password": "a long enough passphrase", "role": "auditor"},
        content_type="application/json",
    )
    assert created.status_code == 201
    weak = bearer.post(
        "/auth/users",
        {"username": "weak", "password": "short", "role": "auditor"},
        content_type="application/json",
    )
    assert weak.status_code == 400
    assert bearer.get("/auth/password-policy").json()["min_length"] == 12
    assert bearer.post("/auth/logout").json()["success"] is True
    assert bearer.get("/auth/me").status_code == 401


def test_auth_routes_refuse_without_a_verified_session(client, agent_client, make_user):
    assert client.get("/auth/me").status_code == 401
    assert client.get("/auth/users").status_code == 401
    assert agent_client("decide").get("/auth/users").status_code == 403
    reviewer = make_user("rita", "reviewer")
    client.force_login(reviewer)
    assert client.get("/auth/me").status_code == 403  # password only
    assert Client_bearer_invalid().get("/auth/me").status_code == 401


def Client_bearer_invalid():
    from django.test import Client

    return Client(HTTP_AUTHORIZATION="Bearer not-a-session")


# --- 1.9 dashboard API ---------------------------------------------------------------------------


def test_audit_decisions_stats_and_verify_are_live(agent_client, demo_policy):
    caller = agent_client("decide", "ledger:read")
    _decide(caller, ORIGINAL)
    _decide(caller, {**ORIGINAL, "proposed_action": "delete_everything"})
    listing = caller.get("/api/v1/audit/decisions").json()
    assert listing["total"] == 2
    assert [d["outcome"] for d in listing["decisions"]] == ["denied", "approved"]
    assert all(d["verified"] for d in listing["decisions"])
    denied = caller.get("/api/v1/audit/decisions?outcome=denied").json()
    assert denied["total"] == 1
    one = caller.get(f"/api/v1/audit/decisions/{listing['decisions'][0]['id']}").json()
    assert one["verification"]["recordedHash"] == one["signature"]
    assert caller.get("/api/v1/audit/decisions/nope").status_code == 404
    stats = caller.get("/api/v1/audit/stats").json()
    assert (stats["totalDecisions"], stats["deniedDecisions"]) == (2, 1)
    assert stats["totalDecisionsChange"] is None  # no week before to compare with
    verify = caller.post("/api/v1/audit/verify").json()
    assert verify["verified"] is True
    assert verify["integrityPercentage"] == 100.0


def _login(client, username, password, **extra):
    return client.post(
        "/auth/login",
        {"username": username, "password": password, **extra},
        content_type="application/json",
        REMOTE_ADDR="10.9.0.1",
    )


def test_login_goes_through_the_lockout_and_the_login_budget(client, make_user, settings):
    user = make_user("locky", "admin")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, "locky", "wrong").json() == {
            "success": False,
            "error": "Invalid username or password",
        }
    locked = _login(client, "locky", "wrong")
    assert locked.status_code == 200
    assert locked.json()["locked"] is True
    assert locked.json()["success"] is False
    # Over the login budget (5 per user name + address): refused before the view, in our shape.
    refused = _login(client, "locky", PASSWORD, otp_code=_code(user))
    assert refused.status_code == 429
    assert refused["X-RateLimit-Limit"] == "5"
    assert "session_id" not in refused.json()
    # Another user name from the same address has a budget of its own.
    make_user("other", "admin")
    assert _login(client, "other", PASSWORD).json()["mfa_required"] is True


def test_locked_account_gets_no_session_even_with_password_and_code(make_user, settings):
    from django.test import Client

    user = make_user("held", "admin")
    settings.LEXECON_RATE_LIMIT_AUTH_LOGIN = "100/300"
    from apps.core.ratelimit.limiter import forget_limiter

    forget_limiter()
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "held", "wrong")
    answer = _login(client, "held", PASSWORD, otp_code=_code(user)).json()
    assert answer["success"] is False
    assert answer["locked"] is True
    assert "session_id" not in answer


def test_session_cookie_works_and_a_password_only_session_is_refused(client, make_user):
    from django.test import Client

    user = make_user("cookie", "auditor")
    done = _login(client, "cookie", PASSWORD, otp_code=_code(user)).json()
    cookie_client = Client()
    cookie_client.cookies["session_id"] = done["session_id"]
    assert cookie_client.get("/api/v1/audit/stats").status_code == 200
    # A Django session after the password step only, presented as the original's token.
    half = Client()
    half.post("/accounts/login/", {"username": "cookie", "password": PASSWORD, "next": "/"})
    half_key = half.cookies["sessionid"].value
    bearer = Client(HTTP_AUTHORIZATION=f"Bearer {half_key}")
    assert bearer.get("/api/v1/audit/stats").status_code == 403
    assert bearer.get("/auth/me").status_code == 403
    # The compat token is refused on native routes: compat views only.
    native = Client(HTTP_AUTHORIZATION=f"Bearer {done['session_id']}")
    assert native.get("/ledger/entries").status_code == 401


def test_compat_routes_carry_rate_limit_and_request_id_headers(agent):
    response = agent.get("/ledger/report", HTTP_X_REQUEST_ID="trace-7")
    assert response["X-Request-ID"] == "trace-7"
    assert int(response["X-RateLimit-Limit"]) > 0
    assert int(response["X-RateLimit-Remaining"]) < int(response["X-RateLimit-Limit"])


def test_x_tenant_id_is_ignored(agent):
    _decide(agent, ORIGINAL)
    plain = agent.get("/ledger/entries?event_type=decision").json()
    other = agent.get("/ledger/entries?event_type=decision", HTTP_X_TENANT_ID="acme").json()
    assert plain["total"] == other["total"] == 1
    assert "tenant_id" not in other


def test_users_post_refusals_write_nothing(agent_client, make_user):
    from django.contrib.auth import get_user_model

    reviewer = make_user("rev", "reviewer")
    from django.test import Client

    from tests.conftest import verify_session

    as_reviewer = verify_session(Client(), reviewer)
    body = {"username": "intruder", "password": "a long enough passphrase", "role": "admin"}
    assert as_reviewer.post("/auth/users", body, content_type="application/json").status_code == 403
    assert agent_client("decide").post("/auth/users", body, format="json").status_code == 403
    assert not get_user_model().objects.filter(username="intruder").exists()


# Every route of these sections, with the original's request, and a scope that is not enough.
ROUTES = [
    ("post", "/decide", ORIGINAL, "ledger:read"),
    ("post", "/decide/verify", {"ledger_entry_hash": "0" * 64}, "ledger:read"),
    ("get", "/policies", None, "decide"),
    ("post", "/policies/load", {"terms": [], "relations": []}, "policies:read"),
    ("get", "/ledger/entries?event_type=decision", None, "decide"),
    ("get", "/ledger/verify", None, "decide"),
    ("get", "/ledger/report", None, "decide"),
    ("get", "/storage/stats", None, "decide"),
    ("get", "/auth/me", None, "ledger:read"),
    ("get", "/auth/users", None, "ledger:read"),
    ("post", "/auth/users", {"username": "x", "password": "y" * 20, "role": "admin"}, "decide"),
    ("get", "/api/v1/audit/decisions", None, "decide"),
    ("get", "/api/v1/audit/decisions/00000000-0000-0000-0000-000000000000", None, "decide"),
    ("get", "/api/v1/audit/stats", None, "decide"),
    ("post", "/api/v1/audit/verify", None, "decide"),
]


def _call(client, method, url, body):
    if method == "get":
        return client.get(url)
    return client.post(url, json.dumps(body or {}), content_type="application/json")


@pytest.mark.parametrize(("method", "url", "body", "weak_scope"), ROUTES, ids=lambda v: str(v))
def test_permission_matrix_never_200(
    client, agent_client, make_user, demo_policy, method, url, body, weak_scope
):
    from django.contrib.auth import get_user_model

    ledger_before = LedgerEntry.objects.count()
    users_before = get_user_model().objects.count()
    assert _call(client, method, url, body).status_code == 401
    assert _call(agent_client(weak_scope), method, url, body).status_code == 403
    password_only = make_user("half", "admin")
    client.force_login(password_only)  # the password step only: no one-time code
    assert _call(client, method, url, body).status_code in {401, 403}
    assert LedgerEntry.objects.count() == ledger_before
    assert Decision.objects.count() == 0
    assert get_user_model().objects.count() == users_before + 1  # only "half"


def test_original_and_native_decide_write_the_same_ledger_entry(agent):
    original = _decide(agent, ORIGINAL).json()
    native = _decide(agent, {**DEMO, "tool": "crm", "user_intent": "answer a support ticket"})
    native = native.json()
    payloads = [
        json.loads(LedgerEntry.objects.get(seq=answer["ledger_entry_id"]).payload)
        for answer in (original, native)
    ]
    for payload in payloads:
        for varying in ("decision_id", "request_id", "context_commitment", "token_jti", "subject"):
            payload.pop(varying, None)
    assert payloads[0]["request"] == payloads[1]["request"]
    assert payloads[0]["outcome"] == payloads[1]["outcome"] == "allowed"
    assert payloads[0]["rules"] == payloads[1]["rules"]
    assert set(payloads[0]) == set(payloads[1])


def test_original_policy_load_writes_what_a_native_load_and_activate_writes(agent_client):
    writer = agent_client("policies:write")
    document = json.loads(
        (Path(__file__).resolve().parents[2] / "policies/examples/gdpr.json").read_text()
    )
    writer.post("/policies/load", document, format="json")
    types = list(LedgerEntry.objects.order_by("seq").values_list("entry_type", flat=True))
    assert types[-2:] == ["policy.loaded", "policy.activated"]
    again = writer.post("/policies/load", {"policy": document, "activate": True}, format="json")
    assert again.json()["created"] is False  # the same version: nothing new to write
    assert LedgerEntry.objects.count() == len(types)
