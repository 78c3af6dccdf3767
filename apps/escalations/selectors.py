"""Reads for human oversight, always scoped to who asks.

Visibility (docs/oversight.md, ADR 0005) — built on the seven role permissions of ADR 0002:
- who may read the audit record (``accounts.view_audit_logs``: admins, compliance officers,
  auditors) sees every escalation; so does anyone granted ``escalations.view_all_escalations``
  directly. Reviewers see only escalations assigned to them (guardian object permission
  ``escalations.view_escalation``). Anything else is answered as if it did not exist (404).
- acting (acknowledge, resolve) needs ``accounts.resolve_escalation`` AND either sight of every
  escalation or the object permission ``escalations.review_escalation``; auditors hold no
  ``resolve_escalation``, so they can look but never act.
- assigning needs ``accounts.resolve_escalation`` and ``accounts.execute_override`` (admins,
  compliance officers) or a direct ``escalations.assign_escalation`` grant.

This module may import only the decisions app's data layer (``models``, ``querysets``, ``records``),
which sits below escalations in the import order; a decision's record as its page shows it
(entries, overrides, stops, responsibility chain) is read by ``apps.decisions.selectors``. What stays
here is oversight state that the oversight services themselves need (a decision's escalation, the
override in force, its effective outcome, the agent's outstanding tokens, who may stop it).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from apps.accounts.constants import Role
from apps.accounts.principals import is_person, principal_label
from apps.core.exceptions import NotFound
from apps.escalations.constants import (
    DEFAULT_FOUR_EYES_PRIORITIES,
    SENSITIVE_KEY_PARTS,
    SLA_WARNING_FRACTION,
)
from apps.escalations.models import (
    PRIORITY_RANK,
    Escalation,
    EscalationApproval,
    Override,
)
from apps.tokens.models import RevokedToken

AUDIT = "accounts.view_audit_logs"
VIEW_ALL = "escalations.view_all_escalations"
VIEW_OBJECT = "escalations.view_escalation"
REVIEW_OBJECT = "escalations.review_escalation"
ASSIGN = "escalations.assign_escalation"
RESOLVE = "accounts.resolve_escalation"
OVERRIDE = "accounts.execute_override"


def _is_human(user: Any) -> bool:
    """A signed-in person (``accounts.principals.is_person``, the visibility rules' test)."""
    return is_person(user)


def rfc3339(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def user_label(user: Any) -> str:
    """Pseudonymous actor label for ledger payloads (user ids, never names or e-mail addresses)."""
    return principal_label(user)


# --- Visibility and authority ------------------------------------------------------------------


def can_view_all(user: Any) -> bool:
    return _is_human(user) and (user.has_perm(AUDIT) or user.has_perm(VIEW_ALL))


def escalation_queryset() -> QuerySet[Escalation]:
    return Escalation.objects.select_related(
        "decision", "acknowledged_by", "resolved_by"
    ).prefetch_related("assignments__reviewer", "approvals__approver")


def escalation_list(
    *, user: Any, status: str | None = None, priority: str | None = None
) -> QuerySet[Escalation]:
    """Escalations ``user`` may see, most urgent SLA first; optional status/priority filters."""
    queryset = escalation_queryset().visible_to(user)
    if status:
        queryset = queryset.filter(status=status)
    if priority:
        queryset = queryset.filter(priority=priority)
    return queryset.order_by("sla_deadline", "created_at")


def escalation_get(*, user: Any, escalation_id: Any) -> Escalation:
    """One escalation if ``user`` may see it; otherwise ``NotFound`` (existence is not revealed)."""
    escalation = escalation_queryset().visible_to(user).filter(pk=escalation_id).first()
    if escalation is None:
        raise NotFound("No such escalation.")
    return escalation


def escalation_can_act(*, user: Any, escalation: Escalation) -> bool:
    """May ``user`` acknowledge or resolve this escalation (whatever its state)?"""
    if not _is_human(user) or not user.has_perm(RESOLVE):
        return False
    return can_view_all(user) or user.has_perm(REVIEW_OBJECT, escalation)


def escalation_can_assign(*, user: Any) -> bool:
    if not _is_human(user) or not user.has_perm(RESOLVE):
        return False
    return user.has_perm(OVERRIDE) or user.has_perm(ASSIGN)


def escalation_sla_violations(*, user: Any, now: datetime | None = None) -> QuerySet[Escalation]:
    """Visible escalations that broke their SLA: expired, or still open past the deadline."""
    now = now or timezone.now()
    open_overdue = Q(
        status__in=[Escalation.Status.PENDING, Escalation.Status.ACKNOWLEDGED],
        sla_deadline__lte=now,
    )
    return escalation_list(user=user).filter(open_overdue | Q(status=Escalation.Status.EXPIRED))


#: The SLA states of an open escalation, earliest first (the queue's ``sla`` filter, the dashboard).
SLA_STATES = ("on_time", "warning", "breached")


def sla_state(created_at: datetime, deadline: datetime, now: datetime) -> str:
    """``breached`` at or past the deadline; ``warning`` once ``SLA_WARNING_FRACTION`` of the SLA
    has elapsed (when the SLA warning goes out); ``on_time`` before that."""
    if now >= deadline:
        return "breached"
    if now >= created_at + (deadline - created_at) * SLA_WARNING_FRACTION:
        return "warning"
    return "on_time"


def four_eyes_priorities() -> tuple[str, ...]:
    """Priorities whose approval needs two distinct approvers (``LEXECON_FOUR_EYES_PRIORITIES``)."""
    value = getattr(settings, "LEXECON_FOUR_EYES_PRIORITIES", DEFAULT_FOUR_EYES_PRIORITIES)
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",")]
    return tuple(part for part in value if part)


