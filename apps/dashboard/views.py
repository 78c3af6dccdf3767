"""The compliance officer's dashboard (``/dashboard/``) and its ledger verification button.

Every page needs password + verified OTP and ``view_dashboard`` (``staff_page``): officers, auditors
and administrators; reviewers have their queue instead. Starting a verification needs
``attest_controls`` as well (ADR 0028): a verification run is evidence the compliance controls
read, and an auditor's view stays read-only. Bad filters answer 400 with the form's reasons.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.accounts import selectors as accounts
from apps.accounts.decorators import staff_page
from apps.dashboard import charts, selectors
from apps.dashboard.forms import FilterForm
from apps.ledger import tasks as ledger_tasks
from apps.ledger.models import VerificationRun

VIEW = "accounts.view_dashboard"
VERIFY = "accounts.attest_controls"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _url(name: str, **params: Any) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return reverse(name) + (f"?{query}" if query else "")


def links(f: selectors.Filters) -> dict[str, Any]:
    """Where each figure goes: the list it counts, with the same window and filters."""
    window = {"created_at__gte": _stamp(f.start), "created_at__lt": _stamp(f.end)}
    decision = {**window, "ai_system": f.ai_system or None, "agent_key": f.agent_key}
    on_decision = {"decision__ai_system": f.ai_system or None, "decision__agent_key": f.agent_key}
    decisions = "admin:decisions_decision_changelist"
    return {
        "decisions": _url(decisions, **decision),
        "outcome": {o: _url(decisions, outcome=o, **decision) for o in selectors.OUTCOMES},
        "level": {
            lvl: _url(decisions, risk_level=lvl, **decision) for lvl in selectors.RISK_LEVELS
        },
        "high_risk": _url(decisions, risk_level__in="high,critical", **decision),
        "sla": {s: _url("escalations:queue", show="open", sla=s) for s in selectors.SLA_STATES},
        "queue": _url("escalations:queue", show="open"),
        "resolved": _url(
            "admin:escalations_escalation_changelist",
            status="resolved",
            resolved_at__gte=_stamp(f.start),
            resolved_at__lt=_stamp(f.end),
            **on_decision,
        ),
        "overrides": _url("admin:escalations_override_changelist", **window, **on_decision),
        "stops": _url("admin:escalations_agentstop_changelist", **window, **on_decision),
        "ledger": reverse("admin:ledger_ledgerentry_changelist"),
        "checkpoints": reverse("admin:ledger_checkpoint_changelist"),
        "keys": reverse("admin:ledger_signingkey_changelist"),
        "controls": reverse("admin:compliance_control_changelist"),
        "systems": reverse("techdoc:systems"),
    }


@staff_page(VIEW)
def home(request):
    form = FilterForm(request.GET or None)
    if request.GET and not form.is_valid():
        return render(request, "dashboard/home.html", {"form": form}, status=400)
    f = form.filters() if request.GET else selectors.filters_for()
    figures = selectors.dashboard(f)
    decisions = figures["decisions"]
    to = links(f)
    return render(
        request,
        "dashboard/home.html",
        {
            "form": form,
            "f": f,
            "figures": figures,
            "links": to,
            "outcomes": selectors.OUTCOMES,
            "outcome_rows": [
                {"outcome": o, "n": decisions["totals"][o], "link": to["outcome"][o]}
                for o in selectors.OUTCOMES
            ],
            "level_rows": [
                {"level": level, "n": n, "link": to["level"].get(level, to["decisions"])}
                for level, n in figures["risk"]["levels"].items()
            ],
            "chart": charts.stacked_columns(decisions["buckets"], selectors.OUTCOMES, f.bucket),
            "bucket_rows": [
                {"label": charts.bucket_label(b["start"], f.bucket), **b}
                for b in decisions["buckets"]
            ],
            "risk_chart": charts.horizontal_bars(figures["risk"]["levels"]),
            "can_verify": request.user.has_perm(VERIFY),
            "job": request.GET.get("job", ""),
            "backup_codes_left": accounts.user_unused_backup_code_count(user=request.user),
        },
    )


@require_POST
@staff_page(VIEW)
def verify_start(request):
    """Queue a full ledger verification (the ``ledger.verify`` task) and come back to the page,
    which follows the job's progress. Eager Celery (no Redis) runs it before answering."""
    if not request.user.has_perm(VERIFY):
        raise PermissionDenied
    job = uuid.uuid4().hex
    ledger_tasks.verify_job_set(job, state="queued", checked=0, total=None, run_id=None)
    ledger_tasks.ledger_verify.delay(trigger=f"dashboard:user:{request.user.pk}", job=job)
    return HttpResponseRedirect(f"{reverse('dashboard:home')}?{urlencode({'job': job})}#integrity")


@staff_page(VIEW)
def verify_status(request, job: str):
    """The state of a verification started from the dashboard, as JSON for the page's script."""
    state = ledger_tasks.verify_job_state(job)
    if state is None:
        raise Http404("No such verification job (they are kept for an hour).")
    body: dict[str, Any] = {**state, "job": job}
    run = (
        VerificationRun.objects.filter(pk=state.get("run_id")).first()
        if state.get("run_id")
        else None
    )
    if run is not None:
        body["run"] = {
            "valid": run.valid,
            "entries_checked": run.entries_checked,
            "checkpoint_size": run.checkpoint_size,
            "error_code": run.error_code,
            "first_invalid_seq": run.first_invalid_seq,
            "finished_at": run.finished_at.isoformat(),
        }
    return JsonResponse(body)
