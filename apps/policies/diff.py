"""What changed between two policy versions, rule by rule (pure: no database).

Both documents are the *normalised* ones the version hashes cover, so order and duplicates never
show as changes. Rules (relations) and terms are matched by their ``id``: an id only in the newer
version is added, only in the older one removed, in both with different content changed (with the
fields that differ, before and after). The policy's own settings (mode, name, version,
description) are compared too, because a mode change alone can flip many decisions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

SETTINGS = ("name", "version", "mode", "description")


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any
    after: Any

    @property
    def before_text(self) -> str:
        return _text(self.before)

    @property
    def after_text(self) -> str:
        return _text(self.after)


@dataclass(frozen=True)
class ItemChange:
    id: str
    before: dict[str, Any]
    after: dict[str, Any]
    fields: tuple[FieldChange, ...]


@dataclass(frozen=True)
class PolicyDiff:
    settings: tuple[FieldChange, ...] = ()
    rules_added: tuple[dict[str, Any], ...] = ()
    rules_removed: tuple[dict[str, Any], ...] = ()
    rules_changed: tuple[ItemChange, ...] = ()
    terms_added: tuple[dict[str, Any], ...] = ()
    terms_removed: tuple[dict[str, Any], ...] = ()
    terms_changed: tuple[ItemChange, ...] = ()
    unchanged_rules: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def identical(self) -> bool:
        return not any(
            (
                self.settings,
                self.rules_added,
                self.rules_removed,
                self.rules_changed,
                self.terms_added,
                self.terms_removed,
                self.terms_changed,
            )
        )


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _by_id(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(item["id"]): item for item in items}


def _compare(
    before: list[dict[str, Any]], after: list[dict[str, Any]]
) -> tuple[tuple[dict[str, Any], ...], tuple[dict[str, Any], ...], tuple[ItemChange, ...], int]:
    old, new = _by_id(before), _by_id(after)
    added = tuple(new[key] for key in sorted(new.keys() - old.keys()))
    removed = tuple(old[key] for key in sorted(old.keys() - new.keys()))
    changed = []
    same = 0
    for key in sorted(old.keys() & new.keys()):
        a, b = old[key], new[key]
        fields = tuple(
            FieldChange(name, a.get(name), b.get(name))
            for name in sorted(a.keys() | b.keys())
            if a.get(name) != b.get(name)
        )
        if fields:
            changed.append(ItemChange(key, a, b, fields))
        else:
            same += 1
    return added, removed, tuple(changed), same


def policy_diff(before: dict[str, Any], after: dict[str, Any]) -> PolicyDiff:
    """The differences from normalised document ``before`` to normalised document ``after``."""
    settings = tuple(
        FieldChange(name, before.get(name), after.get(name))
        for name in SETTINGS
        if before.get(name) != after.get(name)
    )
    rules_added, rules_removed, rules_changed, same = _compare(
        before.get("relations", []), after.get("relations", [])
    )
    terms_added, terms_removed, terms_changed, _ = _compare(
        before.get("terms", []), after.get("terms", [])
    )
    return PolicyDiff(
        settings=settings,
        rules_added=rules_added,
        rules_removed=rules_removed,
        rules_changed=rules_changed,
        terms_added=terms_added,
        terms_removed=terms_removed,
        terms_changed=terms_changed,
        unchanged_rules=same,
        counts={
            "rules_added": len(rules_added),
            "rules_removed": len(rules_removed),
            "rules_changed": len(rules_changed),
            "terms_added": len(terms_added),
            "terms_removed": len(terms_removed),
            "terms_changed": len(terms_changed),
        },
    )
