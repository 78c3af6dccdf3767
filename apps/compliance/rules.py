"""The automatic status rules: each reads live data and says how far a control is in place.

A control's catalog entry names its rule (``rule: staff_mfa``); controls without one are
``not_implemented`` until an officer attests them (``status.control_status``). Each rule returns
its status, the facts it used, a sentence an auditor can read, and what would close the gap.
docs/compliance.md explains every rule in plain words; keep the two in step.

Rules never scan the decisions table: they read users and OTP devices, the latest recorded ledger
verification and checkpoint, escalations by SLA deadline (indexed), the active policy and the AI
system registry. A ``RuleContext`` computes each fact once per request, however many controls use it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import F, Q, Sum
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.aisystems.models import AISystem
from apps.compliance.models import EvidenceTally
from apps.compliance.services import UNREGISTERED_AI_SYSTEM
from apps.escalations.models import Escalation
from apps.ledger.models import Checkpoint, LedgerEntry, VerificationRun
from apps.policies import selectors as policy_selectors

IMPLEMENTED = "implemented"
PARTIAL = "partially_implemented"
NOT_IMPLEMENTED = "not_implemented"
NON_COMPLIANT = "non_compliant"
STATUSES = (IMPLEMENTED, PARTIAL, NOT_IMPLEMENTED, NON_COMPLIANT)


@dataclass(frozen=True)
class RuleResult:
    status: str
    summary: str
    facts: dict[str, Any] = field(default_factory=dict)
    remedy: str = ""


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _parse_timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class RuleContext:
    """The facts rules read, each computed at most once; ``now`` is fixed for the whole pass."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or timezone.now()
        self.window = timedelta(days=settings.LEXECON_COMPLIANCE_WINDOW_DAYS)

    @cached_property
    def staff_without_mfa(self) -> tuple[int, list[str]]:
        """Active people without a confirmed TOTP device: how many, and their pseudonyms."""
        confirmed = TOTPDevice.objects.filter(confirmed=True).values("user_id")
        users = get_user_model().objects.filter(is_active=True)
        missing = users.exclude(pk__in=confirmed).order_by("pk")
        return missing.count(), [f"user:{pk}" for pk in missing.values_list("pk", flat=True)[:20]]

    @cached_property
    def active_staff(self) -> int:
        return get_user_model().objects.filter(is_active=True).count()

    @cached_property
    def latest_verification(self) -> VerificationRun | None:
        return VerificationRun.objects.order_by("-finished_at", "-id").first()

    @cached_property
    def unsigned_since(self) -> datetime | None:
        """The time of the oldest entry no signed checkpoint covers yet (None: all are covered)."""
        latest = Checkpoint.objects.order_by("-tree_size").values_list("tree_size", flat=True)
        covered = latest.first() or 0
        oldest = (
            LedgerEntry.objects.filter(seq__gte=covered)
            .order_by("seq")
            .values_list("timestamp", flat=True)
            .first()
        )
        return _parse_timestamp(oldest) if oldest else None

    @cached_property
    def sla(self) -> dict[str, int]:
        """Escalations whose SLA deadline fell in the window: how many, and how many breached it."""
        due = Escalation.objects.filter(sla_deadline__gte=self.now - self.window).filter(
            sla_deadline__lt=self.now
        )
        breached = due.filter(Q(resolved_at__isnull=True) | Q(resolved_at__gt=F("sla_deadline")))
        open_late = due.filter(resolved_at__isnull=True)
        return {
            "due_in_window": due.count(),
            "breached": breached.count(),
            "still_open_past_deadline": open_late.count(),
        }

    @cached_property
    def active_policy(self) -> Any:
        return policy_selectors.active_version()

    @cached_property
    def ai_systems(self) -> dict[str, int]:
        """Registered AI systems, and decisions in the window that named an unregistered one
        (counted by the evidence tally, so the decisions table is not read here)."""
        since = (self.now - self.window).date()
        unregistered = EvidenceTally.objects.filter(
            key=UNREGISTERED_AI_SYSTEM, day__gte=since
        ).aggregate(n=Sum("count"))["n"]
        return {
            "registered": AISystem.objects.count(),
            "unregistered_decisions_in_window": int(unregistered or 0),
        }


# --- The rules ----------------------------------------------------------------------------------------


def staff_mfa(ctx: RuleContext) -> RuleResult:
    missing, who = ctx.staff_without_mfa
    facts = {"active_staff": ctx.active_staff, "without_confirmed_otp": missing}
    if ctx.active_staff == 0:
        return RuleResult(
            NOT_IMPLEMENTED,
            "No active staff user exists yet, so no sign-in is protected.",
            facts,
            "Create staff users with a confirmed one-time-password device.",
        )
    if missing:
        return RuleResult(
            NON_COMPLIANT,
            f"{missing} of {ctx.active_staff} active staff users have no confirmed "
            "one-time-password device.",
            {**facts, "users": who},
            "Enrol a TOTP device for every listed user, or deactivate them.",
        )
    return RuleResult(
        IMPLEMENTED,
        f"All {ctx.active_staff} active staff users sign in with a password and a confirmed "
        "one-time-password device.",
        facts,
    )


