"""Hooks other apps plug into ``GET /status`` without core importing them (core is the kernel).

An app registers a callable with :func:`register_ledger_head`; the ledger app does so in ``ready()``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from django.conf import settings

_ledger_head: Callable[[], dict | None] | None = None
_extra_fields: list[Callable[[], dict]] = []

#: This process's id and start, as the original Lexecon's /health and /status report them.
NODE_ID = str(uuid.uuid4())
_STARTED = time.monotonic()


def register_ledger_head(provider: Callable[[], dict | None]) -> None:
    global _ledger_head  # a single registration slot, set once at start-up
    _ledger_head = provider


def ledger_head() -> dict | None:
    return _ledger_head() if _ledger_head is not None else None


def register_fields(provider: Callable[[], dict]) -> None:
    """Add fields to ``/status`` (the compat app adds the original Lexecon's)."""
    if provider not in _extra_fields:
        _extra_fields.append(provider)


def extra_fields() -> dict:
    fields: dict = {}
    for provider in _extra_fields:
        fields.update(provider())
    return fields


def process_fields() -> dict:
    """``version``, ``node_id``, ``timestamp`` and ``uptime_seconds``: no database, no cache."""
    return {
        "version": settings.LEXECON_VERSION,
        "node_id": NODE_ID,
        "timestamp": datetime.now(tz=UTC).isoformat(),
        "uptime_seconds": round(time.monotonic() - _STARTED, 3),
    }
