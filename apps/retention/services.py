"""Record-keeping writes: place and release legal holds; the retention sweep.

IRREVERSIBLE. The sweep erases, for every decision past its retention class's period and not
under a legal hold, the request context and its salt, and the words people wrote about it
(escalation reasons written by a person or an agent, resolution and approval notes, override
justifications, stop reasons, and the same words in its responsibility records); it then has
evidence artifacts past their retention expired (their bytes deleted). Nothing brings these
back: there is no copy, and the ledger only ever held their salted commitments, which without the
salt reveal nothing (DESIGN §7, DOMAIN Part C). What stays is everything the ledger commits to in
clear, every hash, and each decision's class and ``anonymised_at``; the chain verifies as before.
The erasing writes are the owning apps' own functions (``apps.decisions.erasure``,
``apps.escalations.services.erasure``); this module decides what and when.

How it runs (ADR 0021): decisions are found through the partial index of live decisions
(``decisions_retention_live``) by class and age and erased in small batches, each its own short
transaction that takes the shared holds lock (a hold being placed waits for it, and a batch
started after a hold sees it) and never the ledger's chain-head lock. The run's counts are
updated in the same transactions, so they are exact however the run ends. A run is idempotent
(only what is still there is erased) and resumable (a killed run leaves committed batches
behind; the next run finds it, marks it ``interrupted``, does what is left and reports both). On
PostgreSQL one run at a time: a session advisory lock held for the whole run tells a new run
whether an old ``running`` one is alive. Each completed run appends exactly one
``retention.sweep_completed`` entry; artifact expiry keeps its own ``evidence.expired`` entry per
artifact (apps.evidence, issue 16).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.accounts.principals import actor_of, system_actor
from apps.core.exceptions import Conflict, InvalidInput, NotFound
from apps.core.retention import RetentionClass, retention_cutoff
from apps.decisions import erasure as decision_erasure
from apps.decisions.models import Decision
from apps.escalations import services as escalations
from apps.evidence import services as evidence
from apps.evidence.models import EvidenceArtifact
from apps.ledger import events
from apps.ledger import services as ledger
from apps.ledger.entry_types import EntryType
from apps.retention import daycounts, selectors
from apps.retention import holds as hold_rules
from apps.retention.constants import (
    LOCK_CLASS,
    MAX_HOLD_DECISIONS,
    REASON_MIN_LENGTH,
    REQUESTED_BY_MAX_LENGTH,
    SWEEP_LOCK,
    TEXT_MAX_LENGTH,
)
from apps.retention.models import LegalHold, RetentionRun, Scope
from tools.verify_bundle import canonical_bytes

logger = logging.getLogger("lexecon.retention")

#: Who runs the sweep in the ledger when the periodic task does it.
SWEEP_ACTOR = system_actor("retention_sweep", "retention sweep")


def _rfc3339(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def commit_text(text: str, salt_hex: str) -> str:
    """hex SHA-256(salt ‖ JCS(text)), the ledger's commitment (``ledger.commitment_matches``
    opens it), with the hold's own salt: one salt opens each of the hold's texts."""
    return hashlib.sha256(bytes.fromhex(salt_hex) + canonical_bytes(text)).hexdigest()


# --- Legal holds -----------------------------------------------------------------------------------


def _text(value: Any, *, name: str, minimum: int, maximum: int) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if "\x00" in text:
        raise InvalidInput(f"The {name} contains a null character.", details={name: "null"})
    if not minimum <= len(text) <= maximum:
        raise InvalidInput(
            f"The {name} must be {minimum} to {maximum} characters.",
            details={name: f"{minimum} to {maximum} characters"},
        )
    return text


@dataclass(frozen=True)
class HoldScope:
    """What a hold is to cover, as sent (checked by :func:`legal_hold_place`)."""

    scope: str
    ai_system: str = ""
    actor: str = ""
    decision_ids: tuple[str, ...] = ()
    period_from: datetime | None = None
    period_to: datetime | None = None


_SCOPE_FIELDS = {
    Scope.AI_SYSTEM: {"ai_system"},
    Scope.ACTOR: {"actor"},
    Scope.DECISION_IDS: {"decision_ids"},
    Scope.TIME_RANGE: {"period_from", "period_to"},
}
_PERIOD_ALLOWED = {Scope.AI_SYSTEM, Scope.ACTOR, Scope.TIME_RANGE}
_SCOPE_HELP = {
    Scope.AI_SYSTEM: "An ai_system hold names ai_system, and may bound it by from/to.",
    Scope.ACTOR: "An actor hold names actor, and may bound it by from/to.",
    Scope.DECISION_IDS: "A decision_ids hold names decision_ids and nothing else.",
    Scope.TIME_RANGE: "A time_range hold names from and to and nothing else.",
}


def _check_scope(scope: HoldScope) -> HoldScope:
    """The scope's own field(s) present, the others absent; decisions exist; the period ordered."""
    if scope.scope not in Scope.values:
        raise InvalidInput(
            "Unknown hold scope.", details={"scope": scope.scope, "allowed": Scope.values}
        )
    sent = {
        name
        for name, empty in (
            ("ai_system", ""),
            ("actor", ""),
            ("decision_ids", ()),
            ("period_from", None),
            ("period_to", None),
        )
        if getattr(scope, name) != empty
    }
    required = _SCOPE_FIELDS[Scope(scope.scope)]
    allowed = required | ({"period_from", "period_to"} if scope.scope in _PERIOD_ALLOWED else set())
    missing, extra = sorted(required - sent), sorted(sent - allowed)
    if missing or extra:
        raise InvalidInput(
            _SCOPE_HELP[Scope(scope.scope)],
            details={"missing": missing, "not_for_this_scope": extra},
        )
    if scope.period_from and scope.period_to and scope.period_from >= scope.period_to:
        raise InvalidInput(
            "from must be before to.",
            details={"from": _rfc3339(scope.period_from), "to": _rfc3339(scope.period_to)},
        )
    for name in ("ai_system", "actor"):
        value = getattr(scope, name)
        if value and (len(value) > 200 or "\x00" in value or value != value.strip()):
            raise InvalidInput(
                f"{name} is 1 to 200 characters, without surrounding spaces or null characters.",
                details={name: "invalid"},
            )
    if scope.scope == Scope.DECISION_IDS:
        wanted = list(dict.fromkeys(scope.decision_ids))
        if len(wanted) > MAX_HOLD_DECISIONS:
            raise InvalidInput(
                f"A hold names at most {MAX_HOLD_DECISIONS} decisions; place several holds.",
                details={"decision_ids": len(wanted)},
            )
        found = {
            str(pk) for pk in Decision.objects.filter(pk__in=wanted).values_list("pk", flat=True)
        }
        unknown = [i for i in wanted if i not in found]
        if unknown:
            raise InvalidInput("No decision has these ids.", details={"decision_ids": unknown})
        return HoldScope(scope=scope.scope, decision_ids=tuple(wanted))
    return scope


