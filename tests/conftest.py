"""Shared fixtures: users per role, verified (password + OTP) browser sessions, agent keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from rest_framework.test import APIClient

from tests.factories import PASSWORD, AgentKeyFactory, UserFactory

__all__ = ["DEMO", "PASSWORD", "verify_session"]

ROOT = Path(__file__).resolve().parents[1]
# The README quick-start request: allowed under the demo policy.
DEMO = {
    "actor": "ai_agent:customer_service",
    "action": "access_customer_data",
    "context": {"purpose": "support_ticket", "data_sensitivity": "high"},
}


@pytest.fixture
def make_user(db):
    """Create a staff user with a role and a confirmed TOTP device."""

    def _make(username: str = "alice", role: str = "reviewer", *, totp: bool = True):
        return UserFactory(username=username, role=role, totp=totp)

    return _make


def verify_session(client: Client, user) -> Client:
    """Log ``client`` in as ``user`` with a verified OTP device, as the two-step login does."""
    client.force_login(user)
    device = user.totpdevice_set.filter(confirmed=True).first()
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def verified_client(make_user):
    """A browser-like client signed in with password and OTP, for a given role."""

    def _client(role: str = "compliance_officer", username: str | None = None) -> Client:
        user = make_user(username or f"user_{role}", role)
        return verify_session(Client(), user)

    return _client


@pytest.fixture
def agent_client(db):
    """An API client authenticated with a fresh agent key holding ``scopes``."""

    def _client(*scopes: str) -> APIClient:
        key = AgentKeyFactory(scopes=scopes or ("decide",))
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.raw_key}")
        client.agent_key = key
        return client

    return _client


_RSA_POOL: list = []
_RSA_POOL_SIZE = 4


@pytest.fixture(autouse=True)
def _reuse_rsa_keys(monkeypatch):
    """RSA-4096 generation costs ~0.5 s; tests draw real keys from a small pool generated once.

    Every key is a genuine RSA-4096 key and consecutive calls return distinct keys, so rotation
    tests still see a new key. Nothing about signing or verification is faked.
    """
    from apps.ledger import keys as keycrypto

    real_generate = keycrypto.generate
    counter = iter(range(10**9))

    def generate(algorithm: str):
        if algorithm != "RSA-PSS-4096":
            return real_generate(algorithm)
        index = next(counter) % _RSA_POOL_SIZE
        while len(_RSA_POOL) <= index:
            _RSA_POOL.append(real_generate(algorithm))
        return _RSA_POOL[index]

    monkeypatch.setattr(keycrypto, "generate", generate)


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    """Per-process caches (active policy pointer, token keys, rate-limit counters) must not leak
    between tests."""
    from apps.accounts.services import forget_verified_keys
    from apps.aisystems.selectors import forget_registered_ids
    from apps.core.ratelimit.limiter import forget_limiter
    from apps.policies.selectors import forget_active_cache
    from apps.tokens.services import forget_cached_keys

    caches = (
        forget_active_cache,
        forget_cached_keys,
        forget_verified_keys,
        forget_registered_ids,
        forget_limiter,
    )
    for forget in caches:
        forget()
    yield
    for forget in caches:
        forget()


def load_demo_policy() -> str:
    """Load and activate the demo policy (policies/examples/customer_service.json); its version."""
    from apps.accounts.principals import system_actor
    from apps.policies import services as policy_services

    document = json.loads((ROOT / "policies/examples/customer_service.json").read_text())
    return policy_services.policy_load(
        document=document, actor=system_actor("test"), activate=True
    ).version


@pytest.fixture
def demo_policy(db):
    """The demo policy, loaded and active."""
    return load_demo_policy()


@pytest.fixture
def agent(agent_client, demo_policy):
    """An agent with ``decide`` and ``ledger:read``, the demo policy active."""
    return agent_client("decide", "ledger:read")


@pytest.fixture
def staff(make_user):
    """``staff(username, role)`` → a user with a confirmed TOTP device and an e-mail address."""

    def _make(username: str, role: str):
        user = make_user(username, role)
        user.email = f"{username}@example.org"
        user.save(update_fields=["email"])
        return user

    return _make


@pytest.fixture
def as_user():
    """``as_user(user)`` → a Django test client signed in with password and OTP."""

    def _client(user, *, csrf: bool = False) -> Client:
        return verify_session(Client(enforce_csrf_checks=csrf), user)

    return _client


def pytest_runtest_setup(item):
    """``@pytest.mark.postgres`` tests run only on the PostgreSQL pass of ``.ci/run``."""
    if item.get_closest_marker("postgres") is None:
        return
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (runs in the second pass of .ci/run)")


def empty_append_only_tables() -> None:
    """Empty every table PostgreSQL's append-only triggers guard (found by their trigger names),
    so a ``transactional_db`` flush after a test that wrote them can run."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        # information_schema does not list TRUNCATE triggers; pg_trigger does.
        cursor.execute(
            "SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger "
            "WHERE NOT tgisinternal AND (tgname LIKE %s OR tgname LIKE %s)",
            ["%no_truncate%", "%no_update_delete%"],
        )
        tables = sorted(row[0] for row in cursor.fetchall())
        if not tables:
            return
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
        cursor.execute("SET session_replication_role = origin")