def approvals_required(escalation: Escalation) -> int:
    return 2 if escalation.priority in four_eyes_priorities() else 1


def assignable_reviewers() -> QuerySet[Any]:
    """Active staff whose role lets them resolve escalations (the people one may assign)."""
    user_model = get_user_model()
    return (
        user_model.objects.filter(
            is_active=True,
            groups__name__in=[Role.REVIEWER, Role.COMPLIANCE_OFFICER, Role.ADMIN],
        )
        .distinct()
        .order_by("username")
    )


def escalation_assignees(escalation: Escalation) -> list[Any]:
    return [assignment.reviewer for assignment in escalation.assignments.all()]


def escalation_as_dict(escalation: Escalation, *, now: datetime | None = None) -> dict[str, Any]:
    """The API shape of one escalation (``EscalationOutput``)."""
    now = now or timezone.now()
    decision = escalation.decision
    seconds_left = int((escalation.sla_deadline - now).total_seconds())
    return {
        "id": str(escalation.pk),
        "decision_id": str(escalation.decision_id),
        "status": escalation.status,
        "resolution": escalation.resolution or None,
        "priority": escalation.priority,
        "sla_deadline": rfc3339(escalation.sla_deadline),
        "seconds_left": seconds_left,
        "overdue": escalation.is_open and seconds_left <= 0,
        "reason": escalation.reason,
        "escalated_by": escalation.escalated_by,
        "created_at": rfc3339(escalation.created_at),
        "assignees": [user.get_username() for user in escalation_assignees(escalation)],
        "acknowledged_by": (
            escalation.acknowledged_by.get_username() if escalation.acknowledged_by else None
        ),
        "acknowledged_at": rfc3339(escalation.acknowledged_at),
        "resolved_by": escalation.resolved_by.get_username() if escalation.resolved_by else None,
        "resolved_at": rfc3339(escalation.resolved_at),
        "note": escalation.resolution_note or None,
        "approvals": [
            {"approver": approval.approver.get_username(), "at": rfc3339(approval.created_at)}
            for approval in escalation.approvals.all()
        ],
        "approvals_required": approvals_required(escalation),
        "capability_token": escalation.capability_token,
        "decision": {
            "id": str(decision.pk),
            "actor": decision.actor,
            "action": decision.action,
            "resource": decision.resource,
            "data_classes": decision.data_classes,
            "outcome": decision.outcome,
            "risk_score": decision.risk_score,
            "risk_level": decision.risk_level,
        },
    }


