"""The product's own Annex IV section providers: what it can fill from live data today.

- item 1: the AI system registry row and its versions, read from the registry's ledger entries;
- item 2: the human-oversight measures the product enforces (escalation threshold, review
  deadlines, four-eyes rule, overrides, stops) and how often they were used in the window;
- item 3: automatic logging (the ledger, its signed checkpoints and its latest full verification)
  and the system's decisions in the window;
- item 6: changes through the lifecycle: the system's registry changes, policy versions loaded and
  activated (who, when), and the documentation's own narrative versions;
- every item: the narratives an officer writes (apps.techdoc.constants.NARRATIVES).

Other apps add their parts through ``apps.techdoc.annex_iv.register_provider``. Every figure is
read when the document is built; nothing here is a stored or constant answer. None of these
providers scans the decisions table beyond the window (indexed on ``created_at``).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Max, Min, Q

from apps.accounts.constants import ROLE_PERMISSIONS
from apps.aisystems.models import AISystem, AISystemChange
from apps.decisions.models import Decision
from apps.escalations.constants import (
    JUSTIFICATION_MIN_LENGTH,
    NOTE_MIN_LENGTH,
    SLA_WARNING_FRACTION,
)
from apps.escalations.models import AgentStop, Escalation, Override
from apps.ledger.entry_types import EntryType
from apps.ledger.models import LedgerEntry
from apps.policies.models import PolicyActivation, PolicyVersion
from apps.techdoc import selectors
from apps.techdoc.annex_iv import (
    SectionPart,
    Window,
    register_narrative_provider,
    register_provider,
)
from apps.techdoc.constants import CHANGE_ROWS_LIMIT, NARRATIVES, NarrativeField
from apps.techdoc.selectors import iso


def _roles_with(permission: str) -> list[str]:
    return [role for role, perms in ROLE_PERMISSIONS.items() if permission in perms]


# --- Item 1: the registry ------------------------------------------------------------------------


def registry_part(system: AISystem, window: Window) -> SectionPart:
    """Who, what and which version, from the registry; versions from its ledger entries."""
    changes = list(AISystemChange.objects.filter(system=system).order_by("ledger_seq"))
    entries = {
        e.seq: e
        for e in LedgerEntry.objects.filter(seq__in=[c.ledger_seq for c in changes]).only(
            "seq", "timestamp", "payload"
        )
    }
    versions: list[dict[str, Any]] = []
    for change in changes:
        entry = entries.get(change.ledger_seq)
        version = entry.payload_data.get("version") if entry else None
        if entry is None or (versions and versions[-1]["version"] == version):
            continue
        versions.append(
            {
                "version": version,
                "since": entry.timestamp,
                "ledger_entry": change.ledger_seq,
                "recorded_by": change.actor,
            }
        )
    owner = system.owner
    facts: dict[str, Any] = {
        "id": system.pk,
        "name": system.name,
        "version": system.version,
        "role": system.get_role_display(),
        "annex_iii_point": system.get_annex_iii_point_display() or "none",
        "art_6_3_exemption": (
            f"yes, condition {system.get_art_6_3_condition_display()}"
            if system.art_6_3_exempt
            else "no"
        ),
        "risk_class": system.get_risk_class_display(),
        "status": system.get_status_display(),
        "owner": f"{owner.get_username()} (user:{owner.pk})" if owner else "none named",
        "registered": iso(system.created_at),
        "registered_by": system.created_by,
        "versions": versions,
    }
    text = f"Intended purpose: {system.intended_purpose}"
    if system.art_6_3_exempt and system.art_6_3_reasoning:
        text += f"\n\nWhy it is not high-risk (Art. 6(3)): {system.art_6_3_reasoning}"
    return SectionPart(title="The AI system registry", facts=facts, text=text)


# --- Item 2: human oversight built into the product ----------------------------------------------


def oversight_part(system: AISystem, window: Window) -> SectionPart:
    """The oversight measures the product enforces for every system, and their use by this one."""
    in_window = Q(created_at__gte=window.start, created_at__lt=window.end)
    escalations = Escalation.objects.filter(in_window, decision__ai_system=system.pk)
    by_state = Counter(
        f"{row['status']}:{row['resolution']}" for row in escalations.values("status", "resolution")
    )
    overrides = Override.objects.filter(in_window, decision__ai_system=system.pk).count()
    stops = AgentStop.objects.filter(in_window, decision__ai_system=system.pk).count()
    reviewers = (
        get_user_model()
        .objects.filter(
            is_active=True,
            groups__name__in=_roles_with("resolve_escalation"),
            totpdevice__confirmed=True,
        )
        .distinct()
        .count()
    )
    facts: dict[str, Any] = {
        "escalation_threshold": (
            f"a permitted request with a risk score of {settings.LEXECON_RISK_ESCALATION_THRESHOLD}"
            " or more waits for a human"
        ),
        "review_deadlines_hours": dict(settings.LEXECON_SLA_HOURS),
        "deadline_warning": f"at {round(SLA_WARNING_FRACTION * 100)} % of the deadline",
        "on_missed_deadline": "the request is denied (fails closed)",
        "two_approvers_for_priorities": list(settings.LEXECON_FOUR_EYES_PRIORITIES),
        "resolution_note_minimum_characters": NOTE_MIN_LENGTH,
        "override_types": [label for _, label in Override.Type.choices],
        "override_justification_minimum_characters": JUSTIFICATION_MIN_LENGTH,
        "roles_that_resolve": _roles_with("resolve_escalation"),
        "roles_that_override_or_stop": _roles_with("execute_override"),
        "people_who_can_resolve_now": reviewers,
        "in_window": {
            "escalations": sum(by_state.values()),
            "approved_by_a_human": by_state["resolved:approved"],
            "denied_by_a_human": by_state["resolved:denied"],
            "expired_and_denied": by_state["expired:denied"],
            "still_open": by_state["pending:"] + by_state["acknowledged:"],
            "overrides": overrides,
            "agent_stops": stops,
        },
    }
    missing = () if reviewers else ("a person with a second factor who can resolve escalations",)
    return SectionPart(
        title="Human-oversight measures enforced by the product",
        facts=facts,
        text=(
            "Reviewers see the facts of an escalated request before what the engine would have "
            "done; every resolution, override and stop needs a written reason and is a ledger "
            "entry with a responsibility record."
        ),
        missing=missing,
    )


# --- Item 3: automatic logging --------------------------------------------------------------------


def logging_part(system: AISystem, window: Window) -> SectionPart:
    """The tamper-evident ledger every decision is written to, and this system's decisions."""
    state = selectors.ledger_state()
    decisions = Decision.objects.filter(
        created_at__gte=window.start, created_at__lt=window.end, ai_system=system.pk
    ).aggregate(
        total=Count("pk"),
        allowed=Count("pk", filter=Q(outcome="allowed")),
        denied=Count("pk", filter=Q(outcome="denied")),
        escalated=Count("pk", filter=Q(outcome="escalated")),
        first_seq=Min("ledger_seq"),
        last_seq=Max("ledger_seq"),
    )
    checkpoint = state["latest_checkpoint"]
    verification = state["latest_verification"]
    beat = settings.CELERY_BEAT_SCHEDULE
    facts: dict[str, Any] = {
        "ledger_entries": state["size"],
        "head_hash": state["head_hash"],
        "latest_signed_checkpoint": (
            {k: checkpoint[k] for k in ("tree_size", "signed_at", "root_hash")}
            if checkpoint
            else "none yet"
        ),
        "checkpoint_every_entries": settings.LEXECON_CHECKPOINT_EVERY,
        "checkpoint_every_seconds": beat.get("ledger-checkpoint", {}).get("schedule"),
        "latest_full_verification": (
            {
                "finished_at": verification["finished_at"],
                "result": "valid" if verification["valid"] else "INVALID",
                "entries_checked": verification["entries_checked"],
            }
            if verification
            else "none yet"
        ),
        "verification_every_seconds": beat.get("ledger-verify", {}).get("schedule"),
        "decisions_in_window": {
            "total": decisions["total"],
            "allowed": decisions["allowed"],
            "denied": decisions["denied"],
            "escalated": decisions["escalated"],
            "ledger_entries": (
                f"#{decisions['first_seq']} to #{decisions['last_seq']}"
                if decisions["total"]
                else "none"
            ),
        },
    }
    missing: list[str] = []
    if checkpoint is None:
        missing.append("a signed ledger checkpoint (manage.py ledger_checkpoint)")
    if verification is None:
        missing.append("a full ledger verification (manage.py verify_ledger)")
    elif not verification["valid"]:
        missing.append(
            "a ledger that verifies: the latest full verification failed at entry "
            f"#{verification['first_invalid_seq']}"
        )
    return SectionPart(
        title="Automatic logging: the tamper-evident ledger",
        facts=facts,
        text=(
            "Every decision, escalation, override, stop and configuration change is an entry of "
            "an append-only, hash-chained ledger with signed checkpoints (RFC 9162 Merkle tree, "
            "C2SP signed notes). A request's personal context stays beside the decision, the "
            "ledger keeps only a commitment to it, so retention can erase it and the chain still "
            "verifies."
        ),
        missing=tuple(missing),
    )


