"""Writes of the technical documentation: save a narrative version, generate a document.

``narrative_save`` appends a new version of one narrative field of one AI system and its
``techdoc.narrative_saved`` ledger entry (the text's SHA-256, never the text) in one transaction;
saving the text the current version already has writes nothing. The staff form and the admin
both call it.

``documentation_generate`` builds the Annex IV document, renders it (JSON, HTML or PDF), stores
the bytes as an evidence artifact through ``apps.evidence.services.evidence_register``
(``evidence.registered``), and appends ``techdoc.generated`` naming that artifact and its SHA-256,
with a :class:`GeneratedDocument` row, all in one transaction (ADR 0024).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from apps.accounts.principals import actor_of
from apps.aisystems.models import AISystem
from apps.core.exceptions import InvalidInput, NotFound, PermissionDeniedError
from apps.evidence import services as evidence
from apps.ledger import events
from apps.ledger import services as ledger
from apps.ledger.entry_types import EntryType
from apps.techdoc import render, selectors
from apps.techdoc.annex_iv import Window
from apps.techdoc.constants import (
    ART_11_CONTROL,
    EVIDENCE_SOURCE,
    FORMAT_ARTIFACT_TYPES,
    FORMAT_MEDIA_TYPES,
    NARRATIVE_MAX_LENGTH,
    NARRATIVES,
    DocumentFormat,
    NarrativeField,
)
from apps.techdoc.models import GeneratedDocument, Narrative

#: Who may write narratives (the staff form and the admin check it too).
WRITE_PERMISSION = "accounts.manage_policies"
SUBJECT = "technical_documentation"


def text_sha256(text: str) -> str:
    """hex SHA-256 of the text's UTF-8 bytes: what the ledger keeps of a narrative."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NarrativeSaveResult:
    narrative: Narrative
    created: bool  # False: the text was the current version's; nothing was written


def narrative_check(*, field: str, text: Any) -> str:
    """The cleaned text of a narrative, or ``InvalidInput`` naming what is wrong."""
    if field not in NarrativeField.values:
        raise InvalidInput(
            "Unknown narrative field.",
            details={"field": field, "allowed": list(NarrativeField.values)},
        )
    if not isinstance(text, str):
        raise InvalidInput("The narrative is text.", details={"text": "not a string"})
    cleaned = text.replace("\r\n", "\n").strip()
    if not cleaned:
        raise InvalidInput("Write the narrative: it is empty.", details={"text": "empty"})
    if len(cleaned) > NARRATIVE_MAX_LENGTH:
        raise InvalidInput(
            f"A narrative has at most {NARRATIVE_MAX_LENGTH} characters.",
            details={"text": f"{len(cleaned)} characters"},
        )
    if "\x00" in cleaned:
        raise InvalidInput("Null characters are not allowed.", details={"text": "NUL"})
    return cleaned


@transaction.atomic
def narrative_save(*, user: Any, system_id: str, field: str, text: Any) -> NarrativeSaveResult:
    """Save ``text`` as the next version of ``field`` of the system (``techdoc.narrative_saved``).

    ``PermissionDeniedError`` unless ``user`` may manage policies; ``NotFound`` for an unknown
    system; ``InvalidInput`` for an unknown field or an empty, too long or NUL-bearing text.
    """
    if not getattr(user, "is_authenticated", False) or not user.has_perm(WRITE_PERMISSION):
        raise PermissionDeniedError("Writing technical documentation needs manage_policies.")
    cleaned = narrative_check(field=field, text=text)
    # Lock the system row: two saves of one field never compute the same next version.
    system = AISystem.objects.select_for_update(no_key=True).filter(pk=system_id).first()
    if system is None:
        raise NotFound("No AI system is registered with that id.", details={"id": system_id})
    current = Narrative.objects.filter(system=system, field=field).order_by("-version").first()
    digest = text_sha256(cleaned)
    if current is not None and current.text_sha256 == digest and current.text == cleaned:
        return NarrativeSaveResult(current, created=False)
    actor = actor_of(user)
    version = (current.version + 1) if current else 1
    payload = {
        **events.envelope(actor=actor, subject_type=SUBJECT, subject_id=system.pk),
        "ai_system_id": system.pk,
        "field": field,
        "item": NARRATIVES[field].item,
        "version": version,
        "text_sha256": digest,
        "previous_text_sha256": current.text_sha256 if current else None,
    }
    entry = ledger.ledger_append(entry_type=EntryType.TECHDOC_NARRATIVE_SAVED, payload=payload)
    narrative = Narrative(
        system=system,
        field=field,
        version=version,
        text=cleaned,
        text_sha256=digest,
        author=user,
        actor=actor["id"],
        ledger_seq=entry.seq,
    )
    narrative.full_clean()
    narrative.save(force_insert=True)
    return NarrativeSaveResult(narrative, created=True)


