"""Small filters of the policy pages."""

from __future__ import annotations

import json
from typing import Any

from django import template

register = template.Library()


@register.filter
def who(label: str, names: dict[str, str] | None) -> str:
    """A ledger label as the page shows it: the username for ``user:<id>``, else the label."""
    name = (names or {}).get(label)
    return f"{name} ({label})" if name else label


@register.filter
def as_json(value: Any) -> str:
    """Compact, stable JSON of a rule part (conditions, controls, metadata)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=1)


@register.filter
def short_id(term: str | None) -> str:
    """A term id without its type prefix (``actor:ai_agent:*`` → ``ai_agent:*``)."""
    if not term:
        return "—"
    return term.split(":", 1)[1] if ":" in term else term