def legal_hold_place(
    *, user: Any, scope: HoldScope, reason: str, requested_by: str, now: datetime | None = None
) -> LegalHold:
    """Place a hold (``legal_hold.placed``): from its commit on, nothing it covers is erased.

    Taken under the exclusive holds lock, so a sweep batch running now finishes first and every
    batch after it sees the hold. Refusals (``InvalidInput``) write nothing."""
    scope = _check_scope(scope)
    reason = _text(reason, name="reason", minimum=REASON_MIN_LENGTH, maximum=TEXT_MAX_LENGTH)
    requested_by = _text(
        requested_by, name="requested_by", minimum=1, maximum=REQUESTED_BY_MAX_LENGTH
    )
    salt = secrets.token_hex(16)
    hold = LegalHold(
        scope=scope.scope,
        ai_system=scope.ai_system,
        actor=scope.actor,
        decision_ids=list(scope.decision_ids),
        period_from=scope.period_from,
        period_to=scope.period_to,
        reason=reason,
        requested_by=requested_by,
        text_salt=salt,
        placed_by=user,
        placed_ledger_seq=0,
    )
    actor = actor_of(user)
    with transaction.atomic():
        hold_rules.lock_holds(exclusive=True)
        hold.placed_at = now or timezone.now()
        payload = {
            **events.envelope(actor=actor, subject_type="legal_hold", subject_id=str(hold.pk)),
            "hold_id": str(hold.pk),
            "scope": hold.scope,
            "ai_system": hold.ai_system or None,
            "decision_actor": hold.actor or None,
            "decision_ids": hold.decision_ids,
            "period_from": _rfc3339(hold.period_from),
            "period_to": _rfc3339(hold.period_to),
            "reason_commitment": commit_text(reason, salt),
            "requested_by_commitment": commit_text(requested_by, salt),
        }
        entry = ledger.ledger_append(entry_type=EntryType.LEGAL_HOLD_PLACED, payload=payload)
        hold.placed_ledger_seq = entry.seq
        hold.full_clean(exclude=["placed_by"])
        hold.save(force_insert=True)
    return hold