# --- Generation -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Generated:
    record: GeneratedDocument
    document: dict[str, Any]
    content: bytes
    media_type: str
    filename: str


def document_bytes(document: dict[str, Any], fmt: str) -> bytes:
    """The bytes of ``document`` in ``fmt`` (what is stored and what is answered)."""
    if fmt == DocumentFormat.JSON:
        return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False).encode("utf-8")
    if fmt == DocumentFormat.HTML:
        return render.render_html(document).encode("utf-8")
    if fmt == DocumentFormat.PDF:
        return render.render_pdf(document)
    raise InvalidInput(
        "format is json, html or pdf.",
        details={"format": fmt, "allowed": list(DocumentFormat.values)},
    )


def _retention_days(artifact_type: str) -> int:
    """Art. 18 keeps technical documentation ten years: the setting, or the type's own
    retention if that is longer (an artifact's retention may be lengthened, never shortened)."""
    return max(
        int(settings.LEXECON_TECHDOC_RETENTION_DAYS), evidence.retention_days_for(artifact_type)
    )


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def documentation_generate(
    *, principal: Any, system_id: str, fmt: str, window: Window | None = None
) -> Generated:
    """Build, render, store and ledger the Annex IV document of one system.

    The document is built and rendered before anything is written (a refused request or a
    failed rendering writes nothing); storing the artifact, its ``evidence.registered`` entry,
    the ``techdoc.generated`` entry and the row are one transaction.
    """
    if fmt not in DocumentFormat.values:
        raise InvalidInput(
            "format is json, html or pdf.",
            details={"format": fmt, "allowed": list(DocumentFormat.values)},
        )
    system = selectors.ai_system_get(system_id=system_id)
    window = window or selectors.default_window()
    actor = actor_of(principal)
    now = timezone.now()
    document = selectors.document_build(
        system=system, window=window, generated_by=actor["id"], generated_at=now
    )
    content = document_bytes(document, fmt)
    checkpoint = document["ledger"]["latest_checkpoint"]
    try:
        record = _store(
            principal=principal,
            system=system,
            fmt=fmt,
            window=window,
            document=document,
            content=content,
            actor=actor,
            checkpoint=checkpoint,
        )
    except BaseException:
        # The bytes were stored before the transaction; nothing refers to them now.
        evidence.evidence_content_release(hashlib.sha256(content).hexdigest())
        raise
    return Generated(
        record=record,
        document=document,
        content=content,
        media_type=FORMAT_MEDIA_TYPES[fmt],
        filename=f"annex-iv-{system.pk}-{_stamp(now)}.{fmt}",
    )


@transaction.atomic
def _store(
    *,
    principal: Any,
    system: AISystem,
    fmt: str,
    window: Window,
    document: dict[str, Any],
    content: bytes,
    actor: dict[str, Any],
    checkpoint: dict[str, Any] | None,
) -> GeneratedDocument:
    artifact_type = FORMAT_ARTIFACT_TYPES[fmt]
    artifact = evidence.evidence_register(
        principal=principal,
        artifact_type=artifact_type,
        title=f"Annex IV technical documentation: {system.name} {system.version} ({fmt})",
        content=ContentFile(content, name=f"annex-iv.{fmt}"),
        media_type=FORMAT_MEDIA_TYPES[fmt],
        source=EVIDENCE_SOURCE,
        control_ids=[ART_11_CONTROL],
        retention_days=_retention_days(artifact_type),
        metadata={
            "ai_system_id": system.pk,
            "format": fmt,
            "content_sha256": document["content_sha256"],
            "complete": document["complete"],
        },
    )
    payload = {
        **events.envelope(actor=actor, subject_type=SUBJECT, subject_id=system.pk),
        "ai_system_id": system.pk,
        "format": fmt,
        "artifact_id": str(artifact.pk),
        "sha256": artifact.sha256,
        "content_sha256": document["content_sha256"],
        "complete": document["complete"],
        "missing": len(document["missing"]),
        "window_from": document["window"]["from"],
        "window_to": document["window"]["to"],
        "checkpoint_size": checkpoint["tree_size"] if checkpoint else None,
    }
    entry = ledger.ledger_append(entry_type=EntryType.TECHDOC_GENERATED, payload=payload)
    record = GeneratedDocument(
        system=system,
        format=fmt,
        artifact=artifact,
        sha256=artifact.sha256,
        content_sha256=document["content_sha256"],
        complete=document["complete"],
        missing_count=len(document["missing"]),
        window_start=window.start,
        window_end=window.end,
        generated_by=actor["id"],
        ledger_seq=entry.seq,
    )
    record.full_clean()
    record.save(force_insert=True)
    return record
