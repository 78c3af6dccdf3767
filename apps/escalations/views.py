"""Reviewer pages (DOMAIN Part D): the queue, the escalation screen and the decision page.

Every page needs password + verified OTP (``staff_page``); every POST is CSRF-protected (Django's
middleware) and calls exactly one service, which checks authority again and writes the ledger entry.
What a user may not see answers 404, what their role may not do answers 403, and a state conflict
re-renders the page with the reason and status 409. Nothing is written on any refused path.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.accounts.decorators import staff_page
from apps.core.exceptions import ApplicationError, NotFound, PermissionDeniedError
from apps.decisions import records
from apps.decisions import selectors as decision_selectors
from apps.escalations import selectors, services
from apps.escalations.forms import AssignForm, OverrideForm, ResolveForm, StopForm
from apps.escalations.models import Escalation
from apps.tokens.models import RevokedToken

#: Who may open the queue and the escalation and decision pages: reviewers (who resolve) and the
#: roles that see the dashboard (officers, auditors, administrators). What each sees is still
#: ``selectors.escalation_list``'s rule (a reviewer: only what is assigned to them).
OVERSIGHT_PAGE = ("accounts.resolve_escalation", "accounts.view_dashboard")
SLA_LABELS = {"on_time": "on time", "warning": "SLA warning", "breached": "SLA breached"}

QUEUE_VIEWS = {
    "open": ("Open", [Escalation.Status.PENDING, Escalation.Status.ACKNOWLEDGED]),
    "closed": ("Closed", [Escalation.Status.RESOLVED, Escalation.Status.EXPIRED]),
    "all": ("All", None),
}


def time_left(deadline: datetime, *, now: datetime | None = None) -> tuple[int, str]:
    """(seconds left, words) — "1 h 05 min left" or "overdue by 3 min"."""
    now = now or timezone.now()
    seconds = int((deadline - now).total_seconds())
    minutes = abs(seconds) // 60
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        words = f"{days} d {hours} h"
    elif hours:
        words = f"{hours} h {minutes:02d} min"
    else:
        words = f"{minutes} min"
    return seconds, (f"{words} left" if seconds > 0 else f"overdue by {words}")


def short_time(value: str | None) -> str:
    """``2026-11-29T07:35:14.774687Z`` → ``2026-11-29 07:35:14`` (the exact value goes in a title)."""
    return (value or "")[:19].replace("T", " ")


def _row(escalation: Escalation, now: datetime) -> dict[str, Any]:
    seconds, words = time_left(escalation.sla_deadline, now=now)
    return {
        # An override in force decides the request even while the review is still open.
        "override": selectors.override_in_force(decision=escalation.decision, now=now),
        "escalation": escalation,
        "decision": escalation.decision,
        "seconds_left": seconds,
        "time_left": words,
        "overdue": escalation.is_open and seconds <= 0,
        "deadline_iso": selectors.rfc3339(escalation.sla_deadline),
        "deadline_display": escalation.sla_deadline.strftime("%Y-%m-%d %H:%M UTC"),
        "assignees": selectors.escalation_assignees(escalation),
    }


@staff_page(*OVERSIGHT_PAGE)
def queue(request):
    """The queue, most urgent SLA first, with countdowns and priority badges; ``sla`` keeps the
    open escalations in one SLA state (the dashboard's links)."""
    show = request.GET.get("show", "open")
    if show not in QUEUE_VIEWS:
        show = "open"
    sla = request.GET.get("sla", "")
    if sla not in selectors.SLA_STATES:
        sla = ""
    statuses = QUEUE_VIEWS[show][1]
    queryset = selectors.escalation_list(user=request.user).prefetch_related("decision__overrides")
    if statuses:
        queryset = queryset.filter(status__in=statuses)
    if show == "closed":
        queryset = queryset.order_by("-resolved_at", "-created_at")
    now = timezone.now()
    if sla:
        queryset = queryset.filter(
            status__in=[Escalation.Status.PENDING, Escalation.Status.ACKNOWLEDGED]
        )
        escalations = [
            e for e in queryset if selectors.sla_state(e.created_at, e.sla_deadline, now) == sla
        ]
    else:
        escalations = list(queryset[:200])
    rows = [_row(escalation, now) for escalation in escalations[:200]]
    return render(
        request,
        "escalations/queue.html",
        {
            "rows": rows,
            "show": show,
            "views": [(key, label) for key, (label, _) in QUEUE_VIEWS.items()],
            "overdue_count": sum(1 for row in rows if row["overdue"]),
            "can_view_all": selectors.can_view_all(request.user),
            "sla": sla,
            "sla_label": SLA_LABELS.get(sla, ""),
        },
    )


def _escalation_or_404(request, escalation_id) -> Escalation:
    try:
        return selectors.escalation_get(user=request.user, escalation_id=escalation_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


# Reasons that tell what the engine would do without a human (a permit rule, applied or outranked):
# the escalation screen keeps them behind "Show what the engine would do without you", so that
# the reviewer decides on the facts first (automation bias, EU AI Act Art. 14(4)(b)).
ENGINE_VIEW_EFFECTS = frozenset({"permit", "permit_outranked"})


def _decision_context(decision, *, hide_engine_view: bool = False) -> dict[str, Any]:
    reasons = list(decision.reasons or [])
    held_back = (
        [reason for reason in reasons if reason.get("effect") in ENGINE_VIEW_EFFECTS]
        if hide_engine_view
        else []
    )
    return {
        "decision": decision,
        "shown_reasons": [reason for reason in reasons if reason not in held_back],
        "held_back_reasons": held_back,
        "context_rows": selectors.minimised_context(decision.context),
        "risk_dimensions": sorted(decision.risk_dimensions.items()),
        "engine_would": records.engine_recommendation(decision),
    }


def _render_escalation(
    request,
    escalation: Escalation,
    *,
    status: int = 200,
    resolve_form: ResolveForm | None = None,
    assign_form: AssignForm | None = None,
    error: str | None = None,
) -> HttpResponse:
    user = request.user
    now = timezone.now()
    can_act = selectors.escalation_can_act(user=user, escalation=escalation)
    can_assign = selectors.escalation_can_assign(user=user)
    assignees = selectors.escalation_assignees(escalation)
    if can_assign and assign_form is None:
        assigned = {assignee.pk for assignee in assignees}
        reviewers = [r for r in selectors.assignable_reviewers() if r.pk not in assigned]
        assign_form = AssignForm(reviewers=reviewers)
    approvals = selectors.escalation_approvals(escalation)
    context = {
        "escalation": escalation,
        "row": _row(escalation, now),
        "can_act": can_act,
        "can_assign": can_assign,
        "assignees": assignees,
        "approvals": approvals,
        "approvals_required": selectors.approvals_required(escalation),
        "already_approved": any(a.approver_id == user.pk for a in approvals),
        "resolve_form": resolve_form or ResolveForm(),
        "assign_form": assign_form,
        "error": error,
        **_decision_context(escalation.decision, hide_engine_view=True),
    }
    return render(request, "escalations/escalation_detail.html", context, status=status)


@staff_page(*OVERSIGHT_PAGE)
def escalation_page(request, escalation_id):
    """The reviewer screen for one escalation (DOMAIN Part D.2)."""
    return _render_escalation(request, _escalation_or_404(request, escalation_id))


def _refused(request, escalation: Escalation, exc: ApplicationError, **forms) -> HttpResponse:
    if isinstance(exc, NotFound):
        raise Http404(exc.message) from exc
    if isinstance(exc, PermissionDeniedError):
        raise PermissionDenied(exc.message) from exc
    escalation.refresh_from_db()
    return _render_escalation(request, escalation, status=exc.status, error=exc.message, **forms)


@require_POST
@staff_page("accounts.resolve_escalation")
def escalation_acknowledge(request, escalation_id):
    escalation = _escalation_or_404(request, escalation_id)
    try:
        services.escalation_acknowledge(escalation_id=escalation.pk, user=request.user)
    except ApplicationError as exc:
        return _refused(request, escalation, exc)
    messages.success(request, "Acknowledged: you have taken this case.")
    return HttpResponseRedirect(reverse("escalations:detail", args=[escalation.pk]))


@require_POST
@staff_page("accounts.resolve_escalation")
def escalation_resolve(request, escalation_id):
    escalation = _escalation_or_404(request, escalation_id)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        return _render_escalation(
            request,
            escalation,
            status=400,
            resolve_form=form,
            error="Please correct the form: a written note is required.",
        )
    try:
        result = services.escalation_resolve(
            escalation_id=escalation.pk,
            user=request.user,
            resolution=form.cleaned_data["resolution"],
            note=form.cleaned_data["note"],
        )
    except ApplicationError as exc:
        return _refused(request, escalation, exc, resolve_form=form)
    if result.resolved:
        messages.success(request, f"Resolved: {result.escalation.resolution}.")
        return HttpResponseRedirect(reverse("escalations:decision", args=[escalation.decision_id]))
    messages.success(
        request,
        f"Approval {result.approvals} of {result.approvals_required} recorded; "
        "a second, different approver must confirm.",
    )
    return HttpResponseRedirect(reverse("escalations:detail", args=[escalation.pk]))


@require_POST
@staff_page("accounts.resolve_escalation")
def escalation_assign(request, escalation_id):
    escalation = _escalation_or_404(request, escalation_id)
    if not selectors.escalation_can_assign(user=request.user):
        raise PermissionDenied("Your role cannot assign escalations.")
    reviewers = list(selectors.assignable_reviewers())
    form = AssignForm(request.POST, reviewers=reviewers)
    if not form.is_valid():
        return _render_escalation(
            request, escalation, status=400, assign_form=form, error="Choose a reviewer."
        )
    try:
        services.escalation_assign(
            escalation_id=escalation.pk,
            user=request.user,
            reviewer_username=form.cleaned_data["reviewer"],
        )
    except ApplicationError as exc:
        return _refused(request, escalation, exc, assign_form=form)
    messages.success(request, f"Assigned to {form.cleaned_data['reviewer']}; they were e-mailed.")
    return HttpResponseRedirect(reverse("escalations:detail", args=[escalation.pk]))


# --- Decision page -------------------------------------------------------------------------------


def _decision_or_404(request, decision_id):
    try:
        return decision_selectors.decision_get(principal=request.user, decision_id=decision_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _token_rows(decision) -> list[dict[str, Any]]:
    now = int(timezone.now().timestamp())
    rows = []
    escalation = selectors.decision_escalation(decision)
    sources = [("engine", decision.token_jti, decision.token_expires_at)]
    if escalation is not None:
        sources.append(("approval", escalation.token_jti, escalation.token_expires_at))
    sources += [
        (f"override ({override.override_type})", override.token_jti, override.token_expires_at)
        for override in decision_selectors.decision_overrides(decision=decision)
    ]
    jtis = [jti for _, jti, _ in sources if jti]
    revoked = set(RevokedToken.objects.filter(jti__in=jtis).values_list("jti", flat=True))
    for source, jti, exp in sources:
        if not jti:
            continue
        if jti in revoked:
            state = "revoked"
        elif exp is not None and exp <= now:
            state = "expired"
        else:
            state = "active"
        rows.append({"source": source, "jti": jti, "state": state})
    return rows


def _ledger_rows(decision) -> list[dict[str, Any]]:
    return [
        {
            "seq": entry.seq,
            "entry_type": entry.entry_type,
            "timestamp": entry.timestamp,
            "time": short_time(entry.timestamp),
            "entry_hash": entry.entry_hash,
            "payload": json.dumps(json.loads(entry.payload), indent=2, sort_keys=True),
        }
        for entry in decision_selectors.decision_ledger_entries(decision=decision)
    ]


def _render_decision(
    request,
    decision,
    *,
    status: int = 200,
    override_form: OverrideForm | None = None,
    stop_form: StopForm | None = None,
    error: str | None = None,
) -> HttpResponse:
    user = request.user
    state = selectors.decision_effective_state(decision)
    escalation = selectors.decision_escalation(decision)
    can_override = user.has_perm(selectors.OVERRIDE)
    can_stop = selectors.decision_can_stop(user=user, decision=decision)
    context = {
        "state": state,
        "escalation": escalation,
        "escalation_row": _row(escalation, timezone.now()) if escalation else None,
        "chain": [
            {**item, "at_display": short_time(item["at"])}
            for item in decision_selectors.responsibility_chain(decision=decision)
        ],
        "ledger_rows": _ledger_rows(decision),
        "token_rows": _token_rows(decision),
        "overrides": decision_selectors.decision_overrides(decision=decision),
        "stops": decision_selectors.decision_stops(decision=decision),
        "can_override": can_override,
        "can_stop": can_stop,
        "override_form": (override_form or OverrideForm()) if can_override else None,
        "stop_form": (stop_form or StopForm()) if can_stop else None,
        "outstanding_count": (
            len(selectors.outstanding_agent_tokens(decision=decision)) if can_stop else 0
        ),
        "error": error,
        **_decision_context(decision),
    }
    return render(request, "escalations/decision_detail.html", context, status=status)


@staff_page(*OVERSIGHT_PAGE)
def decision_page(request, decision_id):
    """Everything about one decision: what was asked, what holds now, who decided, the ledger."""
    return _render_decision(request, _decision_or_404(request, decision_id))


def _decision_refused(request, decision, exc: ApplicationError, **forms) -> HttpResponse:
    if isinstance(exc, NotFound):
        raise Http404(exc.message) from exc
    if isinstance(exc, PermissionDeniedError):
        raise PermissionDenied(exc.message) from exc
    return _render_decision(request, decision, status=exc.status, error=exc.message, **forms)


@require_POST
@staff_page("accounts.execute_override")
def decision_override(request, decision_id):
    decision = _decision_or_404(request, decision_id)
    form = OverrideForm(request.POST)
    if not form.is_valid():
        return _render_decision(
            request,
            decision,
            status=400,
            override_form=form,
            error="Please correct the override form.",
        )
    try:
        override = services.override_execute(
            decision=decision,
            user=request.user,
            override_type=form.cleaned_data["override_type"],
            outcome=form.cleaned_data["outcome"],
            justification=form.cleaned_data["justification"],
            expires_at=form.cleaned_data["expires_at"],
        )
    except ApplicationError as exc:
        return _decision_refused(request, decision, exc, override_form=form)
    messages.success(
        request, f"Override executed: {override.get_override_type_display()} → {override.outcome}."
    )
    return HttpResponseRedirect(reverse("escalations:decision", args=[decision.pk]))


@require_POST
@staff_page("accounts.resolve_escalation")
def decision_stop(request, decision_id):
    decision = _decision_or_404(request, decision_id)
    form = StopForm(request.POST)
    if not form.is_valid():
        return _render_decision(
            request,
            decision,
            status=400,
            stop_form=form,
            error="To stop the agent, give a reason and tick the confirmation.",
        )
    try:
        stop = services.agent_stop(
            decision=decision, user=request.user, reason=form.cleaned_data["reason"]
        )
    except ApplicationError as exc:
        return _decision_refused(request, decision, exc, stop_form=form)
    count = len(stop.revoked_jtis)
    messages.success(
        request, f"Agent stopped: {count} outstanding token{'s' if count != 1 else ''} revoked."
    )
    return HttpResponseRedirect(reverse("escalations:decision", args=[decision.pk]))
