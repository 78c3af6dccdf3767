"""Where requests are counted: fixed-window counters, in Redis or in this process's memory.

A counter is created by the first request of its window and expires with it: its key holds the
number of requests seen so far, its time to live is what is left of the window. Every request
counts, the refused ones too (a client that keeps hammering does not earn a fresh allowance).
Both stores count several keys in one call, so a request that draws on two budgets (a sign-in:
the user name + address pair and the address) costs one Redis round trip.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import NamedTuple

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

# KEYS[i] is a counter, ARGV[i] its window in milliseconds. INCR, then give the key the window as
# its lifetime if it has none (a new window; or a key whose expiry was lost, which would
# otherwise count for ever). Redis runs a script alone, so no other request's INCR falls between
# these commands: each request gets a distinct count, and exactly `limit` of them are at or
# below the limit. Returns count and remaining milliseconds of each key, flattened.
WINDOW_SCRIPT = """
local result = {}
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then
    ttl = tonumber(ARGV[i])
    redis.call('PEXPIRE', key, ttl)
  end
  result[2 * i - 1] = count
  result[2 * i] = ttl
end
return result
"""


class StoreUnavailable(Exception):
    """The counter store could not be asked (refused, timed out, broken connection)."""


class Count(NamedTuple):
    """A counter after this request: requests in the window so far, milliseconds left of it."""

    count: int
    remaining_ms: int


class MemoryStore:
    """Counters in this process's memory: each gunicorn worker counts on its own (so a budget
    admits up to ``workers * limit``; documented). Used when no Redis is configured."""

    # Expired counters are swept after this many calls, so memory stays bounded by the keys of
    # live windows.
    SWEEP_EVERY = 4096

    def __init__(self) -> None:
        self._counters: dict[str, list[float]] = {}  # key → [count, window end (monotonic s)]
        self._lock = threading.Lock()
        self._calls = 0

    def hit(self, keys: Sequence[tuple[str, int]]) -> list[Count]:
        """Count one request on each ``(key, window_ms)``."""
        now = time.monotonic()
        counts = []
        with self._lock:
            self._calls += 1
            if self._calls % self.SWEEP_EVERY == 0:
                self._sweep(now)
            for key, window_ms in keys:
                counter = self._counters.get(key)
                if counter is None or counter[1] <= now:
                    counter = self._counters[key] = [0, now + window_ms / 1000]
                counter[0] += 1
                counts.append(Count(int(counter[0]), max(1, int((counter[1] - now) * 1000))))
        return counts

    def clear(self) -> None:
        with self._lock:
            self._counters.clear()

    def _sweep(self, now: float) -> None:
        for key in [key for key, (_, end) in self._counters.items() if end <= now]:
            del self._counters[key]


class RedisStore:
    """Counters in Redis, counted by :data:`WINDOW_SCRIPT` (``EVALSHA``; one round trip; the
    script is loaded again by redis-py only if the server has forgotten it).

    The client never retries and gives up after ``timeout`` seconds: the limiter decides what a
    failure means (fail open or closed), and a retry would only make every request wait longer
    while Redis is away.
    """

    def __init__(self, url: str, *, timeout: float) -> None:
        self._client = redis.Redis.from_url(
            url,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
        )
        self._script = self._client.register_script(WINDOW_SCRIPT)

    def hit(self, keys: Sequence[tuple[str, int]]) -> list[Count]:
        try:
            flat = self._script(
                keys=[key for key, _ in keys], args=[window_ms for _, window_ms in keys]
            )
        except (redis.RedisError, OSError) as exc:
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc
        return [Count(int(flat[i]), int(flat[i + 1])) for i in range(0, len(flat), 2)]

    def close(self) -> None:
        self._client.close()