# --- Item 6: changes through the lifecycle --------------------------------------------------------


def changes_part(system: AISystem, window: Window) -> SectionPart:
    """Registry changes, policy versions and activations, and narrative versions (whole life)."""
    system_changes = AISystemChange.objects.filter(system=system).order_by("-ledger_seq")
    stamps = dict(
        LedgerEntry.objects.filter(
            seq__in=list(system_changes.values_list("ledger_seq", flat=True)[:CHANGE_ROWS_LIMIT])
        ).values_list("seq", "timestamp")
    )
    policies = PolicyVersion.objects.order_by("-created_at")
    activations = PolicyActivation.objects.select_related("version", "previous").order_by(
        "-activated_at", "-id"
    )
    narratives = selectors.narrative_history(system)
    facts: dict[str, Any] = {
        "ai_system_changes": [
            {
                "time": stamps.get(change.ledger_seq),
                "change": (
                    "registered"
                    if change.entry_type == EntryType.AI_SYSTEM_REGISTERED
                    else "changed"
                ),
                "fields": ", ".join(change.changed)
                if change.entry_type != EntryType.AI_SYSTEM_REGISTERED
                else "all",
                "by": change.actor,
                "ledger_entry": change.ledger_seq,
            }
            for change in system_changes[:CHANGE_ROWS_LIMIT]
        ],
        "ai_system_changes_total": system_changes.count(),
        "policy_versions_loaded": [
            {
                "time": iso(version.created_at),
                "policy": f"{version.name} {version.version}",
                "version_hash": version.version_hash,
                "by": version.loaded_by,
                "ledger_entry": version.ledger_seq,
            }
            for version in policies[:CHANGE_ROWS_LIMIT]
        ],
        "policy_versions_total": policies.count(),
        "policy_activations": [
            {
                "time": iso(activation.activated_at),
                "activated": f"{activation.version.name} {activation.version.version}",
                "replaced": (
                    f"{activation.previous.name} {activation.previous.version}"
                    if activation.previous
                    else "none"
                ),
                "by": activation.activated_by,
                "ledger_entry": activation.ledger_seq,
            }
            for activation in activations[:CHANGE_ROWS_LIMIT]
        ],
        "policy_activations_total": activations.count(),
        "documentation_versions": [
            {
                "time": iso(narrative.created_at),
                "narrative": narrative.get_field_display(),
                "version": narrative.version,
                "by": narrative.actor,
                "text_sha256": narrative.text_sha256,
                "ledger_entry": narrative.ledger_seq,
            }
            for narrative in narratives[:CHANGE_ROWS_LIMIT]
        ],
        "documentation_versions_total": narratives.count(),
    }
    return SectionPart(
        title="Changes recorded by the product",
        facts=facts,
        text=(
            "Policies apply to every registered system: each version loaded and each activation "
            f"is listed, newest first (at most {CHANGE_ROWS_LIMIT} rows per list; the totals "
            "count them all). Every row is a ledger entry."
        ),
    )


