"""Time-ordered identifiers for rows written at high rate (RFC 9562 UUID version 7).

A random UUID (version 4) as a primary key lands every insert on a random page of the index: the
index stays cache-hostile, and after each PostgreSQL checkpoint the first write to every page logs a
full 8 KB page image. A version 7 UUID starts with the Unix time in milliseconds, so inserts go to the
right-hand edge of the index; 74 random bits per millisecond keep it unguessable and collision-free.
Python gains ``uuid.uuid7`` only in 3.14, hence this small implementation (layout: RFC 9562 §5.7).
"""

from __future__ import annotations

import os
import time
import uuid

_VERSION_7 = 0x7 << 76
_VARIANT_RFC = 0b10 << 62


def uuid7(now_ms: int | None = None) -> uuid.UUID:
    """A new version 7 UUID: 48-bit Unix milliseconds, version, 12 + 62 random bits, variant."""
    millis = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    if not 0 <= millis < 1 << 48:
        raise ValueError("the timestamp does not fit in 48 bits")
    random = int.from_bytes(os.urandom(10), "big")  # 80 bits, 74 of them used
    rand_a = (random >> 68) & 0xFFF
    rand_b = random & ((1 << 62) - 1)
    return uuid.UUID(int=(millis << 80) | _VERSION_7 | (rand_a << 64) | _VARIANT_RFC | rand_b)


def uuid7_millis(value: uuid.UUID) -> int:
    """The Unix milliseconds a version 7 UUID carries."""
    return value.int >> 80
