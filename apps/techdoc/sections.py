"""Sections other apps add to the per-AI-system staff page (``/compliance/eu-ai-act/systems/<id>/``).

An app contributes a template fragment and a context function; the page includes each fragment,
in registration order, after its own Art. 11 section:

    register_system_section(
        key="art-12",
        title="Art. 12 and 19: record-keeping",
        template="retention/_system_section.html",
        context=selectors.system_section_context,   # (ai_system, *, principal) -> dict
    )

The fragment is rendered with the dict its context function returned (its keys at the top level,
and the whole dict as ``section``) plus ``ai_system``; ``principal`` is the signed-in person, so a
section shows only what they may see.
Registration is idempotent by ``key``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from threading import Lock
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class SystemSection:
    key: str  # also the section's anchor on the page (#key)
    title: str
    template: str
    context: Callable[..., dict[str, Any]]


_sections: dict[str, SystemSection] = {}
_lock = Lock()


def register_system_section(
    *, key: str, title: str, template: str, context: Callable[..., dict[str, Any]]
) -> None:
    """Add (or replace, by ``key``) a section of the per-system staff page."""
    if not key or not template or not callable(context):
        raise ValueError("a section needs a key, a template and a context function")
    with _lock:
        _sections[key] = SystemSection(key=key, title=title, template=template, context=context)


def unregister_system_section(key: str) -> None:
    with _lock:
        _sections.pop(key, None)


def system_sections() -> list[SystemSection]:
    """The registered sections, in registration order."""
    with _lock:
        return list(_sections.values())
