"""RELIABILITY T35 (every URL, anonymous and staff: security headers, no stack trace, no server
version), T36 (log injection) and T37 (production refuses weak secrets; detect-secrets and bandit
when installed). docs/reliability.md maps each scenario to its tests."""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import os
import re
import secrets
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from apps.core.logging import RequestIdFilter, UtcJsonFormatter
from lexecon_site.env import secret_weakness
from tests.conftest import verify_session

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = {"uuid": str(uuid.UUID(int=1)), "int": "1", "str": "x", "slug": "x", "path": "x"}
STACK_TRACE_MARKERS = (b"Traceback (most recent call last)", b"Exception Value", b"django/core/")


def _route(pattern) -> str:
    """A concrete path for one URL pattern: sample values in place of its parameters."""
    text = str(pattern)
    if text.startswith("^"):  # a regex (the admin's): alternations take their first choice
        text = text.lstrip("^").rstrip("$").replace("\\Z", "")
        text = re.sub(r"\(\?P<\w+>([a-z_]+)(\|[a-z_|]+)?\)", r"\1", text)
        text = re.sub(r"\(\?P<\w+>[^)]*\)", "1", text)
        return text.replace("\\", "")
    return re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLES.get(m.group(1) or "str", "x"), text)


def every_url() -> list[str]:
    urls: set[str] = set()

    def walk(patterns, prefix: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + _route(entry.pattern))
            elif isinstance(entry, URLPattern):
                urls.add("/" + prefix + _route(entry.pattern))

    walk(get_resolver().url_patterns, "")
    return sorted(url.replace("//", "/") for url in urls)


def _assert_hardened(url: str, response) -> None:
    assert response.status_code < 500, (url, response.status_code, response.content[:200])
    assert response["X-Content-Type-Options"] == "nosniff", url
    framing = response.get("X-Frame-Options") == "DENY"
    assert framing or "frame-ancestors 'none'" in response.get("Content-Security-Policy", ""), url
    assert response.get("Content-Security-Policy"), url
    assert response.get("Referrer-Policy") in {"same-origin", "no-referrer", "strict-origin"}, url
    assert "Server" not in response, url  # no server name, let alone a version
    assert "X-Powered-By" not in response, url
    body = b"".join(response.streaming_content) if response.streaming else response.content
    for marker in STACK_TRACE_MARKERS:
        assert marker not in body, (url, marker)


@pytest.mark.django_db
def test_t35_every_url_anonymous_and_as_staff_is_hardened(make_user):
    urls = every_url()
    assert len(urls) > 100  # the crawl found the routes, the admin's included
    anonymous = Client(raise_request_exception=False)
    staff = verify_session(Client(raise_request_exception=False), make_user("zed", "admin"))
    for client in (anonymous, staff):
        for url in urls:
            _assert_hardened(url, client.get(url))


@pytest.mark.django_db
def test_t35_errors_show_no_debug_page_and_no_internals():
    assert settings.DEBUG is False
    client = Client(raise_request_exception=False)
    for url in ("/no-such-route", "/accounts/no-such-page/", "/decisions/not-a-uuid"):
        response = client.get(url)
        assert response.status_code == 404, url
        _assert_hardened(url, response)


# --- T36 ------------------------------------------------------------------------------------------


