"""Reads of the technical documentation: narratives, the Annex IV document built from every
registered provider, its validator, and the ledger's state as the document's last page shows it.

The document is a plain JSON-able dict; the JSON format is that dict (plus ``content_sha256``),
and the HTML and PDF formats render it (apps.techdoc.render). Its ``content_sha256`` is the
SHA-256 of its RFC 8785 (JCS) canonical form without that key, so anyone holding the JSON can
recompute it, and the HTML and PDF print it on their last page.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from apps.aisystems import selectors as registry
from apps.aisystems.constants import RiskClass, Role
from apps.aisystems.models import AISystem
from apps.core.exceptions import InvalidInput
from apps.ledger.models import ChainHead, Checkpoint, VerificationRun
from apps.techdoc.annex_iv import ANNEX_IV_ITEMS, SectionPart, Window, providers_for
from apps.techdoc.constants import DOCUMENT_FORMAT_VERSION
from apps.techdoc.models import GeneratedDocument, Narrative
from tools.verify_bundle import canonical_bytes

logger = logging.getLogger(__name__)


def iso(moment: datetime | None) -> str | None:
    """RFC 3339 UTC with ``Z`` (None stays None)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- Systems and windows --------------------------------------------------------------------------


def ai_system_get(*, system_id: str) -> AISystem:
    """The registered system (``NotFound`` otherwise)."""
    return registry.ai_system_get(system_id=system_id)


def default_window(*, now: datetime | None = None) -> Window:
    """The last ``LEXECON_TECHDOC_WINDOW_DAYS`` days up to ``now``."""
    end = now or timezone.now()
    return Window(start=end - timedelta(days=int(settings.LEXECON_TECHDOC_WINDOW_DAYS)), end=end)


def window_of(
    *, start: datetime | None, end: datetime | None, now: datetime | None = None
) -> Window:
    """The window a request asks for: either bound may be left out (the default window's); the
    start must come before the end. Naive times are refused by the API's parser already."""
    default = default_window(now=now)
    end = end or default.end
    start = start or (end - (default.end - default.start))
    if start >= end:
        raise InvalidInput(
            "from must be earlier than to.", details={"from": iso(start), "to": iso(end)}
        )
    return Window(start=start, end=end)


# --- Narratives -----------------------------------------------------------------------------------


def narrative_current(system: AISystem, field: str) -> Narrative | None:
    """The latest version of one narrative field of ``system`` (None: never written)."""
    return (
        Narrative.objects.filter(system=system, field=field)
        .select_related("author")
        .order_by("-version")
        .first()
    )


def narratives_current(system: AISystem) -> dict[str, Narrative]:
    """The latest version of every written narrative field of ``system``."""
    current: dict[str, Narrative] = {}
    for narrative in (
        Narrative.objects.filter(system=system)
        .select_related("author")
        .order_by("field", "-version")
    ):
        current.setdefault(narrative.field, narrative)
    return current


def narrative_history(system: AISystem) -> QuerySet[Narrative]:
    """Every version of every narrative of ``system``, newest first."""
    return Narrative.objects.filter(system=system).select_related("author").order_by("-ledger_seq")


def generated_list(*, system: AISystem, limit: int = 20) -> list[GeneratedDocument]:
    """The latest documents generated for ``system``, newest first."""
    return list(
        GeneratedDocument.objects.filter(system=system)
        .select_related("artifact")
        .order_by("-created_at")[:limit]
    )


# --- The ledger as the last page shows it ---------------------------------------------------------


def ledger_state() -> dict[str, Any]:
    """The ledger's size and head, its latest signed checkpoint and its latest full
    verification (``VerificationRun``), as they are now."""
    head = ChainHead.objects.filter(pk=1).first()
    checkpoint = Checkpoint.objects.order_by("-tree_size").first()
    run = VerificationRun.objects.order_by("-finished_at", "-id").first()
    return {
        "size": (head.seq + 1) if head else 0,
        "head_hash": head.entry_hash if head and head.seq >= 0 else None,
        "latest_checkpoint": (
            {
                "tree_size": checkpoint.tree_size,
                "root_hash": bytes(checkpoint.root_hash).hex(),
                "signed_at": iso(checkpoint.created_at),
                "note": checkpoint.note,
            }
            if checkpoint
            else None
        ),
        "latest_verification": (
            {
                "finished_at": iso(run.finished_at),
                "valid": run.valid,
                "entries_checked": run.entries_checked,
                "first_invalid_seq": run.first_invalid_seq,
                "trigger": run.trigger,
            }
            if run
            else None
        ),
    }


