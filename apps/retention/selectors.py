"""Record-keeping reads: is this held, the holds, the Art. 12 status, the per-system section.

Everything here is computed when asked, from the decisions, artifacts, holds, sweep runs and the
ledger's own records (latest verification, latest checkpoint); nothing is a stored verdict.
Decision counts add up the day counts (``apps.retention.daycounts``: decisions made per class and
closed day, and how many of them the sweep anonymised, moved in its own batch transactions) and
count only today's decisions, the day a cutoff falls in and the held ones in the partial index of
live decisions (``decisions_retention_live``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from apps.core.exceptions import NotFound
from apps.core.retention import RetentionClass, retention_cutoff, retention_days
from apps.decisions.models import Decision
from apps.evidence.models import EvidenceArtifact
from apps.ledger.models import ChainHead, Checkpoint, VerificationRun
from apps.retention import daycounts
from apps.retention import holds as hold_rules
from apps.retention.models import LegalHold, RetentionRun

CLASSES = tuple(RetentionClass.values)
STATES = ("active", "expiring", "legal_hold", "anonymised")


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- Legal holds -----------------------------------------------------------------------------------


def held(*, decision: Any = None, artifact: Any = None) -> bool:
    """Whether a legal hold in force covers ``decision`` or ``artifact`` (apps.retention.holds)."""
    holds = hold_rules.holds_in_force()
    if not holds:
        return False
    if decision is not None and any(hold_rules.covers_decision(h, decision) for h in holds):
        return True
    if artifact is not None:
        linked = list(
            Decision.objects.filter(evidence_links__artifact=artifact).only(
                "id", "ai_system", "actor", "created_at"
            )
        )
        return any(hold_rules.covers_artifact(h, artifact, linked) for h in holds)
    return False


def hold_as_dict(hold: LegalHold | hold_rules.DerivedHold) -> dict[str, Any]:
    if isinstance(hold, hold_rules.DerivedHold):
        # Implied by another record (an open incident): no row, no placing entry of its own.
        return {
            "id": f"{hold.source}:{hold.source_id}",
            "scope": hold.scope,
            "ai_system": None,
            "actor": None,
            "decision_ids": list(hold.decision_ids),
            "artifact_ids": list(hold.artifact_ids),
            "from": None,
            "to": None,
            "reason": hold.reason,
            "status": "active",
            "derived_from": {"type": hold.source, "id": hold.source_id},
        }
    return {
        "id": str(hold.pk),
        "scope": hold.scope,
        "ai_system": hold.ai_system or None,
        "actor": hold.actor or None,
        "decision_ids": list(hold.decision_ids),
        "from": iso(hold.period_from),
        "to": iso(hold.period_to),
        "reason": hold.reason,
        "requested_by": hold.requested_by,
        "status": "active" if hold.is_active else "released",
        "placed_by": f"user:{hold.placed_by_id}",
        "placed_at": iso(hold.placed_at),
        "placed_ledger_entry_id": hold.placed_ledger_seq,
        "released_by": f"user:{hold.released_by_id}" if hold.released_by_id else None,
        "released_at": iso(hold.released_at),
        "release_reason": hold.release_reason or None,
        "released_ledger_entry_id": hold.released_ledger_seq,
    }


def hold_get(*, hold_id: Any) -> LegalHold:
    hold = LegalHold.objects.filter(pk=hold_id).first()
    if hold is None:
        raise NotFound("No legal hold has that id.", details={"hold_id": str(hold_id)})
    return hold


def holds_list(*, status: str | None = None) -> QuerySet[LegalHold]:
    """Holds, newest first; ``status`` ``active`` or ``released`` filters."""
    queryset = LegalHold.objects.order_by("-placed_at", "-id")
    if status == "active":
        queryset = queryset.filter(released_at__isnull=True)
    elif status == "released":
        queryset = queryset.filter(released_at__isnull=False)
    return queryset


# --- Sweep runs ------------------------------------------------------------------------------------


def run_as_dict(run: RetentionRun | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "run_id": str(run.pk),
        "status": run.status,
        "trigger": run.trigger,
        "actor": run.actor_id,
        "as_of": iso(run.as_of),
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "decisions_anonymised": {c: int(run.anonymised.get(c, 0)) for c in CLASSES},
        "texts_erased": run.texts_erased,
        "decisions_held": run.decisions_held,
        "artifacts_expired": run.artifacts_expired,
        "artifact_contents_deleted": run.artifact_contents_deleted,
        "artifacts_held": run.artifacts_held,
        "resumed": list(run.resumed),
        "time_limited": run.time_limited,
        "ledger_entry_id": run.ledger_seq,
    }


# --- The Art. 12 status ----------------------------------------------------------------------------


def _expiring_window() -> timedelta:
    return timedelta(days=int(settings.LEXECON_RETENTION_EXPIRING_DAYS))


def decision_states(
    *, now: datetime, holds: list[LegalHold], base: QuerySet[Decision] | None = None
) -> dict[str, dict[str, Any]]:
    """Per class: live decisions that are ``active``, ``expiring`` (retention ends within the
    window, ``overdue`` among them: already ended, waiting for the sweep) and ``legal_hold``,
    ``anonymised`` ones, and the next expiry of a decision no hold keeps.

    Without ``base``, the closed days come from the day counts and only today's decisions and
    the day a cutoff falls in are counted, in the index of live decisions (ADR 0021). ``base``
    narrows to some decisions (one AI system): those are counted in that index directly."""
    horizon = now + _expiring_window()
    held_q = hold_rules.decisions_q(holds)
    live = Decision.objects.filter(anonymised_at__isnull=True)
    if base is not None:
        live = base.filter(anonymised_at__isnull=True)
        totals = {
            row["retention_class"]: row["n"]
            for row in live.order_by().values("retention_class").annotate(n=Count("id"))
        }
        anonymised = {
            row["retention_class"]: row["n"]
            for row in base.filter(anonymised_at__isnull=False)
            .order_by()
            .values("retention_class")
            .annotate(n=Count("id"))
        }

        def made_by(name: str, cut: datetime) -> int:
            return live.filter(retention_class=name, created_at__lte=cut).count()

    else:
        until = daycounts.fill(now=now)
        tail_start = daycounts.day_start(until)
        days = daycounts.per_class()
        closed = {
            name: sum(made - gone for day, made, gone in days.get(name, []) if day < until)
            for name in CLASSES
        }
        totals = {
            name: closed[name]
            + live.filter(retention_class=name, created_at__gte=tail_start).count()
            for name in CLASSES
        }
        anonymised = {name: sum(gone for _, _, gone in days.get(name, [])) for name in CLASSES}

        def made_by(name: str, cut: datetime) -> int:
            if cut >= tail_start:
                start, before = tail_start, closed[name]
            else:
                start = daycounts.day_start(cut.astimezone(UTC).date())
                before = sum(
                    made - gone for day, made, gone in days.get(name, []) if day < start.date()
                )
            in_day = live.filter(
                retention_class=name, created_at__gte=start, created_at__lte=cut
            ).count()
            return before + in_day

    held_rows: dict[str, dict[str, int]] = {}
    if held_q is not None:
        held_rows = {
            row["retention_class"]: row
            for row in live.filter(held_q)
            .order_by()
            .values("retention_class")
            .annotate(
                n=Count("id"),
                expiring=Count(
                    "id", filter=_any_class({c: retention_cutoff(c, horizon) for c in CLASSES})
                ),
                overdue=Count(
                    "id", filter=_any_class({c: retention_cutoff(c, now) for c in CLASSES})
                ),
            )
        }
    states: dict[str, dict[str, Any]] = {}
    for name in CLASSES:
        held = held_rows.get(name, {})
        expiring = made_by(name, retention_cutoff(name, horizon)) - int(held.get("expiring", 0))
        overdue = made_by(name, retention_cutoff(name, now)) - int(held.get("overdue", 0))
        oldest_free = live.filter(retention_class=name)
        if held_q is not None:
            oldest_free = oldest_free.exclude(held_q)
        oldest = oldest_free.order_by("created_at").values_list("created_at", flat=True).first()
        states[name] = {
            "active": int(totals.get(name, 0)) - int(held.get("n", 0)) - expiring,
            "expiring": expiring,
            "overdue": overdue,
            "legal_hold": int(held.get("n", 0)),
            "anonymised": int(anonymised.get(name, 0)),
            "next_expiry": iso(oldest + timedelta(days=retention_days(name))) if oldest else None,
        }
    return states


def _any_class(cutoffs: dict[str, datetime]) -> Q:
    """Rows made at or before their own class's cutoff."""
    parts = [Q(retention_class=name, created_at__lte=cut) for name, cut in cutoffs.items()]
    combined = parts[0]
    for part in parts[1:]:
        combined |= part
    return combined


