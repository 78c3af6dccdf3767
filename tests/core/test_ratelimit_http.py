"""Rate limits as clients meet them (ADR 0025, RELIABILITY T28): budgets per agent key (/decide and
the rest apart), per staff user, per address and per sign-in pair; 429 in the error shape with
Retry-After, X-RateLimit-* on every limited answer, nothing written for a refused request,
/health never limited, fail open / closed while Redis is away, X-Forwarded-For only from trusted
proxies. In-process memory counters unless a test points the limiter at Redis."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from axes.models import AccessAttempt
from django.test import Client
from prometheus_client import REGISTRY

from apps.accounts import services as accounts
from apps.decisions.models import Decision
from apps.ledger.models import LedgerEntry
from tests.conftest import DEMO, PASSWORD
from tests.core.conftest import redis_url
from tests.live.conftest import free_port
from tests.live.proxy import Proxy

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def _decide(client, **extra):
    return client.post("/decide", DEMO, format="json", **extra)


def _limit_headers(response) -> tuple[str | None, str | None, str | None]:
    return (
        response.get("X-RateLimit-Limit"),
        response.get("X-RateLimit-Remaining"),
        response.get("X-RateLimit-Reset"),
    )


def _metric(name: str, budget: str) -> float:
    return REGISTRY.get_sample_value(name, {"route": budget}) or 0.0


def _login(username: str, password: str, ip: str):
    return Client().post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_decide_answers_carry_the_limit_headers(agent, settings):
    settings.LEXECON_RATE_LIMIT_DECIDE_PER_KEY = "5/60"
    answers = [_decide(agent) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert [_limit_headers(answer)[:2] for answer in answers] == [
        ("5", "4"),
        ("5", "3"),
        ("5", "2"),
    ]
    assert all(1 <= int(answer["X-RateLimit-Reset"]) <= 60 for answer in answers)


def test_t28_decide_over_the_limit_is_429_with_retry_after_and_writes_nothing(agent, settings):
    settings.LEXECON_RATE_LIMIT_DECIDE_PER_KEY = "2/60"
    assert [_decide(agent).status_code for _ in range(2)] == [200, 200]
    decisions, entries = Decision.objects.count(), LedgerEntry.objects.count()
    before = _metric("lexecon_rate_limited_total", "decide")

    refused = _decide(agent, HTTP_IDEMPOTENCY_KEY="refused-1")

    assert refused.status_code == 429
    body = refused.json()
    assert body["error"]["code"] == "rate_limited"
    assert body["error"]["details"]["budget"] == "decide"
    assert body["error"]["details"]["limit"] == 2
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert body["error"]["details"]["retry_after"] == int(refused["Retry-After"])
    assert _limit_headers(refused)[:2] == ("2", "0")
    assert refused["X-RateLimit-Reset"] == refused["Retry-After"]
    # Nothing was decided, recorded or remembered for the refused call.
    assert Decision.objects.count() == decisions
    assert LedgerEntry.objects.count() == entries
    assert not Decision.objects.filter(idempotency_key="refused-1").exists()
    assert _metric("lexecon_rate_limited_total", "decide") == before + 1


def test_decide_and_the_rest_of_the_api_have_separate_budgets_per_key(
    agent, agent_client, settings
):
    settings.LEXECON_RATE_LIMIT_DECIDE_PER_KEY = "1/60"
    settings.LEXECON_RATE_LIMIT_API_PER_KEY = "2/60"
    other = agent_client("decide")
    assert _decide(agent).status_code == 200
    assert _decide(agent).status_code == 429
    # The same key still reads: the api budget is its own...
    reads = [agent.get("/decisions") for _ in range(3)]
    assert [read.status_code for read in reads] == [200, 200, 429]
    assert _limit_headers(reads[0])[:2] == ("2", "1")
    assert reads[2].json()["error"]["details"]["budget"] == "api"
    # ...and another key is untouched by both.
    assert _decide(other).status_code == 200


def test_a_keys_own_rates_override_the_defaults(agent_client, demo_policy, settings):
    settings.LEXECON_RATE_LIMIT_DECIDE_PER_KEY = "100/60"
    strict, unlimited = agent_client("decide"), agent_client("decide")
    accounts.agent_key_set_rate_limits(
        key=strict.agent_key, decide_rate_limit="1/60", api_rate_limit=""
    )
    accounts.agent_key_set_rate_limits(
        key=unlimited.agent_key, decide_rate_limit="off", api_rate_limit=""
    )
    first = _decide(strict)
    assert (first.status_code, first["X-RateLimit-Limit"]) == (200, "1")
    assert _decide(strict).status_code == 429
    answers = [_decide(unlimited) for _ in range(3)]
    assert {answer.status_code for answer in answers} == {200}
    assert _limit_headers(answers[-1]) == (None, None, None)  # "off": not a limited route for it


def test_health_is_never_limited(client, settings):
    settings.LEXECON_RATE_LIMIT_GLOBAL_PER_IP = "1/60"
    for _ in range(20):
        response = client.get("/health")
        assert response.status_code == 200
        assert _limit_headers(response) == (None, None, None)
    assert client.get(LOGIN).status_code == 200
    assert client.get(LOGIN).status_code == 429


def test_anonymous_callers_are_counted_per_address_on_pages_and_api(settings):
    settings.LEXECON_RATE_LIMIT_GLOBAL_PER_IP = "2/60"
    here, there = Client(REMOTE_ADDR="192.0.2.10"), Client(REMOTE_ADDR="192.0.2.11")
    assert here.get(LOGIN).status_code == 200
    # An API view refuses the anonymous caller (401), but the call is counted before it runs.
    status = here.get("/status")
    assert (status.status_code, _limit_headers(status)[:2]) == (401, ("2", "0"))
    page = here.get(LOGIN)
    assert page.status_code == 429
    assert page["Content-Type"].startswith("text/html")
    assert b"Too many requests" in page.content
    assert int(page["Retry-After"]) >= 1
    api = here.get("/status")
    assert api.status_code == 429
    assert api.json()["error"]["code"] == "rate_limited"
    assert api.json()["error"]["details"]["budget"] == "ip"
    assert there.get(LOGIN).status_code == 200


def test_staff_are_counted_per_user_on_pages_and_api(verified_client, settings):
    settings.LEXECON_RATE_LIMIT_STAFF_PER_USER = "2/60"
    settings.LEXECON_RATE_LIMIT_GLOBAL_PER_IP = "1/60"  # staff are not counted per address
    officer, colleague = verified_client("compliance_officer"), verified_client("auditor")
    home = officer.get("/dashboard/")
    assert (home.status_code, _limit_headers(home)[:2]) == (200, ("2", "1"))
    assert officer.get("/decisions").status_code == 200
    refused = officer.get("/decisions")
    assert refused.status_code == 429
    assert refused.json()["error"]["details"]["budget"] == "staff"
    assert officer.get("/dashboard/").status_code == 429
    assert colleague.get("/dashboard/").status_code == 200
    assert colleague.get("/dashboard/").status_code == 200


def test_sign_in_posts_are_counted_per_user_name_and_address(make_user, settings):
    settings.LEXECON_RATE_LIMIT_AUTH_LOGIN = "2/300"
    settings.AXES_FAILURE_LIMIT = 10  # the lockout is not what this test is about
    make_user("alice", "reviewer")
    make_user("bob", "reviewer")
    assert _login("alice", "wrong", "192.0.2.20").status_code == 200
    assert _login("alice", "wrong", "192.0.2.20").status_code == 200
    failures = AccessAttempt.objects.get(username="alice").failures_since_start
    refused = _login("alice", PASSWORD, "192.0.2.20")
    assert refused.status_code == 429
    assert b"Too many requests" in refused.content
    assert b"alice" not in refused.content
    # Refused before the password was looked at: nothing new was recorded.
    assert AccessAttempt.objects.get(username="alice").failures_since_start == failures
    # A colleague at the same address, and alice elsewhere, are not held up.
    assert _login("bob", PASSWORD, "192.0.2.20").status_code == 302
    assert _login("alice", PASSWORD, "192.0.2.21").status_code == 302


def test_a_made_up_authorization_header_does_not_escape_the_address_budget(settings):
    """Public views without authentication never look at the header; the call still counts
    against the caller's address."""
    settings.LEXECON_RATE_LIMIT_GLOBAL_PER_IP = "2/60"
    caller = Client(REMOTE_ADDR="192.0.2.40")
    answers = [
        caller.get("/tokens/keys", HTTP_AUTHORIZATION=f"Bearer made-up-{index}")
        for index in range(3)
    ]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[2].json()["error"]["details"]["budget"] == "ip"
    assert _limit_headers(answers[0])[:2] == ("2", "1")


