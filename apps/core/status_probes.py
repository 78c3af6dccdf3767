"""Hooks other apps plug into ``GET /status`` without core importing them (core is the kernel).

An app registers a callable with :func:`register_ledger_head`; the ledger app does so in ``ready()``.
"""

from __future__ import annotations

from collections.abc import Callable

_ledger_head: Callable[[], dict | None] | None = None


def register_ledger_head(provider: Callable[[], dict | None]) -> None:
    global _ledger_head  # a single registration slot, set once at start-up
    _ledger_head = provider


def ledger_head() -> dict | None:
    return _ledger_head() if _ledger_head is not None else None