def legal_hold_release(
    *, user: Any, hold_id: Any, reason: str, now: datetime | None = None
) -> LegalHold:
    """Release a hold in force (``legal_hold.released``); what it covered is then swept like
    anything else at the next run. Unknown: ``NotFound``; already released: ``Conflict``."""
    reason = _text(reason, name="reason", minimum=REASON_MIN_LENGTH, maximum=TEXT_MAX_LENGTH)
    with transaction.atomic():
        hold_rules.lock_holds(exclusive=True)
        hold = LegalHold.objects.select_for_update().filter(pk=hold_id).first()
        if hold is None:
            raise NotFound("No legal hold has that id.", details={"hold_id": str(hold_id)})
        if hold.released_at is not None:
            raise Conflict(
                "This legal hold was already released.",
                details={"hold_id": str(hold.pk), "released_at": _rfc3339(hold.released_at)},
            )
        payload = {
            **events.envelope(
                actor=actor_of(user), subject_type="legal_hold", subject_id=str(hold.pk)
            ),
            "hold_id": str(hold.pk),
            "scope": hold.scope,
            "placed_seq": hold.placed_ledger_seq,
            "reason_commitment": commit_text(reason, hold.text_salt),
        }
        entry = ledger.ledger_append(entry_type=EntryType.LEGAL_HOLD_RELEASED, payload=payload)
        hold.released_at = now or timezone.now()
        hold.released_by = user
        hold.release_reason = reason
        hold.released_ledger_seq = entry.seq
        hold.save(
            update_fields=["released_at", "released_by", "release_reason", "released_ledger_seq"]
        )
    return hold


def artifact_held(artifact: Any) -> bool:
    """The evidence expiry's hold check (``evidence.services.legal_hold_checks``): called in the
    artifact's expiry transaction, it takes the shared holds lock first (seam 2)."""
    hold_rules.lock_holds(exclusive=False)
    return selectors.held(artifact=artifact)


# --- The sweep -------------------------------------------------------------------------------------

CLASSES = tuple(RetentionClass.values)


@dataclass
class SweepResult:
    """What a run did (or, dry, would do). ``skipped``: another run holds the sweep lock."""

    run_id: str | None = None
    as_of: datetime | None = None
    dry_run: bool = False
    skipped: bool = False
    anonymised: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CLASSES, 0))
    texts_erased: int = 0
    decisions_held: int = 0
    artifacts_expired: int = 0
    artifact_contents_deleted: int = 0
    artifacts_held: int = 0
    resumed: list[dict[str, Any]] = field(default_factory=list)
    #: The run stopped anonymising at its time budget; the rest waits for the next run.
    time_limited: bool = False
    ledger_seq: int | None = None

    @property
    def decisions_anonymised(self) -> int:
        return sum(self.anonymised.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "as_of": _rfc3339(self.as_of),
            "dry_run": self.dry_run,
            "skipped": self.skipped,
            "decisions_anonymised": dict(self.anonymised),
            "texts_erased": self.texts_erased,
            "decisions_held": self.decisions_held,
            "artifacts_expired": self.artifacts_expired,
            "artifact_contents_deleted": self.artifact_contents_deleted,
            "artifacts_held": self.artifacts_held,
            "resumed": list(self.resumed),
            "time_limited": self.time_limited,
            "ledger_entry_id": self.ledger_seq,
        }