def test_the_limiter_can_be_switched_off(agent, settings):
    settings.LEXECON_RATE_LIMIT_ENABLED = False
    settings.LEXECON_RATE_LIMIT_DECIDE_PER_KEY = "1/60"
    settings.LEXECON_RATE_LIMIT_GLOBAL_PER_IP = "1/60"
    answers = [_decide(agent) for _ in range(3)]
    assert {answer.status_code for answer in answers} == {200}
    assert _limit_headers(answers[-1]) == (None, None, None)
    assert {Client().get(LOGIN).status_code for _ in range(3)} == {200}


def test_forwarded_for_counts_only_from_a_trusted_proxy(settings):
    settings.LEXECON_RATE_LIMIT_GLOBAL_PER_IP = "1/60"
    settings.LEXECON_TRUSTED_PROXIES = ("10.0.0.1/32",)
    proxy = Client(REMOTE_ADDR="10.0.0.1")
    # Behind the trusted proxy, each client has its own budget.
    assert proxy.get(LOGIN, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 200
    assert proxy.get(LOGIN, HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 200
    assert proxy.get(LOGIN, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 429
    # A client talking to us directly cannot buy new budgets by writing the header.
    direct = Client(REMOTE_ADDR="203.0.113.9")
    assert direct.get(LOGIN, HTTP_X_FORWARDED_FOR="198.51.100.3").status_code == 200
    assert direct.get(LOGIN, HTTP_X_FORWARDED_FOR="198.51.100.4").status_code == 429
    # Nor can a client of the proxy, by writing an address to the left of the proxy's.
    spoofed = proxy.get(LOGIN, HTTP_X_FORWARDED_FOR="198.51.100.9, 198.51.100.2")
    assert spoofed.status_code == 429


def test_http_requests_are_counted_in_redis(agent, redis_limiter, settings):
    settings.LEXECON_RATE_LIMIT_DECIDE_PER_KEY = "3/60"
    statuses = [_decide(agent).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    key = f"{settings.LEXECON_RATE_LIMIT_KEY_PREFIX}decide:{agent.agent_key.pk}"
    assert int(redis_limiter.get(key)) == 4


@pytest.fixture
def redis_behind_proxy(settings):
    """The limiter's Redis behind a proxy the test takes down: the real Redis when the pass has
    one (so the test also sees it come back), else nothing at all behind it."""
    if (found := redis_url()) is not None:
        url = urlsplit(found)
        target, path = (url.hostname or "127.0.0.1", url.port or 6379), url.path or "/0"
    else:
        target, path = ("127.0.0.1", free_port()), "/0"
    proxy = Proxy(target)
    settings.LEXECON_RATE_LIMIT_REDIS_URL = f"redis://127.0.0.1:{proxy.port}{path}"
    settings.LEXECON_RATE_LIMIT_KEY_PREFIX = f"lexecon-test:{proxy.port}:"
    settings.LEXECON_RATE_LIMIT_STORE_TIMEOUT_SECONDS = 0.2
    yield proxy
    proxy.close()


def test_redis_stopped_decide_fails_open_and_sign_in_fails_closed(
    agent, make_user, redis_behind_proxy, settings, caplog
):
    settings.LEXECON_RATE_LIMIT_DECIDE_PER_KEY = "1/60"
    make_user("carol", "reviewer")
    redis_behind_proxy.down()
    opened = _metric("lexecon_rate_limit_fail_open_total", "decide")
    closed = _metric("lexecon_rate_limit_fail_closed_total", "login")

    answers = [_decide(agent) for _ in range(3)]  # over the 1/60 limit: not counted, admitted
    sign_in = _login("carol", PASSWORD, "192.0.2.30")

    assert {answer.status_code for answer in answers} == {200}
    assert _limit_headers(answers[0]) == (None, None, None)  # nothing counted, nothing claimed
    assert Decision.objects.count() == 3
    assert sign_in.status_code == 503
    assert sign_in["Retry-After"] == "5"
    assert "_auth_user_id" not in sign_in.client.session
    assert not AccessAttempt.objects.exists()
    assert _metric("lexecon_rate_limit_fail_open_total", "decide") == opened + 3
    assert _metric("lexecon_rate_limit_fail_closed_total", "login") == closed + 1
    assert "rate-limit store unreachable" in caplog.text


def test_redis_stopped_on_a_json_route_that_fails_closed(agent, redis_behind_proxy, settings):
    settings.LEXECON_RATE_LIMIT_FAIL_CLOSED = ("api",)
    redis_behind_proxy.down()
    refused = agent.get("/decisions")
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "rate_limit_unavailable"
    assert refused["Retry-After"] == "5"
    assert _decide(agent).status_code == 200  # decide still fails open


def test_error_bodies_are_json(agent, settings):
    settings.LEXECON_RATE_LIMIT_DECIDE_PER_KEY = "1/60"
    _decide(agent)
    refused = _decide(agent)
    assert refused["Content-Type"] == "application/json"
    assert set(json.loads(refused.content)) == {"error"}


def test_the_schema_documents_429_on_every_operation_but_health(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operations = [
        (path, method, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]
    assert len(operations) > 20
    for path, method, operation in operations:
        if path == "/health":
            assert "429" not in operation["responses"]
        else:
            assert "Retry-After" in operation["responses"]["429"]["headers"], (path, method)