def notification_recipients(escalation: Escalation) -> list[int]:
    """Assigned reviewers; when nobody is assigned, the compliance officers and admins."""
    assigned = list(escalation.assignments.values_list("reviewer_id", flat=True))
    if assigned:
        return assigned
    user_model = get_user_model()
    return list(
        user_model.objects.filter(
            is_active=True, groups__name__in=[Role.COMPLIANCE_OFFICER, Role.ADMIN]
        )
        .distinct()
        .values_list("pk", flat=True)
    )


# --- Decisions seen from oversight -------------------------------------------------------------


def decision_escalation(decision: Model) -> Escalation | None:
    """The decision's escalation, if any (uses the ``select_related`` cache when present)."""
    try:
        return decision.escalation  # type: ignore[attr-defined]  # reverse one-to-one
    except Escalation.DoesNotExist:
        return None


def decision_can_stop(*, user: Any, decision: Model) -> bool:
    """The stop button: officers (override holders) anywhere; reviewers where they may act."""
    if not _is_human(user):
        return False
    if user.has_perm(OVERRIDE):
        return True
    escalation = decision_escalation(decision)
    return escalation is not None and escalation_can_act(user=user, escalation=escalation)


def override_in_force(*, decision: Model, now: datetime | None = None) -> Override | None:
    """The latest override of ``decision`` that has not expired (None when there is none)."""
    now = now or timezone.now()
    in_force = [
        override
        for override in decision.overrides.all()  # type: ignore[attr-defined]  # reverse FK
        if override.expires_at is None or override.expires_at > now
    ]
    return max(in_force, key=lambda override: override.created_at) if in_force else None


def decision_effective_state(decision: Model, *, now: datetime | None = None) -> dict[str, Any]:
    """What holds now, in this order: an override in force, else the escalation's end state, else
    the engine's original outcome. The decision row itself is never changed.

    ``status``: ``final`` | ``awaiting_human`` | ``overridden``; ``source``: ``engine`` |
    ``escalation`` | ``override``.
    """
    outcome = decision.outcome  # type: ignore[attr-defined]
    state: dict[str, Any] = {
        "outcome": outcome,
        "capability_token": decision.capability_token,  # type: ignore[attr-defined]
        "status": "final",
        "source": "engine",
        "override": None,
    }
    escalation = decision_escalation(decision)
    if escalation is not None:
        state["source"] = "escalation"
        if escalation.status == Escalation.Status.RESOLVED:
            approved = escalation.resolution == Escalation.Resolution.APPROVED
            state["outcome"] = "allowed" if approved else "denied"
            state["capability_token"] = escalation.capability_token if approved else None
        elif escalation.status == Escalation.Status.EXPIRED:
            state["outcome"] = "denied"
            state["capability_token"] = None
        else:
            # Waiting for a human; a decision escalated for a second look no longer allows.
            state["outcome"] = "escalated"
            state["capability_token"] = None
            state["status"] = "awaiting_human"
    override = override_in_force(decision=decision, now=now)
    if override is not None:
        state.update(
            outcome=override.outcome,
            capability_token=override.capability_token,
            status="overridden",
            source="override",
            override=override,
        )
    return state


def outstanding_agent_tokens(*, decision: Model, now: int | None = None) -> list[tuple[str, int]]:
    """(jti, exp) of every unexpired, unrevoked token of the agent key behind ``decision`` — the
    engine's tokens for all its decisions plus approval and override tokens — or of this decision
    alone when it has no agent key."""
    now = int(time.time()) if now is None else now
    decision_model = django_apps.get_model("decisions", "Decision")
    agent_key_id = decision.agent_key_id  # type: ignore[attr-defined]
    if agent_key_id is not None:
        decisions = decision_model.objects.filter(agent_key_id=agent_key_id)
    else:
        decisions = decision_model.objects.filter(pk=decision.pk)
    candidates: list[tuple[str, int]] = list(
        decisions.filter(token_jti__isnull=False, token_expires_at__gt=now).values_list(
            "token_jti", "token_expires_at"
        )
    )
    candidates += list(
        Escalation.objects.filter(
            decision__in=decisions, token_jti__isnull=False, token_expires_at__gt=now
        ).values_list("token_jti", "token_expires_at")
    )
    candidates += list(
        Override.objects.filter(
            decision__in=decisions, token_jti__isnull=False, token_expires_at__gt=now
        ).values_list("token_jti", "token_expires_at")
    )
    revoked = set(
        RevokedToken.objects.filter(jti__in=[jti for jti, _ in candidates]).values_list(
            "jti", flat=True
        )
    )
    return sorted((jti, exp) for jti, exp in set(candidates) if jti not in revoked)


