"""Writes of the AI system registry: register a system, change it.

Each write saves the row, appends its ledger entry (``ai_system.registered`` or
``ai_system.updated``) and an :class:`AISystemChange` naming that entry, in one transaction: a
failure of any of them leaves nothing. The API and the admin both call these functions. The
payload carries the classification fields in clear, the owner as ``user:<id>`` and the two free
texts (intended purpose, Art. 6(3) reasoning) only as salted SHA-256 commitments (ADR 0019).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.accounts.models import User
from apps.accounts.principals import actor_of
from apps.aisystems import selectors
from apps.aisystems.constants import EDITABLE_FIELDS, TEXT_FIELDS, Status
from apps.aisystems.models import AISystem, AISystemChange
from apps.core.exceptions import Conflict, InvalidInput, NotFound
from apps.ledger import events
from apps.ledger import services as ledger
from apps.ledger.entry_types import EntryType
from tools.verify_bundle import canonical_bytes

_OWNER_REF = re.compile(r"^user:(\d{1,18})$")
# Fields stored as "" when empty; the API and the ledger say null.
_BLANK_AS_NONE = ("annex_iii_point", "art_6_3_condition")


@dataclass(frozen=True)
class UpdateResult:
    system: AISystem
    changed: tuple[str, ...]  # empty: the update changed nothing and wrote nothing


def owner_from_ref(ref: str | None) -> User | None:
    """``"user:12"`` → that active user; ``None`` → no owner. Anything else is ``InvalidInput``."""
    if ref is None:
        return None
    match = _OWNER_REF.fullmatch(ref)
    user = User.objects.filter(pk=int(match[1]), is_active=True).first() if match else None
    if user is None:
        raise InvalidInput(
            "owner names an active user as user:<id>, or is null.", details={"owner": ref}
        )
    return user


def commit_text(text: str, salt_hex: str) -> str:
    """hex SHA-256(salt ‖ JCS(text)): the same commitment as ``ledger.commit_personal`` (opened
    with ``ledger.commitment_matches``), with the system's own salt."""
    return hashlib.sha256(bytes.fromhex(salt_hex) + canonical_bytes(text)).hexdigest()


def _normalised(field: str, value: Any) -> Any:
    if field in _BLANK_AS_NONE or field in TEXT_FIELDS:
        return "" if value is None else value
    return value


def _validate(system: AISystem) -> None:
    """The model's field and classification rules; ``InvalidInput`` naming each field."""
    try:
        system.full_clean(validate_unique=False)
    except ValidationError as exc:
        details = {
            field: [str(m) for m in messages] for field, messages in exc.message_dict.items()
        }
        raise InvalidInput(
            "The AI system's description or classification is not valid; nothing was written.",
            details=details,
        ) from exc


def _payload(
    system: AISystem, principal: Any, *, changed: tuple[str, ...] | None = None
) -> dict[str, Any]:
    payload = {
        **events.envelope(
            actor=actor_of(principal), subject_type="ai_system", subject_id=system.pk
        ),
        "ai_system_id": system.pk,
        "name": system.name,
        "version": system.version,
        "role": system.role,
        "annex_iii_point": system.annex_iii_point or None,
        "art_6_3_exempt": system.art_6_3_exempt,
        "art_6_3_condition": system.art_6_3_condition or None,
        "risk_class": system.risk_class,
        "status": system.status,
        "owner": f"user:{system.owner_id}" if system.owner_id is not None else None,
        "intended_purpose_commitment": commit_text(system.intended_purpose, system.text_salt),
        "art_6_3_reasoning_commitment": (
            commit_text(system.art_6_3_reasoning, system.text_salt)
            if system.art_6_3_reasoning
            else None
        ),
    }
    if changed is not None:
        payload["changed"] = list(changed)
    return payload


def _record(system: AISystem, principal: Any, entry_type: str, changed: tuple[str, ...]) -> None:
    """Append the entry and the history row naming it; forget the cached registered ids."""
    payload = _payload(
        system, principal, changed=changed if entry_type == EntryType.AI_SYSTEM_UPDATED else None
    )
    entry = ledger.ledger_append(entry_type=entry_type, payload=payload)
    AISystemChange.objects.create(
        system=system,
        ledger_seq=entry.seq,
        entry_type=entry_type,
        changed=list(changed),
        actor=payload["actor"]["id"],
    )
    selectors.forget_registered_ids()
    transaction.on_commit(partial(selectors.forget_registered_ids))


def ai_system_register(
    *,
    principal: Any,
    system_id: str,
    name: str,
    version: str,
    role: str,
    intended_purpose: str,
    risk_class: str,
    annex_iii_point: str | None = "",
    art_6_3_exempt: bool = False,
    art_6_3_condition: str | None = "",
    art_6_3_reasoning: str | None = "",
    owner: User | None = None,
    status: str = Status.DEVELOPMENT,
) -> AISystem:
    """Register a system under ``system_id`` (``ai_system.registered``); ``Conflict`` if the id
    is taken, ``InvalidInput`` if the description or classification is not valid."""
    system = AISystem(
        id=system_id,
        name=name,
        version=version,
        role=role,
        intended_purpose=_normalised("intended_purpose", intended_purpose),
        annex_iii_point=_normalised("annex_iii_point", annex_iii_point),
        art_6_3_exempt=art_6_3_exempt,
        art_6_3_condition=_normalised("art_6_3_condition", art_6_3_condition),
        art_6_3_reasoning=_normalised("art_6_3_reasoning", art_6_3_reasoning),
        risk_class=risk_class,
        owner=owner,
        status=status,
        created_by=actor_of(principal)["id"],
        text_salt=secrets.token_hex(16),
    )
    _validate(system)
    taken = Conflict("An AI system with this id is already registered.", details={"id": system_id})
    if AISystem.objects.filter(pk=system_id).exists():
        raise taken
    try:
        with transaction.atomic():
            system.save(force_insert=True)
            _record(system, principal, EntryType.AI_SYSTEM_REGISTERED, EDITABLE_FIELDS)
    except IntegrityError:
        if AISystem.objects.filter(pk=system_id).exists():  # a concurrent registration won
            raise taken from None
        raise
    return system


def _current(system: AISystem, field: str) -> Any:
    return system.owner_id if field == "owner" else getattr(system, field)


def _wanted(field: str, value: Any) -> Any:
    if field == "owner":
        return value.pk if value is not None else None
    return _normalised(field, value)


@transaction.atomic
def ai_system_update(*, principal: Any, system_id: str, changes: Mapping[str, Any]) -> UpdateResult:
    """Apply ``changes`` (field → new value; ``owner`` a ``User`` or ``None``) to the system,
    validate the result as a whole and record the fields that really changed
    (``ai_system.updated``). Changes equal to the current values write nothing."""
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise InvalidInput(
            "These fields cannot be changed.",
            details={"fields": unknown, "changeable": list(EDITABLE_FIELDS)},
        )
    system = AISystem.objects.select_for_update(no_key=True).filter(pk=system_id).first()
    if system is None:
        raise NotFound("No AI system is registered with that id.", details={"id": system_id})
    changed = tuple(
        field
        for field in EDITABLE_FIELDS
        if field in changes and _current(system, field) != _wanted(field, changes[field])
    )
    if not changed:
        return UpdateResult(system, ())
    for field in changed:
        setattr(system, field, _normalised(field, changes[field]))
    _validate(system)
    system.save(update_fields=[*changed, "updated_at"])
    _record(system, principal, EntryType.AI_SYSTEM_UPDATED, changed)
    return UpdateResult(system, changed)