def artifact_states(*, now: datetime, holds: list[LegalHold]) -> dict[str, dict[str, Any]]:
    """Per class: evidence artifacts ``active``, ``expiring`` (within the window), under
    ``legal_hold`` and ``expired`` (bytes gone), and the next expiry of one no hold keeps."""
    horizon = now + _expiring_window()
    held_q = hold_rules.artifacts_q(holds)
    unexpired = Q(expired_at__isnull=True)
    free = unexpired if held_q is None else unexpired & ~held_q
    aggregates: dict[str, Any] = {
        "total": Count("pk"),
        "expired": Count("pk", filter=Q(expired_at__isnull=False)),
        "expiring": Count("pk", filter=free & Q(retention_until__lte=horizon)),
        "overdue": Count("pk", filter=free & Q(retention_until__lte=now)),
        "next": Min("retention_until", filter=free),
    }
    if held_q is not None:
        aggregates["held"] = Count("pk", filter=unexpired & held_q)
    rows = {
        row["retention_class"]: row
        for row in EvidenceArtifact.objects.order_by()
        .values("retention_class")
        .annotate(**aggregates)
    }
    states: dict[str, dict[str, Any]] = {}
    for name in CLASSES:
        row = rows.get(name, {})
        held_count = int(row.get("held", 0))
        expired = int(row.get("expired", 0))
        expiring = int(row.get("expiring", 0))
        states[name] = {
            "active": int(row.get("total", 0)) - expired - held_count - expiring,
            "expiring": expiring,
            "overdue": int(row.get("overdue", 0)),
            "legal_hold": held_count,
            "expired": expired,
            "next_expiry": iso(row.get("next")),
        }
    return states


