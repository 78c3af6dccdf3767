"""The rate limiter's parts: rates, the two stores, the fail modes, the client address (ADR 0025).

HTTP behaviour is in test_ratelimit_http.py; the live T28 burst in tests/live/test_ratelimit_live.py.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.test import RequestFactory
from prometheus_client import REGISTRY

from apps.core.ratelimit import client_ip
from apps.core.ratelimit.limiter import (
    Charge,
    Limiter,
    LimiterUnavailable,
    budget_rate,
    forget_limiter,
    get_limiter,
)
from apps.core.ratelimit.rates import Rate, parse_rate, validate_rate
from apps.core.ratelimit.stores import MemoryStore, RedisStore, StoreUnavailable
from lexecon_site import env
from tests.live.conftest import free_port


def _metric(name: str, budget: str) -> float:
    return REGISTRY.get_sample_value(name, {"route": budget}) or 0.0


# --- rates ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "text", "expected"),
    [
        ("plain", "1000/3600", Rate(1000, 3600)),
        ("spaces", " 5 / 300 ", Rate(5, 300)),
        ("off", "off", None),
        ("off upper case", "OFF", None),
    ],
)
def test_rates_parse(_case, text, expected):
    assert parse_rate(text) == expected


@pytest.mark.parametrize("text", ["", "5", "5/", "/5", "0/60", "5/0", "-1/60", "5/60/1", "five/60"])
def test_malformed_rates_are_refused_everywhere(text, monkeypatch):
    with pytest.raises(ValueError, match="rate"):
        parse_rate(text)
    if text:  # blank is "the default" for a key's own rate
        with pytest.raises(ValidationError):
            validate_rate(text)
    monkeypatch.setenv("LEXECON_TEST_RATE", text or "nothing")
    with pytest.raises(ImproperlyConfigured, match="LEXECON_TEST_RATE"):
        env.rate("LEXECON_TEST_RATE", "1/1")


def test_trusted_proxies_setting_refuses_what_is_not_an_address(monkeypatch):
    monkeypatch.setenv("LEXECON_TEST_PROXIES", "10.0.0.1, 192.168.0.0/16,2001:db8::/32")
    assert env.networks("LEXECON_TEST_PROXIES") == (
        "10.0.0.1/32",
        "192.168.0.0/16",
        "2001:db8::/32",
    )
    monkeypatch.setenv("LEXECON_TEST_PROXIES", "10.0.0.1,proxy.example")
    with pytest.raises(ImproperlyConfigured, match=r"proxy\.example"):
        env.networks("LEXECON_TEST_PROXIES")


def test_a_keys_own_rate_wins_and_a_malformed_one_falls_back_to_the_default(settings, caplog):
    settings.LEXECON_RATE_LIMIT_API_PER_KEY = "7/60"
    assert budget_rate("api") == Rate(7, 60)
    assert budget_rate("api", "3/10") == Rate(3, 10)
    assert budget_rate("api", "off") is None
    with caplog.at_level(logging.WARNING, logger="lexecon.ratelimit"):
        assert budget_rate("api", "garbage") == Rate(7, 60)
    assert "malformed per-key rate" in caplog.text


# --- the in-memory store ---------------------------------------------------------------------------


def test_memory_window_counts_then_starts_over_when_it_ends():
    store = MemoryStore()
    counts = [store.hit([("k", 200)])[0] for _ in range(3)]
    assert [count.count for count in counts] == [1, 2, 3]
    assert all(0 < count.remaining_ms <= 200 for count in counts)
    assert store.hit([("other", 200)])[0].count == 1  # keys are independent
    time.sleep(0.25)
    assert store.hit([("k", 200)])[0].count == 1


def test_memory_store_sweeps_expired_counters():
    store = MemoryStore()
    store.SWEEP_EVERY = 10
    for index in range(9):
        store.hit([(f"short-{index}", 1)])
    time.sleep(0.01)
    store.hit([("last", 1000)])  # the 10th call sweeps
    assert set(store._counters) == {"last"}


def _burst(limiter: Limiter, *, threads: int, requests: int, rate: Rate) -> list[bool]:
    """``requests`` charges on one identity from ``threads`` threads at once; who was admitted."""
    barrier = threading.Barrier(threads)
    admitted: list[bool] = []
    lock = threading.Lock()
    per_thread = [
        requests // threads + (1 if i < requests % threads else 0) for i in range(threads)
    ]

    def run(count: int) -> None:
        barrier.wait()
        for _ in range(count):
            verdict = limiter.charge([Charge("api", "one-key", rate, "key:one")])
            with lock:
                admitted.append(verdict.allowed)

    workers = [threading.Thread(target=run, args=(count,)) for count in per_thread]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    return admitted


def test_t28_memory_store_admits_exactly_the_limit_under_32_threads():
    """The per-process path: 600 charges from 32 threads on a 200/60 budget admit exactly 200."""
    limiter = Limiter(MemoryStore(), prefix="t:", fail_closed=frozenset(), retry_seconds=1)
    admitted = _burst(limiter, threads=32, requests=600, rate=Rate(200, 60))
    assert len(admitted) == 600
    assert sum(admitted) == 200


# --- the Redis store ---------------------------------------------------------------------------------


def test_t28_redis_store_admits_exactly_the_limit_under_32_threads(redis_limiter, settings):
    """The same burst counted in Redis by the Lua script: no request is lost or double-counted
    (a read-then-write counter over-admits here)."""
    limiter = get_limiter()
    assert isinstance(limiter.store, RedisStore)
    admitted = _burst(limiter, threads=32, requests=600, rate=Rate(200, 60))
    assert len(admitted) == 600
    assert sum(admitted) == 200
    key = f"{settings.LEXECON_RATE_LIMIT_KEY_PREFIX}api:one-key"
    assert int(redis_limiter.get(key)) == 600
    assert 0 < redis_limiter.pttl(key) <= 60_000


def test_redis_window_gives_each_counter_its_window_and_restores_a_lost_expiry(
    redis_limiter, settings
):
    limiter = get_limiter()
    prefix = settings.LEXECON_RATE_LIMIT_KEY_PREFIX
    first = limiter.charge(
        [Charge("ip", "10.0.0.1", Rate(5, 2), "a"), Charge("login", "pair", Rate(2, 30), "b")]
    )
    # The binding verdict is the budget with least left: login (1 of 2 left, not 4 of 5).
    assert (first.budget, first.limit, first.remaining, first.allowed) == ("login", 2, 1, True)
    assert first.reset_seconds == 30
    assert 0 < redis_limiter.pttl(f"{prefix}ip:10.0.0.1") <= 2000
    redis_limiter.persist(f"{prefix}ip:10.0.0.1")  # an expiry lost somehow
    limiter.charge([Charge("ip", "10.0.0.1", Rate(5, 2), "a")])
    assert 0 < redis_limiter.pttl(f"{prefix}ip:10.0.0.1") <= 2000


def test_refusal_names_the_refusing_budget_with_the_longest_wait(redis_limiter):
    limiter = get_limiter()
    charges = [
        Charge("ip", "10.0.0.2", Rate(100, 60), "a"),
        Charge("login", "p", Rate(1, 300), "b"),
    ]
    assert limiter.charge(charges).allowed
    refused = limiter.charge(charges)
    assert (refused.budget, refused.allowed, refused.remaining) == ("login", False, 0)
    assert 299 <= refused.reset_seconds <= 300


# --- Redis unreachable -------------------------------------------------------------------------------


def _dead_redis_limiter(settings, *, fail_closed=("login",), retry=60.0) -> Limiter:
    settings.LEXECON_RATE_LIMIT_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    settings.LEXECON_RATE_LIMIT_FAIL_CLOSED = fail_closed
    settings.LEXECON_RATE_LIMIT_STORE_RETRY_SECONDS = retry
    return get_limiter()


def test_unreachable_store_fails_open_for_decide_logged_and_counted(settings, caplog):
    limiter = _dead_redis_limiter(settings, retry=0)  # every call tries Redis again
    before = _metric("lexecon_rate_limit_fail_open_total", "decide")
    with caplog.at_level(logging.WARNING, logger="lexecon.ratelimit"):
        for _ in range(3):
            assert limiter.charge([Charge("decide", "k", Rate(1, 60), "key:k")]) is None
    assert _metric("lexecon_rate_limit_fail_open_total", "decide") == before + 3
    # Logged once when the store went away, not once per request or per retry.
    errors = [r for r in caplog.records if "rate-limit store unreachable" in r.getMessage()]
    assert len(errors) == 1
    assert "api, decide, ip, staff fail open, login fail closed" in errors[0].getMessage()


def test_unreachable_store_fails_closed_for_login_logged_and_counted(settings):
    limiter = _dead_redis_limiter(settings)
    before = _metric("lexecon_rate_limit_fail_closed_total", "login")
    with pytest.raises(LimiterUnavailable) as refused:
        limiter.charge(
            [Charge("ip", "a", Rate(9, 60), "a"), Charge("login", "p", Rate(5, 300), "b")]
        )
    assert refused.value.budgets == ("login",)
    assert _metric("lexecon_rate_limit_fail_closed_total", "login") == before + 1


def test_fail_modes_are_configurable(settings):
    limiter = _dead_redis_limiter(settings, fail_closed=("decide",))
    with pytest.raises(LimiterUnavailable):
        limiter.charge([Charge("decide", "k", Rate(1, 60), "key:k")])
    assert limiter.charge([Charge("login", "p", Rate(5, 300), "b")]) is None


def test_store_errors_become_store_unavailable_quickly():
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0", timeout=0.2)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        store.hit([("k", 1000)])
    assert time.monotonic() - started < 1  # no retries with back-off


def test_redis_down_then_back_through_the_proxy(proxied_redis_limiter, caplog):
    """Redis refused (proxy down) and hung (stalled): every check ends within the timeout, fails
    open for decide and closed for login, and counting resumes once it is back."""
    proxy, _ = proxied_redis_limiter
    limiter = get_limiter()
    decide = [Charge("decide", "key-a", Rate(100, 60), "key:a")]
    login = [Charge("login", "pair", Rate(5, 300), "pair")]
    assert limiter.charge(decide).remaining == 99
    for fault, repair in ((proxy.down, proxy.up), (proxy.stall, proxy.unstall)):
        fault()
        started = time.monotonic()
        assert limiter.charge(decide) is None
        with pytest.raises(LimiterUnavailable):
            limiter.charge(login)
        assert time.monotonic() - started < 1  # one timeout (0.2 s) at most, then the retry wait
        repair()
        time.sleep(0.35)  # the retry interval (0.3 s)
        deadline = time.monotonic() + 5
        verdict = limiter.charge(decide)
        while verdict is None and time.monotonic() < deadline:
            time.sleep(0.1)
            verdict = limiter.charge(decide)
        assert verdict is not None
        assert verdict.allowed
    assert "reachable again" in caplog.text


def test_forget_limiter_closes_and_rebuilds(settings):
    settings.LEXECON_RATE_LIMIT_REDIS_URL = ""
    first = get_limiter()
    assert isinstance(first.store, MemoryStore)
    assert get_limiter() is first
    forget_limiter()
    assert get_limiter() is not first


# --- client address -------------------------------------------------------------------------------

_factory = RequestFactory()


def _request(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return _factory.get("/", **extra)


@pytest.mark.parametrize(
    ("_case", "trusted", "remote", "forwarded", "expected"),
    [
        ("no proxies: the peer", (), "203.0.113.5", None, "203.0.113.5"),
        ("no proxies: a spoofed header is ignored", (), "203.0.113.5", "1.2.3.4", "203.0.113.5"),
        (
            "untrusted peer: its header is ignored",
            ("10.0.0.0/8",),
            "203.0.113.5",
            "1.2.3.4",
            "203.0.113.5",
        ),
        (
            "trusted peer: the address it received from",
            ("10.0.0.1",),
            "10.0.0.1",
            "198.51.100.7",
            "198.51.100.7",
        ),
        (
            "trusted peer: what the client wrote to the left is ignored",
            ("10.0.0.1",),
            "10.0.0.1",
            "1.2.3.4, 198.51.100.7",
            "198.51.100.7",
        ),
        (
            "two trusted hops are skipped",
            ("10.0.0.0/8",),
            "10.0.0.1",
            "1.2.3.4, 198.51.100.7, 10.0.0.2",
            "198.51.100.7",
        ),
        ("trusted peer without a header: the peer", ("10.0.0.1",), "10.0.0.1", None, "10.0.0.1"),
        (
            "a malformed entry stops at the last trusted hop",
            ("10.0.0.0/8",),
            "10.0.0.1",
            "198.51.100.7, not-an-ip, 10.0.0.2",
            "10.0.0.2",
        ),
        ("ports are dropped", ("10.0.0.1",), "10.0.0.1", "198.51.100.7:5555", "198.51.100.7"),
        (
            "bracketed IPv6 with a port",
            ("10.0.0.1",),
            "10.0.0.1",
            "[2001:db8::1]:443",
            "2001:db8::1",
        ),
        ("IPv4-mapped IPv6 is IPv4", (), "::ffff:192.0.2.9", None, "192.0.2.9"),
        ("no address at all (a Unix socket)", ("10.0.0.0/8",), "", "198.51.100.7", None),
        (
            "every hop trusted: the leftmost",
            ("10.0.0.0/8",),
            "10.0.0.1",
            "10.0.0.3, 10.0.0.2",
            "10.0.0.3",
        ),
    ],
)
def test_client_address(settings, _case, trusted, remote, forwarded, expected):
    settings.LEXECON_TRUSTED_PROXIES = trusted
    assert client_ip.client_address(_request(remote, forwarded)) == expected


def test_ipv6_clients_are_counted_per_64(settings):
    settings.LEXECON_TRUSTED_PROXIES = ()
    one = client_ip.client_bucket(_request("2001:db8:1:2:aaaa::1"))
    other = client_ip.client_bucket(_request("2001:db8:1:2:ffff::9"))
    assert one == other == "2001:db8:1:2::"
    assert client_ip.client_bucket(_request("2001:db8:1:3::1")) != one
    assert client_ip.client_bucket(_request("192.0.2.1")) == "192.0.2.1"