# --- Narratives (every item) ----------------------------------------------------------------------


def narrative_provider(field: str):
    """The part of one narrative field: its current version, or what is missing."""
    spec = NARRATIVES[field]
    label = NarrativeField(field).label

    def provide(system: AISystem, window: Window) -> SectionPart | None:
        current = selectors.narrative_current(system, field)
        if current is None:
            if not spec.required:
                return None
            return SectionPart(
                title=label,
                facts={"status": "not written yet"},
                text="",
                missing=(label,),
            )
        author = current.author
        return SectionPart(
            title=label,
            facts={
                "version": current.version,
                "written_by": f"{author.get_username()} ({current.actor})",
                "date": iso(current.created_at),
                "text_sha256": current.text_sha256,
                "ledger_entry": current.ledger_seq,
            },
            text=current.text,
        )

    provide.__name__ = f"narrative_{field}"
    return provide


def register_all() -> None:
    """Register the providers above (``TechdocConfig.ready``); idempotent."""
    register_provider(1, registry_part, key="techdoc.registry")
    register_provider(2, oversight_part, key="techdoc.oversight")
    register_provider(3, logging_part, key="techdoc.logging")
    register_provider(6, changes_part, key="techdoc.changes")
    for field, spec in NARRATIVES.items():
        register_narrative_provider(
            spec.item, narrative_provider(field), key=f"techdoc.narrative.{field}"
        )