def ledger_state() -> dict[str, Any]:
    """The ledger's size, its latest full verification and its latest signed checkpoint."""
    head = ChainHead.objects.filter(pk=1).first()
    verification = VerificationRun.objects.order_by("-finished_at", "-id").first()
    checkpoint = Checkpoint.objects.order_by("-tree_size").first()
    return {
        "size": (head.seq + 1) if head else 0,
        "verification": (
            {
                "valid": verification.valid,
                "finished_at": iso(verification.finished_at),
                "entries_checked": verification.entries_checked,
                "error_code": verification.error_code or None,
                "first_invalid_seq": verification.first_invalid_seq,
            }
            if verification
            else None
        ),
        "latest_checkpoint": (
            {"tree_size": checkpoint.tree_size, "created_at": iso(checkpoint.created_at)}
            if checkpoint
            else None
        ),
    }


def configuration() -> dict[str, Any]:
    return {
        "retention_days": {name: retention_days(name) for name in CLASSES},
        "personal_data_classes": list(settings.LEXECON_RETENTION_PERSONAL_DATA_CLASSES),
        "expiring_window_days": int(settings.LEXECON_RETENTION_EXPIRING_DAYS),
        "sweep_interval_seconds": settings.CELERY_BEAT_SCHEDULE["compliance-retention-sweep"][
            "schedule"
        ],
    }


def _next_expiry(states: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    upcoming = [(s["next_expiry"], name) for name, s in states.items() if s["next_expiry"]]
    if not upcoming:
        return None
    at, name = min(upcoming)
    return {"at": at, "retention_class": name}


def article_12_status(*, now: datetime | None = None) -> dict[str, Any]:
    """``GET /compliance/eu-ai-act/article-12/status`` (docs/api.md)."""
    now = now or timezone.now()
    holds = hold_rules.holds_in_force()
    decisions = decision_states(now=now, holds=holds)
    artifacts = artifact_states(now=now, holds=holds)
    runs = RetentionRun.objects.order_by("-started_at", "-id")
    return {
        "generated_at": iso(now),
        "configuration": configuration(),
        "decisions": decisions,
        "decisions_next_expiry": _next_expiry(decisions),
        "artifacts": artifacts,
        "artifacts_next_expiry": _next_expiry(artifacts),
        "legal_holds": {
            "active": len(holds),
            "holds": [hold_as_dict(hold) for hold in holds],
        },
        "last_sweep": run_as_dict(runs.first()),
        "last_completed_sweep": run_as_dict(
            runs.filter(status=RetentionRun.Status.COMPLETED).first()
        ),
        "ledger": ledger_state(),
    }


# --- The per-system section of the staff page -------------------------------------------------------


def system_section_context(ai_system: Any) -> dict[str, Any]:
    """Context of ``templates/retention/_system_section.html`` for one registered AI system:
    its decisions by class and state, the holds that reach it, the last sweep, the ledger."""
    now = timezone.now()
    system_id = str(getattr(ai_system, "pk", ai_system))
    holds = hold_rules.holds_in_force()
    decisions = decision_states(
        now=now, holds=holds, base=Decision.objects.filter(ai_system=system_id)
    )
    rows = [
        {"retention_class": name, "days": retention_days(name), **decisions[name]}
        for name in CLASSES
    ]
    of_system = Decision.objects.filter(ai_system=system_id)
    reaching = [
        hold
        for hold in holds
        if hold.ai_system == system_id
        or (
            hold.scope != "ai_system"
            and of_system.filter(hold_rules.decisions_q([hold]) or Q()).exists()
        )
    ]
    last = RetentionRun.objects.order_by("-started_at", "-id").first()
    return {
        "retention_system_id": system_id,
        "retention_rows": rows,
        "retention_next_expiry": _next_expiry(decisions),
        "retention_holds": [hold_as_dict(hold) for hold in reaching],
        "retention_last_sweep": run_as_dict(last),
        "retention_ledger": ledger_state(),
    }