def _due(retention_class: str, as_of: datetime) -> QuerySet[Decision]:
    """Decisions of the class whose personal data is still there and whose period has passed
    (the partial index ``decisions_retention_live`` answers this)."""
    return Decision.objects.filter(
        retention_class=retention_class,
        anonymised_at__isnull=True,
        created_at__lte=retention_cutoff(retention_class, as_of),
    )


def _not_held(queryset: QuerySet[Any], holds: list[LegalHold], prefix: str = "") -> QuerySet[Any]:
    held = hold_rules.decisions_q(holds, prefix)
    return queryset if held is None else queryset.exclude(held)


def _held_only(queryset: QuerySet[Any], holds: list[LegalHold]) -> QuerySet[Any]:
    held = hold_rules.decisions_q(holds)
    return queryset.none() if held is None else queryset.filter(held)


@dataclass(frozen=True)
class TextEraser:
    """Where an app above retention keeps words people wrote about decisions (ADR 0021).

    Retention cannot import those apps (docs/architecture.md), so each registers one of these from
    its ``AppConfig.ready``; the sweep calls them inside its batch transactions, exactly like the
    oversight tables of ``apps.escalations``. ``erase`` blanks the texts (and their salts) of these
    decisions and answers the number of rows changed; ``decisions_with_texts`` picks, among a batch,
    the decisions that have rows at all; ``changed_since`` names the decisions whose rows were
    written from that time on (words written after a decision was anonymised)."""

    name: str
    erase: Callable[[list[Any]], int]
    decisions_with_texts: Callable[[list[Any]], set[Any]]
    changed_since: Callable[[datetime], set[Any]]


#: Registered erasers, by name (registering a name again replaces it).
text_erasers: dict[str, TextEraser] = {}


def register_text_eraser(eraser: TextEraser) -> None:
    text_erasers[eraser.name] = eraser


def _with_texts(decision_ids: list[Any]) -> set[Any]:
    """The decisions of a batch that have any text to erase (most have none)."""
    found = set(escalations.oversight_decision_ids(decision_ids=decision_ids))
    for eraser in text_erasers.values():
        found |= eraser.decisions_with_texts(decision_ids)
    return found


def _erase_texts(decision_ids: list[Any]) -> int:
    """Erase what people wrote about these decisions (their oversight rows, responsibility
    records and every registered app's rows, through the owning apps); the number of rows
    changed."""
    erased = escalations.oversight_texts_erase(
        decision_ids=decision_ids
    ) + decision_erasure.responsibility_reasons_erase(decision_ids=decision_ids)
    for eraser in text_erasers.values():
        erased += eraser.erase(decision_ids)
    return erased