@pytest.fixture
def json_log():
    """What the production handler writes (UTC JSON, request id), captured."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    formatter = settings.LOGGING["formatters"]["json"]
    handler.setFormatter(
        UtcJsonFormatter(
            formatter["fmt"], rename_fields=formatter["rename_fields"], datefmt=formatter["datefmt"]
        )
    )
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("lexecon.security")
    logger.addHandler(handler)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


FORGED = 'eve\r\n{"level":"admin","message":"granted"}\x1b[31m'


@pytest.mark.django_db
def test_t36_cr_lf_and_ansi_in_inputs_do_not_forge_log_lines(json_log, agent_client):
    client = Client()
    client.post("/accounts/login/", {"username": FORGED, "password": "S3cret-Attempt-991"})
    api = agent_client("ledger:read")  # a key without the decide scope
    assert api.post("/decide", {"actor": FORGED}, format="json").status_code == 403
    unknown = Client().get("/ledger/entries", HTTP_AUTHORIZATION="Bearer lxk_fake_" + FORGED)
    assert unknown.status_code == 401

    output = json_log.getvalue()
    assert "\x1b" not in output  # ANSI escapes are JSON-escaped, never raw
    assert "S3cret-Attempt-991" not in output  # the password is never logged
    assert "lxk_fake_" not in output  # nor a credential
    records = [json.loads(line) for line in output.splitlines()]  # every line one JSON object
    assert [r.get("event") for r in records] == ["auth.login_failed", "authz.denied", "auth.failed"]
    login, denied, failed = records
    assert login["username"] == FORGED  # kept verbatim inside its string, escaped
    assert login["client"] == "127.0.0.1"
    assert denied["principal"] == f"agent:{api.agent_key.name}"
    assert denied["path"] == "/decide"
    assert failed["principal"] == "anonymous"
    for record in records:
        assert record["level"] == "WARNING"
        assert record["logger"] == "lexecon.security"
        assert record["time"].endswith("+0000")  # UTC


# --- T37 ------------------------------------------------------------------------------------------

ZERO_32 = bytes(32)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (ZERO_32.hex(), "repeated"),
        (__import__("base64").b64encode(ZERO_32).decode(), "repeated"),
        (__import__("base64").urlsafe_b64encode(ZERO_32).decode().rstrip("="), "repeated"),
        ("a" * 64, "repeated"),
        ("short-but-random-Zq8", "shorter"),
        ("test-only-master-key-0123456789abcdef", "published"),
        ("abcdabcdabcdabcdabcdabcdabcdabcdabcdabcd", "repeated"),  # hex of 2 distinct bytes
        ("a" * 40 + "bcdef", "predictable"),
    ],
    ids=[
        "hex zeros",
        "base64 zeros",
        "base64url zeros",
        "one char",
        "short",
        "published",
        "hex pattern",
        "low entropy",
    ],
)
def test_t37_weak_master_keys_are_named_weak(value, why):
    assert why in (secret_weakness(value, min_length=32) or "")


def test_t37_random_keys_pass():
    for value in (secrets.token_urlsafe(32), secrets.token_hex(32), secrets.token_hex(16)):
        assert secret_weakness(value, min_length=32) is None, value
    assert secret_weakness(secrets.token_urlsafe(64), min_length=50) is None


def _start_prod(**secrets_env: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEXECON_")}
    env.update({"DJANGO_SETTINGS_MODULE": "lexecon_site.settings.prod", **secrets_env})
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LEXECON_MASTER_KEY", __import__("base64").b64encode(ZERO_32).decode()),
        ("LEXECON_MASTER_KEY", ZERO_32.hex()),
        ("LEXECON_MASTER_KEY", ""),
        ("LEXECON_SECRET_KEY", "test-only-secret-key-not-used-anywhere-else-0123456789abcdef"),
        ("LEXECON_SECRET_KEY", "x" * 80),
    ],
    ids=[
        "master 32 zero bytes b64",
        "master 32 zero bytes hex",
        "master empty",
        "secret default",
        "secret repeated",
    ],
)
def test_t37_production_refuses_to_start_with_a_weak_secret(name, value):
    good = {
        "LEXECON_SECRET_KEY": secrets.token_urlsafe(64),
        "LEXECON_MASTER_KEY": secrets.token_urlsafe(32),
    }
    result = _start_prod(**{**good, name: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr
    assert _start_prod(**good).returncode == 0


def _tool(module: str) -> list[str]:
    """Run a PyPI tool of requirements/dev.txt with this interpreter (no PATH needed)."""
    if importlib.util.find_spec(module) is None:
        pytest.fail(f"{module} is not installed: `make test` installs requirements/dev.txt")
    return [sys.executable, "-m", module]


def test_t37_bandit_is_clean():
    """Every finding is fixed or reviewed at its line (``# nosec BXXX`` beside ruff's ``noqa``)."""
    result = subprocess.run(
        [*_tool("bandit"), "-q", "-r", "apps", "lexecon_site", "-x", "*/migrations/*"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_t37_detect_secrets_finds_nothing_new():
    """Every string that looks like a secret is in the reviewed baseline (.secrets.baseline:
    test passwords, published test vectors, example URLs); anything else fails."""
    result = subprocess.run(
        [
            *_tool("detect_secrets"),
            "scan",
            "--exclude-files",
            r"(\.venv|tests/vectors)/|^\.secrets\.baseline$",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    found = {
        (name, item["hashed_secret"])
        for name, items in json.loads(result.stdout)["results"].items()
        for item in items
    }
    baseline = json.loads((ROOT / ".secrets.baseline").read_text())["results"]
    reviewed = {(name, item["hashed_secret"]) for name, items in baseline.items() for item in items}
    assert found - reviewed == set()