# --- The document ---------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """``value`` with every part JSON can carry as such: times as RFC 3339 strings, ids and
    decimals as strings, tuples as lists, non-finite floats as null; keys as strings."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (UUID, Decimal)):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    return str(value)


def applicability(system: AISystem) -> dict[str, Any]:
    """Whether Art. 11 binds this organisation for this system (provider of a high-risk system)."""
    provider = system.role in (Role.PROVIDER, Role.BOTH)
    high = system.risk_class == RiskClass.HIGH
    if provider and high:
        why = "The system is high-risk and registered with us as its provider: Art. 11 applies."
    elif not high:
        why = (
            f"The system is registered as {system.get_risk_class_display().lower()}: Art. 11 "
            "binds providers of high-risk systems only. The document is kept as good practice."
        )
    else:
        why = (
            "We are registered as the system's deployer: Art. 11 binds its provider. This "
            "document records what we know and do as deployer (Art. 26)."
        )
    return {"art_11_applies": provider and high, "why": why}


def _part(key: str, part: SectionPart) -> dict[str, Any]:
    return {
        "key": key,
        "title": str(part.title),
        "facts": jsonable(dict(part.facts)),
        "text": str(part.text or ""),
        "missing": [str(name) for name in part.missing],
    }


def _provide(registration: Any, system: AISystem, window: Window) -> dict[str, Any] | None:
    """One provider's part. A provider that fails does not stop the document: its part says so
    and counts as missing, and the error is logged with the provider's key."""
    try:
        part = registration.provider(system, window)
        if part is None:
            return None
        if not isinstance(part, SectionPart):
            raise TypeError(f"a provider returns a SectionPart or None, not {type(part).__name__}")
        return _part(registration.key, part)
    except Exception as exc:
        logger.exception("Annex IV provider %s failed", registration.key)
        return {
            "key": registration.key,
            "title": f"Section {registration.key} could not be built",
            "facts": {"error": type(exc).__name__},
            "text": "",
            "missing": [f"the section {registration.key} (its provider failed)"],
        }


def items_build(system: AISystem, window: Window) -> list[dict[str, Any]]:
    """The nine items, each with the parts of its registered providers."""
    items = []
    for number, title in ANNEX_IV_ITEMS.items():
        parts = [
            part
            for registration in providers_for(number)
            if (part := _provide(registration, system, window)) is not None
        ]
        items.append({"item": number, "title": title, "parts": parts})
    return items


def validate(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The validator: every required thing still missing, item by item — what each part names as
    missing, and every item that has no part at all."""
    missing: list[dict[str, Any]] = []
    for item in items:
        if not item["parts"]:
            missing.append(
                {"item": item["item"], "part": None, "name": f"any content for {item['title']}"}
            )
        for part in item["parts"]:
            missing.extend(
                {"item": item["item"], "part": part["key"], "name": name}
                for name in part["missing"]
            )
    return missing


def missing_items(*, system: AISystem, window: Window | None = None) -> list[dict[str, Any]]:
    """What the document of ``system`` still lacks (the validator on a freshly built document)."""
    return validate(items_build(system, window or default_window()))


def document_build(
    *,
    system: AISystem,
    window: Window,
    generated_by: str,
    generated_at: datetime | None = None,
) -> dict[str, Any]:
    """The Annex IV document of ``system`` for ``window``, with ``content_sha256``."""
    items = items_build(system, window)
    missing = validate(items)
    document: dict[str, Any] = {
        "document": "eu_ai_act_annex_iv_technical_documentation",
        "format_version": DOCUMENT_FORMAT_VERSION,
        "ai_system": {
            "id": system.pk,
            "name": system.name,
            "version": system.version,
            "role": system.role,
            "risk_class": system.risk_class,
            "annex_iii_point": system.annex_iii_point or None,
            "status": system.status,
        },
        "applicability": applicability(system),
        "window": {"from": iso(window.start), "to": iso(window.end)},
        "generated_at": iso(generated_at or timezone.now()),
        "generated_by": generated_by,
        "complete": not missing,
        "missing": missing,
        "items": items,
        "ledger": ledger_state(),
    }
    document = jsonable(document)
    document["content_sha256"] = content_sha256(document)
    return document


def content_sha256(document: dict[str, Any]) -> str:
    """SHA-256 of the JCS form of ``document`` without its ``content_sha256`` key."""
    body = {k: v for k, v in document.items() if k != "content_sha256"}
    return hashlib.sha256(canonical_bytes(body)).hexdigest()


def window_as_dict(window: Window) -> dict[str, str | None]:
    return {k: iso(v) for k, v in asdict(window).items()}