def _try_sweep_lock() -> bool:
    """Take the session lock of a running sweep (PostgreSQL), or say another run holds it.
    SQLite has one process in the embedded default: always True."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_CLASS, SWEEP_LOCK])
        return bool(cursor.fetchone()[0])


def _release_sweep_lock() -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, SWEEP_LOCK])


def retention_plan(*, as_of: datetime | None = None) -> SweepResult:
    """What a sweep as of ``as_of`` would do, writing nothing (``--dry-run``): decisions it
    would anonymise and those a hold keeps, per class; artifacts it would expire and those held."""
    as_of = as_of or timezone.now()
    plan = SweepResult(as_of=as_of, dry_run=True)
    holds = hold_rules.holds_in_force()
    for retention_class in CLASSES:
        due = _due(retention_class, as_of)
        plan.anonymised[retention_class] = _not_held(due, holds).count()
        plan.decisions_held += _held_only(due, holds).count()
    due = EvidenceArtifact.objects.filter(expired_at__isnull=True, retention_until__lte=as_of)
    for artifact in due.order_by("retention_until", "pk").iterator(chunk_size=500):
        if selectors.held(artifact=artifact):
            plan.artifacts_held += 1
        else:
            plan.artifacts_expired += 1
    return plan


def retention_sweep(
    *,
    as_of: datetime | None = None,
    actor: dict[str, Any] = SWEEP_ACTOR,
    trigger: str = "task",
    batch_size: int | None = None,
    max_seconds: float | None = None,
    progress: Callable[[SweepResult], None] | None = None,
) -> SweepResult:
    """Run the sweep as of ``as_of`` (now by default); module docstring. ``max_seconds``: stop
    anonymising after about this long and complete the run with what it did (the rest waits for
    the next run). ``progress`` is called after each committed batch (the command prints it)."""
    deadline = time.monotonic() + max_seconds if max_seconds else None
    now = timezone.now()
    as_of = as_of or now
    batch_size = batch_size or int(settings.LEXECON_RETENTION_SWEEP_BATCH)
    if not _try_sweep_lock():
        logger.info("a retention sweep is already running; this one does nothing")
        return SweepResult(as_of=as_of, skipped=True)
    try:
        daycounts.fill(now=now)  # so that the status never pays for a day's count itself
        run, result = _start(as_of=as_of, actor=actor, trigger=trigger, now=now)
        since = _texts_since(run)
        for retention_class in CLASSES:
            _sweep_class(run, result, retention_class, batch_size, progress, deadline)
        # Words written after their decision was anonymised (a late override, say).
        _erase_late_texts(run, result, since)
        _expire_artifacts(run, result, actor)
        _finish(run, result, actor)
    finally:
        _release_sweep_lock()
    return result


def _start(
    *, as_of: datetime, actor: dict[str, Any], trigger: str, now: datetime
) -> tuple[RetentionRun, SweepResult]:
    """Mark dead runs interrupted (the lock proves they are) and open this run's row."""
    with transaction.atomic():
        dead = list(
            RetentionRun.objects.select_for_update()
            .filter(status=RetentionRun.Status.RUNNING)
            .order_by("started_at")
        )
        resumed = [
            {
                "run_id": str(old.pk),
                "decisions_anonymised": old.decisions_anonymised,
                "artifacts_expired": old.artifacts_expired,
            }
            for old in dead
        ]
        RetentionRun.objects.filter(pk__in=[old.pk for old in dead]).update(
            status=RetentionRun.Status.INTERRUPTED, finished_at=now
        )
        run = RetentionRun.objects.create(
            trigger=trigger,
            actor_id=actor["id"],
            as_of=as_of,
            started_at=now,
            anonymised=dict.fromkeys(CLASSES, 0),
            resumed=resumed,
        )
    return run, SweepResult(run_id=str(run.pk), as_of=as_of, resumed=resumed)


