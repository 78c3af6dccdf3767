"""Rate-limit fixtures: the limiter pointed at the Redis of ``LEXECON_REDIS_URL`` (the PostgreSQL +
Redis pass of .ci/run; e.g. ``redis://127.0.0.1:6379/9``) under a key prefix of the test's own, or
at that Redis through a :class:`~tests.live.proxy.Proxy` the test can take down."""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit

import pytest
import redis

from tests.live.proxy import Proxy


def redis_url() -> str | None:
    """The Redis of this test run, if it has one."""
    url = os.environ.get("LEXECON_REDIS_URL", "")
    return url if urlsplit(url).scheme == "redis" else None


def redis_url_or_skip() -> str:
    url = redis_url()
    if url is None:
        pytest.skip("needs Redis (the PostgreSQL + Redis pass of .ci/run)")
    return url


@pytest.fixture
def redis_limiter(settings):
    """The limiter counts in the real Redis, under a fresh prefix; its keys go afterwards."""
    url = redis_url_or_skip()
    prefix = f"lexecon-test:{uuid.uuid4().hex}:"
    settings.LEXECON_RATE_LIMIT_REDIS_URL = url
    settings.LEXECON_RATE_LIMIT_KEY_PREFIX = prefix
    yield redis.Redis.from_url(url)
    client = redis.Redis.from_url(url)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def proxied_redis_limiter(settings):
    """The limiter counts in the real Redis through a proxy; ``(proxy, client)``."""
    url = urlsplit(redis_url_or_skip())
    proxy = Proxy((url.hostname or "127.0.0.1", url.port or 6379))
    prefix = f"lexecon-test:{uuid.uuid4().hex}:"
    settings.LEXECON_RATE_LIMIT_REDIS_URL = f"redis://127.0.0.1:{proxy.port}{url.path or '/0'}"
    settings.LEXECON_RATE_LIMIT_KEY_PREFIX = prefix
    settings.LEXECON_RATE_LIMIT_STORE_TIMEOUT_SECONDS = 0.2
    settings.LEXECON_RATE_LIMIT_STORE_RETRY_SECONDS = 0.3
    client = redis.Redis.from_url(url.geturl())
    try:
        yield proxy, client
    finally:
        proxy.close()
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
        client.close()