def ledger_integrity(ctx: RuleContext) -> RuleResult:
    run = ctx.latest_verification
    max_age = timedelta(hours=settings.LEXECON_COMPLIANCE_VERIFY_MAX_AGE_HOURS)
    max_unsigned = timedelta(minutes=settings.LEXECON_COMPLIANCE_CHECKPOINT_MAX_AGE_MINUTES)
    unsigned = ctx.unsigned_since
    facts: dict[str, Any] = {
        "last_verification_at": _iso(run.finished_at) if run else None,
        "last_verification_valid": run.valid if run else None,
        "entries_verified": run.entries_checked if run else 0,
        "oldest_unsigned_entry_at": _iso(unsigned),
        "verification_max_age_hours": settings.LEXECON_COMPLIANCE_VERIFY_MAX_AGE_HOURS,
        "checkpoint_max_age_minutes": settings.LEXECON_COMPLIANCE_CHECKPOINT_MAX_AGE_MINUTES,
    }
    if run is not None and not run.valid:
        return RuleResult(
            NON_COMPLIANT,
            f"The latest full verification of the ledger failed ({run.error_code or 'invalid'}"
            f" at seq {run.first_invalid_seq}).",
            {**facts, "error_code": run.error_code, "first_invalid_seq": run.first_invalid_seq},
            "Investigate the failure (docs/audit-and-ledger.md), then run manage.py verify_ledger.",
        )
    if run is None:
        return RuleResult(
            PARTIAL,
            "The ledger is written and signed, but no full verification has been recorded.",
            facts,
            "Run manage.py verify_ledger (the ledger.verify task does it on a schedule).",
        )
    if ctx.now - run.finished_at > max_age:
        return RuleResult(
            PARTIAL,
            f"The last full verification passed but is older than "
            f"{settings.LEXECON_COMPLIANCE_VERIFY_MAX_AGE_HOURS} hours.",
            facts,
            "Run manage.py verify_ledger, and check the Celery beat schedule runs ledger.verify.",
        )
    if unsigned is not None and ctx.now - unsigned > max_unsigned:
        return RuleResult(
            PARTIAL,
            f"Entries have waited more than "
            f"{settings.LEXECON_COMPLIANCE_CHECKPOINT_MAX_AGE_MINUTES} minutes for a signed "
            "checkpoint.",
            facts,
            "Run manage.py ledger_checkpoint, and check the ledger.checkpoint task runs.",
        )
    return RuleResult(
        IMPLEMENTED,
        "The ledger verified in full recently and every entry older than the limit is covered "
        "by a signed checkpoint.",
        facts,
    )


def oversight_sla(ctx: RuleContext) -> RuleResult:
    sla = ctx.sla
    days = settings.LEXECON_COMPLIANCE_WINDOW_DAYS
    facts = {**sla, "window_days": days}
    if sla["breached"]:
        return RuleResult(
            PARTIAL,
            f"{sla['breached']} of {sla['due_in_window']} escalations due in the last {days} days "
            "were not resolved by their SLA deadline.",
            facts,
            "Resolve the overdue escalations and staff the review queue to its SLA "
            "(LEXECON_SLA_*_HOURS).",
        )
    return RuleResult(
        IMPLEMENTED,
        f"Every escalation due in the last {days} days ({sla['due_in_window']}) was resolved by "
        "a person within its SLA.",
        facts,
    )


def default_deny(ctx: RuleContext) -> RuleResult:
    policy = ctx.active_policy
    if policy is None:
        return RuleResult(
            NOT_IMPLEMENTED,
            "No policy is active: /decide denies everything until one is.",
            {"active_policy": None},
            "Load and activate a policy (manage.py load_policy FILE --activate).",
        )
    facts = {"active_policy": policy.version_hash, "name": policy.name, "mode": policy.mode}
    if policy.mode == "permissive":
        return RuleResult(
            NON_COMPLIANT,
            f"The active policy {policy.name!r} is permissive: it allows what no rule forbids.",
            facts,
            "Activate a policy in strict or paranoid mode.",
        )
    return RuleResult(
        IMPLEMENTED,
        f"The active policy {policy.name!r} ({policy.mode}) denies every action no rule permits.",
        facts,
    )


def ai_system_inventory(ctx: RuleContext) -> RuleResult:
    systems = ctx.ai_systems
    days = settings.LEXECON_COMPLIANCE_WINDOW_DAYS
    facts = {**systems, "window_days": days}
    if not systems["registered"]:
        return RuleResult(
            NOT_IMPLEMENTED,
            "No AI system is registered.",
            facts,
            "Register each AI system whose agents call /decide (POST /compliance/ai-systems).",
        )
    if systems["unregistered_decisions_in_window"]:
        return RuleResult(
            PARTIAL,
            f"{systems['unregistered_decisions_in_window']} decisions in the last {days} days "
            "named an AI system that is not registered.",
            facts,
            "Register the AI systems those decisions name, or set "
            "LEXECON_REQUIRE_REGISTERED_AI_SYSTEM=1 to refuse them.",
        )
    return RuleResult(
        IMPLEMENTED,
        f"{_count(systems['registered'], 'AI system')} registered, and every decision in the last "
        f"{days} days that named one named a registered one.",
        facts,
    )


RULES: dict[str, Callable[[RuleContext], RuleResult]] = {
    "staff_mfa": staff_mfa,
    "ledger_integrity": ledger_integrity,
    "oversight_sla": oversight_sla,
    "default_deny": default_deny,
    "ai_system_inventory": ai_system_inventory,
}

#: One line per rule for lists and the API (docs/compliance.md has the long form).
RULE_DESCRIPTIONS = {
    "staff_mfa": "non-compliant while any active staff user lacks a confirmed one-time-password "
    "device",
    "ledger_integrity": "the latest full ledger verification passed within the age limit and no "
    "entry waits unsigned longer than the checkpoint limit",
    "oversight_sla": "partially implemented when escalations missed their SLA in the window",
    "default_deny": "the active policy denies what no rule permits (strict or paranoid mode)",
    "ai_system_inventory": "at least one AI system is registered and no decision in the window "
    "named an unregistered one",
}