def _texts_since(run: RetentionRun) -> datetime | None:
    """From when late texts must be looked for: the start of the last completed run (earlier
    ones were erased by it), or of the first run that ever anonymised anything."""
    previous = (
        RetentionRun.objects.filter(
            status=RetentionRun.Status.COMPLETED, started_at__lt=run.started_at
        )
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    if previous is not None:
        return previous
    runs = RetentionRun.objects.order_by("started_at")
    return runs.values_list("started_at", flat=True).first()


def _after(key: tuple[datetime, Any]) -> Q:
    """Decisions after ``key`` in (created_at, id) order."""
    return Q(created_at__gt=key[0]) | Q(created_at=key[0], id__gt=key[1])


def _up_to(key: tuple[datetime, Any]) -> Q:
    """Decisions up to and including ``key`` in (created_at, id) order."""
    return Q(created_at__lt=key[0]) | Q(created_at=key[0], id__lte=key[1])


def _sweep_class(
    run: RetentionRun,
    result: SweepResult,
    retention_class: str,
    batch_size: int,
    progress: Callable[[SweepResult], None] | None,
    deadline: float | None,
) -> None:
    """Anonymise the class's due decisions batch by batch, walking the live index once in
    (created_at, id) order so that held decisions are passed over, not read again.

    Each batch reads the ids of its page, then updates the same key range with the same filters
    (no list of ids to send back), and erases texts only of the few decisions that have any."""
    after: tuple[datetime, Any] | None = None
    while not result.time_limited:
        if deadline is not None and time.monotonic() >= deadline:
            result.time_limited = True
            break
        with transaction.atomic():
            hold_rules.lock_holds(exclusive=False)
            page = _not_held(_due(retention_class, result.as_of), hold_rules.holds_in_force())
            if after is not None:
                page = page.filter(_after(after))
            batch = list(
                page.order_by("created_at", "id").values_list("created_at", "id")[:batch_size]
            )
            if not batch:
                break
            last = batch[-1]
            changed = decision_erasure.decisions_anonymise(
                decisions=page.filter(_up_to(last)), now=timezone.now()
            )
            daycounts.add_anonymised(retention_class, [created for created, _ in batch])
            # A person's words come with an oversight row: most decisions have none.
            with_texts = list(_with_texts([pk for _, pk in batch]))
            texts = _erase_texts(with_texts) if with_texts else 0
            counts = {
                **result.anonymised,
                retention_class: result.anonymised[retention_class] + changed,
            }
            RetentionRun.objects.filter(pk=run.pk).update(
                anonymised=counts, texts_erased=result.texts_erased + texts
            )
        # Committed: only now does the in-memory result move on.
        result.anonymised = counts
        result.texts_erased += texts
        after = last
        if progress is not None:
            progress(result)
    with transaction.atomic():
        hold_rules.lock_holds(exclusive=False)
        held = _held_only(_due(retention_class, result.as_of), hold_rules.holds_in_force()).count()
        RetentionRun.objects.filter(pk=run.pk).update(decisions_held=result.decisions_held + held)
    result.decisions_held += held


def _erase_late_texts(run: RetentionRun, result: SweepResult, since: datetime | None) -> None:
    """Erase words written about already anonymised (and not held) decisions since ``since``.

    Every such word comes with an escalation, approval, override or stop row written or changed
    then (a responsibility record is written only beside one of them), so the small oversight
    tables say which decisions to look at; their texts are then erased as in a batch."""
    if since is None:
        return
    with transaction.atomic():
        hold_rules.lock_holds(exclusive=False)
        recent = escalations.oversight_changed_since(since=since)
        for eraser in text_erasers.values():
            recent |= eraser.changed_since(since)
        holds = hold_rules.holds_in_force()
        ordered, texts = sorted(recent), 0
        for start in range(0, len(ordered), 1000):  # by the primary key, 1,000 at a time
            chunk = ordered[start : start + 1000]
            found = Decision.objects.filter(pk__in=chunk, anonymised_at__isnull=False)
            ids = list(_not_held(found, holds).values_list("pk", flat=True))
            texts += _erase_texts(ids) if ids else 0
        if texts:
            RetentionRun.objects.filter(pk=run.pk).update(texts_erased=result.texts_erased + texts)
    result.texts_erased += texts


def _expire_artifacts(run: RetentionRun, result: SweepResult, actor: dict[str, Any]) -> None:
    expiry = evidence.evidence_expire_due(actor=actor, now=result.as_of)
    RetentionRun.objects.filter(pk=run.pk).update(
        artifacts_expired=expiry.expired,
        artifact_contents_deleted=expiry.bytes_deleted,
        artifacts_held=expiry.held,
    )
    result.artifacts_expired = expiry.expired
    result.artifact_contents_deleted = expiry.bytes_deleted
    result.artifacts_held = expiry.held


def _finish(run: RetentionRun, result: SweepResult, actor: dict[str, Any]) -> None:
    """The run's one ledger entry, and its row marked completed, together."""
    payload = {
        **events.envelope(actor=actor, subject_type="retention_run", subject_id=str(run.pk)),
        "run_id": str(run.pk),
        "as_of": _rfc3339(result.as_of),
        "started_at": _rfc3339(run.started_at),
        "decisions_anonymised": dict(result.anonymised),
        "texts_erased": result.texts_erased,
        "decisions_held": result.decisions_held,
        "artifacts_expired": result.artifacts_expired,
        "artifact_contents_deleted": result.artifact_contents_deleted,
        "artifacts_held": result.artifacts_held,
        "resumed": result.resumed,
        "time_limited": result.time_limited,
    }
    with transaction.atomic():
        entry = ledger.ledger_append(
            entry_type=EntryType.RETENTION_SWEEP_COMPLETED, payload=payload
        )
        RetentionRun.objects.filter(pk=run.pk).update(
            status=RetentionRun.Status.COMPLETED,
            finished_at=timezone.now(),
            ledger_seq=entry.seq,
            time_limited=result.time_limited,
        )
    result.ledger_seq = entry.seq
