"""Evidence writes: register an artifact, link it to a decision or a control, expire it.

Each write appends its ledger entry in the same transaction as its rows (``evidence.registered``,
``evidence.linked``, ``evidence.expired``). Content is read in chunks of ``CHUNK_SIZE`` and hashed
while it is read; it is stored once per SHA-256 in the ``evidence`` storage (ADR 0018). Everything
that can refuse a registration (type, links, size) is checked before a byte is stored, and a
registration that fails after storing new bytes removes them again, so a refused request leaves no
row, no file and no ledger entry.

Expiry is irreversible: once an artifact's retention has ended, ``evidence_expire_due`` deletes
its bytes (unless another unexpired artifact shares them) and they cannot be brought back; the row
and the ledger keep the hash, type and dates. Whether stored bytes stay is decided under a lock per
SHA-256 (``_lock_content``), taken both by a registration that reuses stored bytes and by the
expiry that may delete them, so the one never removes what the other has just relied on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.accounts.principals import AgentPrincipal, actor_of, system_actor
from apps.aisystems import selectors as aisystems
from apps.core.exceptions import ApplicationError, InvalidInput, NotFound
from apps.core.retention import artifact_retention_class
from apps.core.retention import retention_days as class_days
from apps.decisions.models import Decision
from apps.evidence.constants import (
    CHUNK_SIZE,
    CONTROL_ID,
    CONTROL_REF,
    DEFAULT_RETENTION_DAYS,
    EXPIRY_BATCH_SIZE,
    FRAMEWORK,
    MAX_RETENTION_DAYS,
    STORAGE_ALIAS,
    ArtifactType,
)
from apps.evidence.models import (
    EvidenceArtifact,
    EvidenceControlLink,
    EvidenceDecisionLink,
    content_name,
)
from apps.ledger import events
from apps.ledger import services as ledger
from apps.ledger.entry_types import EntryType


class ArtifactTooLarge(ApplicationError):
    code = "artifact_too_large"
    status = 413
    default_message = "The artifact is larger than LEXECON_EVIDENCE_MAX_BYTES allows."


def evidence_storage() -> Storage:
    """The storage that holds artifact bytes (``STORAGES["evidence"]``)."""
    return storages[STORAGE_ALIAS]


def max_bytes() -> int:
    return int(settings.LEXECON_EVIDENCE_MAX_BYTES)


def retention_days_for(artifact_type: str) -> int:
    """The default retention of a type, after the ``LEXECON_EVIDENCE_RETENTION_DAYS`` override."""
    overrides: dict[str, int] = getattr(settings, "LEXECON_EVIDENCE_RETENTION_DAYS", {}) or {}
    return int(overrides.get(artifact_type, DEFAULT_RETENTION_DAYS[artifact_type]))


@dataclass(frozen=True)
class Digest:
    sha256: str
    size_bytes: int


def digest_chunks(chunks: Iterable[bytes], *, limit: int | None = None) -> Digest:
    """SHA-256 and length of a stream of chunks; ``ArtifactTooLarge`` past ``limit`` bytes."""
    hasher = hashlib.sha256()
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if limit is not None and size > limit:
            raise ArtifactTooLarge(details={"max_bytes": limit})
        hasher.update(chunk)
    return Digest(sha256=hasher.hexdigest(), size_bytes=size)


def stored_chunks(sha256: str) -> Iterator[bytes]:
    """The stored bytes of ``sha256``, chunk by chunk (``FileNotFoundError`` when missing)."""
    with evidence_storage().open(content_name(sha256), "rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            yield chunk


def parse_control_ref(ref: str) -> tuple[str, str]:
    """``"soc2:CC6.1"`` → ``("soc2", "CC6.1")``; framework ids are case-insensitive."""
    framework, _, control_id = ref.partition(":")
    normalised = f"{framework.lower()}:{control_id}"
    match = CONTROL_REF.fullmatch(normalised)
    if match is None:
        raise InvalidInput(
            "A control is named <framework>:<control id>, e.g. soc2:CC6.1.",
            details={"control_ids": [ref]},
        )
    return match["framework"], match["control_id"]


def _retention_class(decisions: list[Decision], metadata: dict[str, Any]) -> str:
    """The artifact's class from its linked decisions (already loaded) and the AI system its
    metadata names (the registry's cached map): no extra query."""
    named = metadata.get("ai_system")
    risk_class = aisystems.registered_risk_class(named) if isinstance(named, str) else None
    return artifact_retention_class(
        linked_classes=[d.retention_class for d in decisions], ai_system_risk_class=risk_class
    )


@dataclass
class _Pending:
    decisions: list[Decision] = field(default_factory=list)
    controls: list[tuple[str, str]] = field(default_factory=list)


def _visible_decisions(principal: Any, decision_ids: Iterable[Any]) -> list[Decision]:
    wanted = list(dict.fromkeys(str(i) for i in decision_ids))
    found = {str(d.pk): d for d in Decision.objects.visible_to(principal).filter(pk__in=wanted)}
    missing = [i for i in wanted if i not in found]
    if missing:
        raise NotFound("No such decision.", details={"decision_ids": missing})
    return [found[i] for i in wanted]


def _store(source: File, sha256: str) -> bool:
    """Store ``source`` under its hash unless those bytes are already there; True if new."""
    storage = evidence_storage()
    name = content_name(sha256)
    if storage.exists(name):
        return False
    source.seek(0)
    saved = storage.save(name, source)
    if saved != name:
        # A concurrent registration stored the same bytes first; ours is an identical copy.
        storage.delete(saved)
        return False
    return True


#: The first key of the two-key PostgreSQL advisory locks on stored bytes ("EVID"); the second
#: is taken from the SHA-256. Two-key locks never collide with one-key (bigint) locks.
CONTENT_LOCK_CLASS = 0x45564944


def _lock_content(sha256: str) -> None:
    """Hold, until the current transaction ends, the lock on the stored bytes of ``sha256``.

    PostgreSQL: a transaction-level advisory lock. SQLite: nothing to do, every transaction
    starts with ``BEGIN IMMEDIATE`` and so already holds the database's one write lock.
    """
    if connection.vendor != "postgresql":
        return
    key = int.from_bytes(bytes.fromhex(sha256[:8]), "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [CONTENT_LOCK_CLASS, key])


def _in_use(sha256: str) -> bool:
    """Whether an unexpired artifact has these bytes (call under ``_lock_content``)."""
    return EvidenceArtifact.objects.filter(sha256=sha256, expired_at__isnull=True).exists()


def _unstore(sha256: str) -> None:
    """Delete bytes this registration stored, unless an unexpired artifact has them by now."""
    with transaction.atomic():
        _lock_content(sha256)
        if not _in_use(sha256):
            evidence_storage().delete(content_name(sha256))


def evidence_content_release(sha256: str) -> None:
    """Delete the stored bytes of ``sha256`` unless an unexpired artifact has them: for a caller
    whose own transaction, around ``evidence_register``, rolled back after the bytes were stored
    (apps.techdoc), so a failed write leaves no file behind."""
    _unstore(sha256)


def evidence_register(
    *,
    principal: Any,
    artifact_type: str,
    title: str,
    content: File,
    media_type: str,
    source: str = "",
    decision_ids: Iterable[Any] = (),
    control_ids: Iterable[str] = (),
    retention_days: int | None = None,
    metadata: dict[str, Any] | None = None,
) -> EvidenceArtifact:
    """Hash and store ``content`` (a seekable file, read in chunks), write the artifact, its links
    and its ``evidence.registered`` entry; return the artifact.

    ``retention_days`` may lengthen the type's retention, never shorten it. The artifact's
    retention class (``apps.core.retention``) is a floor on top: an artifact linked to a
    high-risk decision, or naming a high-risk system in ``metadata.ai_system``, is kept at least
    as long as its class says.
    """
    if artifact_type not in ArtifactType.values:
        raise InvalidInput(
            "Unknown artifact type.",
            details={"artifact_type": artifact_type, "allowed": list(ArtifactType.values)},
        )
    default_days = retention_days_for(artifact_type)
    days = default_days if retention_days is None else retention_days
    if not default_days <= days <= MAX_RETENTION_DAYS:
        raise InvalidInput(
            f"retention_days must be between the type's {default_days} and {MAX_RETENTION_DAYS}.",
            details={"retention_days": retention_days},
        )
    pending = _Pending(
        decisions=_visible_decisions(principal, decision_ids),
        controls=list(dict.fromkeys(parse_control_ref(ref) for ref in control_ids)),
    )
    retention_class = _retention_class(pending.decisions, metadata or {})
    days = max(days, class_days(retention_class))
    digest = digest_chunks(content.chunks(CHUNK_SIZE), limit=max_bytes())
    created_file = _store(content, digest.sha256)
    try:
        with transaction.atomic():
            _lock_content(digest.sha256)
            # Bytes that were already stored may have been deleted since by the expiry of the
            # last artifact that had them: store them again (``content`` was not moved then).
            if _store(File(content.file), digest.sha256):
                created_file = True
            return _write_artifact(
                principal=principal,
                artifact_type=artifact_type,
                title=title,
                digest=digest,
                media_type=media_type,
                source=source,
                days=days,
                retention_class=retention_class,
                metadata=metadata or {},
                pending=pending,
            )
    except BaseException:
        if created_file:
            _unstore(digest.sha256)
        raise


def _write_artifact(
    *,
    principal: Any,
    artifact_type: str,
    title: str,
    digest: Digest,
    media_type: str,
    source: str,
    days: int,
    retention_class: str,
    metadata: dict[str, Any],
    pending: _Pending,
) -> EvidenceArtifact:
    actor = actor_of(principal)
    artifact = EvidenceArtifact(
        artifact_type=artifact_type,
        title=title,
        sha256=digest.sha256,
        size_bytes=digest.size_bytes,
        media_type=media_type,
        source=source,
        metadata=metadata,
        retention_days=days,
        retention_until=timezone.now() + timedelta(days=days),
        retention_class=retention_class,
        registered_by_key_id=(principal.key_id if isinstance(principal, AgentPrincipal) else None),
        registered_by=actor["id"],
        ledger_seq=0,
    )
    payload = {
        **events.envelope(actor=actor, subject_type="evidence", subject_id=str(artifact.pk)),
        "artifact_id": str(artifact.pk),
        "artifact_type": artifact_type,
        "sha256": digest.sha256,
        "size_bytes": digest.size_bytes,
        "media_type": media_type,
        "decision_ids": [str(d.pk) for d in pending.decisions],
        "control_ids": [f"{f}:{c}" for f, c in pending.controls],
    }
    entry = ledger.ledger_append(entry_type=EntryType.EVIDENCE_REGISTERED, payload=payload)
    artifact.ledger_seq = entry.seq
    # Field checks only: the uniqueness and foreign keys are the database's to enforce.
    artifact.clean_fields(exclude=["registered_by_key"])
    artifact.save(force_insert=True)
    EvidenceDecisionLink.objects.bulk_create(
        EvidenceDecisionLink(artifact=artifact, decision=d, ledger_seq=entry.seq)
        for d in pending.decisions
    )
    EvidenceControlLink.objects.bulk_create(
        EvidenceControlLink(artifact=artifact, framework=f, control_id=c, ledger_seq=entry.seq)
        for f, c in pending.controls
    )
    return artifact


@dataclass(frozen=True)
class LinkResult:
    link: EvidenceDecisionLink | EvidenceControlLink
    created: bool


def _visible_artifact(principal: Any, artifact_id: Any) -> EvidenceArtifact:
    artifact = EvidenceArtifact.objects.visible_to(principal).filter(pk=artifact_id).first()
    if artifact is None:
        raise NotFound("No such evidence artifact.")
    return artifact


def _append_link(principal: Any, artifact: EvidenceArtifact, fields: dict[str, Any]) -> int:
    payload = {
        **events.envelope(
            actor=actor_of(principal), subject_type="evidence", subject_id=str(artifact.pk)
        ),
        "artifact_id": str(artifact.pk),
        **fields,
    }
    return ledger.ledger_append(entry_type=EntryType.EVIDENCE_LINKED, payload=payload).seq


def evidence_link_decision(*, principal: Any, artifact_id: Any, decision_id: Any) -> LinkResult:
    """Link a visible artifact to a visible decision (``evidence.linked``); a repeat returns the
    existing link and writes nothing. Either one invisible: ``NotFound``, nothing written."""
    artifact = _visible_artifact(principal, artifact_id)
    (decision,) = _visible_decisions(principal, [decision_id])
    existing = EvidenceDecisionLink.objects.filter(artifact=artifact, decision=decision).first()
    if existing is not None:
        return LinkResult(existing, created=False)
    try:
        with transaction.atomic():
            seq = _append_link(
                principal, artifact, {"link": "decision", "decision_id": str(decision.pk)}
            )
            link = EvidenceDecisionLink.objects.create(
                artifact=artifact, decision=decision, ledger_seq=seq
            )
    except IntegrityError:
        # A concurrent identical request won; its link is the answer, ours rolled back.
        link = EvidenceDecisionLink.objects.get(artifact=artifact, decision=decision)
        return LinkResult(link, created=False)
    return LinkResult(link, created=True)


def evidence_link_control(
    *, principal: Any, artifact_id: Any, framework: str, control_id: str
) -> LinkResult:
    """Link a visible artifact to ``framework``'s control (``evidence.linked``); idempotent."""
    framework = framework.lower()
    if not FRAMEWORK.fullmatch(framework) or not CONTROL_ID.fullmatch(control_id):
        raise InvalidInput(
            "framework is a short lower-case id (soc2) and control_id a control's id (CC6.1).",
            details={"framework": framework, "control_id": control_id},
        )
    artifact = _visible_artifact(principal, artifact_id)
    lookup = {"artifact": artifact, "framework": framework, "control_id": control_id}
    existing = EvidenceControlLink.objects.filter(**lookup).first()
    if existing is not None:
        return LinkResult(existing, created=False)
    try:
        with transaction.atomic():
            seq = _append_link(
                principal,
                artifact,
                {"link": "control", "framework": framework, "control_id": control_id},
            )
            link = EvidenceControlLink.objects.create(**lookup, ledger_seq=seq)
    except IntegrityError:
        return LinkResult(EvidenceControlLink.objects.get(**lookup), created=False)
    return LinkResult(link, created=True)


class ArtifactExpired(ApplicationError):
    code = "artifact_expired"
    status = 410
    default_message = "The artifact's retention has ended; its content was deleted."


def open_content(artifact: EvidenceArtifact) -> IO[bytes]:
    """The stored bytes of ``artifact`` as an open file (the caller streams and closes it);
    ``ArtifactExpired`` once its retention has ended."""
    if artifact.is_expired:
        raise ArtifactExpired(
            details={"expired_at": artifact.expired_at.isoformat().replace("+00:00", "Z")}
        )
    try:
        return evidence_storage().open(artifact.content_name, "rb")
    except FileNotFoundError as exc:
        raise NotFound("The artifact's content is missing from storage.") from exc


# --- Retention -------------------------------------------------------------------------------------

#: Who expires artifacts in the ledger when the periodic task does it.
RETENTION_ACTOR = system_actor("evidence_retention", "evidence retention expiry")


#: Functions ``artifact -> bool`` that say whether a legal hold keeps an artifact past its
#: retention. Apps above evidence append to it when they start (``apps.retention``'s ``ready()``:
#: its legal holds); evidence cannot import them (docs/architecture.md). Each is called inside the
#: expiry's transaction for that artifact, so a hold it reports cannot be placed between the
#: check and the expiry.
legal_hold_checks: list[Callable[[EvidenceArtifact], bool]] = []


def legal_hold_applies(artifact: EvidenceArtifact) -> bool:
    """Whether a legal hold keeps ``artifact`` past its retention (any registered check says so).

    A held artifact is skipped (not expired, nothing written) and looked at again on every run.
    """
    return any(check(artifact) for check in legal_hold_checks)


@dataclass(frozen=True)
class ExpiryResult:
    expired: int = 0
    bytes_deleted: int = 0
    held: int = 0


def evidence_expire_due(
    *,
    actor: dict[str, Any] = RETENTION_ACTOR,
    now: datetime | None = None,
    batch_size: int = EXPIRY_BATCH_SIZE,
) -> ExpiryResult:
    """Expire every artifact whose ``retention_until`` has passed (task ``evidence.expire``,
    ``manage.py expire_evidence``).

    Each artifact is its own transaction: ``expired_at`` is set (the one UPDATE these rows allow),
    one ``evidence.expired`` entry is appended, and the stored bytes are deleted unless another
    unexpired artifact shares them. Idempotent: an artifact already expired, by this run or a
    concurrent one, is skipped and writes nothing. Artifacts under legal hold are skipped.
    """
    now = now or timezone.now()
    expired = deleted = held = 0
    due = EvidenceArtifact.objects.filter(expired_at__isnull=True, retention_until__lte=now)
    after: EvidenceArtifact | None = None
    while True:
        page = due.order_by("retention_until", "pk")
        if after is not None:
            page = page.filter(
                Q(retention_until__gt=after.retention_until)
                | Q(retention_until=after.retention_until, pk__gt=after.pk)
            )
        batch = list(page[:batch_size])
        if not batch:
            break
        for artifact in batch:
            outcome = _expire(artifact, actor=actor, now=now)
            if outcome is _HELD:
                held += 1
            elif outcome is not None:
                expired += 1
                deleted += outcome
        after = batch[-1]
    return ExpiryResult(expired=expired, bytes_deleted=deleted, held=held)


#: What ``_expire`` answers for an artifact a legal hold keeps.
_HELD = "held"


def _expire(
    artifact: EvidenceArtifact, *, actor: dict[str, Any], now: datetime
) -> bool | str | None:
    """Expire one artifact; None if it was already expired, ``_HELD`` if a legal hold keeps it
    (nothing written), else whether its bytes were deleted.

    The hold is asked inside the transaction (a check may lock against holds being placed), and
    the bytes are deleted inside it too, under the content lock, so that no registration can come
    to rely on them in between. Should the commit fail after that, the bytes are gone and the row
    is still unexpired; the next run expires it (its retention had ended anyway).
    """
    with transaction.atomic():
        _lock_content(artifact.sha256)
        if legal_hold_applies(artifact):
            return _HELD
        marked = EvidenceArtifact.objects.filter(pk=artifact.pk, expired_at__isnull=True).update(
            expired_at=now
        )
        if not marked:
            return None
        payload = {
            **events.envelope(
                actor=actor,
                subject_type="evidence",
                subject_id=str(artifact.pk),
                reason="the retention period ended",
            ),
            "artifact_id": str(artifact.pk),
            "sha256": artifact.sha256,
            "artifact_type": artifact.artifact_type,
            "retention_until": _rfc3339(artifact.retention_until),
        }
        ledger.ledger_append(entry_type=EntryType.EVIDENCE_EXPIRED, payload=payload)
        if _in_use(artifact.sha256):
            return False
        evidence_storage().delete(artifact.content_name)
        return True


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