def escalation_approvals(escalation: Escalation) -> list[EscalationApproval]:
    return list(escalation.approvals.all())


# --- Presentation helpers (minimised context) ---------------------------------------------------

_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_ENUM_LIKE = re.compile(r"^[A-Za-z0-9_.:/-]{0,40}$")
_LONG_DIGITS = re.compile(r"\d{6,}")
MAX_CONTEXT_ROWS = 60


def is_sensitive_key(key: str) -> bool:
    """Keys that name personal data (``email``, ``customer_name``, ``phoneNumber``, ``ssn``…)."""
    lowered = key.lower()
    words = {word.lower() for word in _WORD.findall(key)}
    for part in SENSITIVE_KEY_PARTS:
        if "_" in part and part in lowered:
            return True
        if part in words or (len(part) >= 5 and part in lowered):
            return True
    return False


def _display_scalar(value: Any) -> tuple[str, bool]:
    """(text, hidden) for one value under a non-sensitive key."""
    if value is None:
        return "null", False
    if isinstance(value, bool):
        return ("true" if value else "false"), False
    if isinstance(value, int | float):
        return str(value), False
    if isinstance(value, str):
        if _ENUM_LIKE.match(value) and "@" not in value and not _LONG_DIGITS.search(value):
            return value, False
        return f"text, {len(value)} characters (hidden)", True
    return "value hidden", True


def minimised_context(context: Any) -> list[dict[str, Any]]:
    """Rows ``{key, value, hidden}`` for the reviewer screen (DOMAIN Part D.2 item 3).

    Keys are always shown (flattened with dots, three levels deep). Values are shown only when the
    key does not name personal data and the value is a number, a boolean or a short code-like string;
    everything else is replaced by a description ("text, 42 characters (hidden)").
    """
    rows: list[dict[str, Any]] = []
    if not isinstance(context, dict):
        return rows

    def walk(item: dict[str, Any], prefix: str, depth: int, sensitive_parent: bool) -> None:
        for key in sorted(item, key=str):
            if len(rows) >= MAX_CONTEXT_ROWS:
                return
            value = item[key]
            path = f"{prefix}{key}"
            sensitive = sensitive_parent or is_sensitive_key(str(key))
            if isinstance(value, dict) and depth < 3:
                walk(value, f"{path}.", depth + 1, sensitive)
                continue
            if isinstance(value, dict):
                rows.append(
                    {"key": path, "value": f"object with {len(value)} keys", "hidden": True}
                )
            elif isinstance(value, list):
                rows.append({"key": path, "value": f"list of {len(value)} items", "hidden": True})
            elif sensitive:
                rows.append({"key": path, "value": "personal data (hidden)", "hidden": True})
            else:
                text, hidden = _display_scalar(value)
                rows.append({"key": path, "value": text, "hidden": hidden})

    walk(context, "", 1, False)
    return rows


def escalation_sort_key(escalation: Escalation) -> tuple[Any, ...]:
    return (escalation.sla_deadline, PRIORITY_RANK.get(escalation.priority, 9))


def override_get(*, user: Any, override_id: Any) -> Override:
    """One override whose decision ``user`` may see; ``NotFound`` otherwise."""
    decision_model = django_apps.get_model("decisions", "Decision")
    override = (
        Override.objects.select_related("executed_by")
        .filter(pk=override_id, decision__in=decision_model.objects.visible_to(user))
        .first()
    )
    if override is None:
        raise NotFound("No such override.")
    return override


def escalation_path(*, priority: str) -> dict[str, Any]:
    """Who may settle an escalation of ``priority`` and how many approvers it needs (its SLA is
    ``services.sla_for``)."""
    from apps.accounts.constants import ROLE_PERMISSIONS

    codename = RESOLVE.split(".")[1]
    return {
        "priority": priority,
        "approvals_required": 2 if priority in four_eyes_priorities() else 1,
        "roles_that_may_resolve": [
            str(role) for role, perms in ROLE_PERMISSIONS.items() if codename in perms
        ],
    }
