"""The nine Annex IV items and the registry of their section providers (the contract other apps
write against; ADR 0024).

A provider is a function ``(ai_system, window) -> SectionPart | None`` that contributes one part
to one item: a sub-heading, facts (JSON-able figures or rows, rendered as a table), optional plain
text, and the human-readable names of what that part still lacks. ``None`` means "nothing to say
about this system". Apps register their providers once, in their ``AppConfig.ready()``:

    if django.apps.apps.is_installed("apps.techdoc"):
        from apps.techdoc.annex_iv import register_provider
        register_provider(3, record_keeping_part, key="retention.record_keeping")

Registration is idempotent by ``key``: registering a key again replaces its provider and keeps its
place. Within an item, parts appear in registration order, the narratives an officer writes last.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from threading import Lock
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apps.aisystems.models import AISystem

#: Annex IV items 1-9 (Art. 11(1)), in our words.
ANNEX_IV_ITEMS: dict[int, str] = {
    1: "General description of the AI system",
    2: "Detailed description of its elements and of how it was developed",
    3: "Monitoring, functioning and control of the system",
    4: "Why the performance metrics are appropriate",
    5: "The risk-management system (Art. 9)",
    6: "Relevant changes made through its lifecycle",
    7: "Harmonised standards applied, or the other solutions and specifications used",
    8: "The EU declaration of conformity",
    9: "Post-market performance evaluation and the monitoring plan (Art. 72)",
}


@dataclass(frozen=True)
class Window:
    """The period the live figures of a document cover (``start`` inclusive, ``end`` exclusive)."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class SectionPart:
    """What one provider contributes to one item."""

    title: str  # sub-heading
    facts: dict[str, Any]  # JSON-able figures/rows, rendered as a table
    text: str = ""  # prose (plain text), optional
    missing: tuple[str, ...] = ()  # human-readable names of required things still missing


Provider = Callable[["AISystem", Window], SectionPart | None]


@dataclass(frozen=True)
class Registration:
    item: int
    key: str
    provider: Provider
    narrative: bool = False  # the officer's narratives come after the computed parts


_registry: dict[str, Registration] = {}
_lock = Lock()


def register_provider(item: int, provider: Provider, *, key: str) -> None:
    """Register ``provider`` for Annex IV ``item`` (1-9) under ``key`` (idempotent by key)."""
    _register(item, provider, key=key, narrative=False)


def _register(item: int, provider: Provider, *, key: str, narrative: bool) -> None:
    if item not in ANNEX_IV_ITEMS:
        raise ValueError(f"Annex IV has items 1 to 9, not {item!r}")
    if not key or not callable(provider):
        raise ValueError("a provider needs a non-empty key and a callable")
    with _lock:
        _registry[key] = Registration(item=item, key=key, provider=provider, narrative=narrative)


def register_narrative_provider(item: int, provider: Provider, *, key: str) -> None:
    """The techdoc app's own narrative parts: like ``register_provider``, placed last."""
    _register(item, provider, key=key, narrative=True)


def unregister_provider(key: str) -> None:
    """Forget ``key`` (tests; an app that is switched off)."""
    with _lock:
        _registry.pop(key, None)


def providers_for(item: int) -> list[Registration]:
    """The registrations of ``item``: computed parts in registration order, then narratives."""
    with _lock:
        found = [r for r in _registry.values() if r.item == item]
    return [r for r in found if not r.narrative] + [r for r in found if r.narrative]
