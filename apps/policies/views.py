"""Staff pages of the policies: versions (who loaded and activated each), a rule-by-rule diff,
simulation against recent decisions (ADR 0030) and activation with a required reason.

Every page needs password + verified OTP (``staff_page``). Reading needs ``view_dashboard``,
``view_audit_logs`` or ``manage_policies`` (auditors read, and see no forms); activating and
simulating need ``manage_policies`` and a CSRF token, and call one service each. A refused or
invalid request writes nothing: bad input re-renders the page with the reasons (400), an unknown
version 404, a role without the permission 403. Example decisions of a simulation are shown only
where the user may see them (``Decision.objects.visible_to``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from apps.accounts import selectors as accounts
from apps.accounts.decorators import staff_page
from apps.accounts.principals import actor_of
from apps.core.exceptions import ApplicationError, NotFound
from apps.decisions import simulation as replay
from apps.policies import selectors, services, tasks
from apps.policies.diff import policy_diff
from apps.policies.forms import ActivateForm, SimulateForm
from apps.policies.models import PolicySimulation, PolicyVersion

MANAGE = "accounts.manage_policies"
READ = ("accounts.view_dashboard", "accounts.view_audit_logs", MANAGE)
FLIP_ORDER = ("allowed", "escalated", "denied")


def _reader(view):
    """``staff_page`` plus any one of the reading permissions."""

    @staff_page()
    def wrapper(request, *args, **kwargs):
        if not any(request.user.has_perm(perm) for perm in READ):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def _version_or_404(version_id: Any) -> PolicyVersion:
    try:
        return selectors.version_get(identifier=str(version_id))
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _names(labels) -> dict[str, str]:
    return accounts.usernames_by_label(labels=labels)


@require_GET
@_reader
def versions(request):
    """Every version with who loaded it and every activation (who, when, why)."""
    rows = selectors.versions_list()
    activations = selectors.activations_list()
    active = selectors.active_version()
    names = _names(
        [v.loaded_by for v in rows]
        + [a.activated_by for a in activations]
        + [s.requested_by for s in selectors.simulations_list()]
    )
    by_version: dict[Any, list] = {}
    for activation in activations:
        by_version.setdefault(activation.version_id, []).append(activation)
    return render(
        request,
        "policies/versions.html",
        {
            "rows": [
                {
                    "version": version,
                    "active": active is not None and version.pk == active.pk,
                    "activations": by_version.get(version.pk, []),
                }
                for version in rows
            ],
            "active": active,
            "activations": activations,
            "simulations": selectors.simulations_list(),
            "names": names,
            "can_manage": request.user.has_perm(MANAGE),
        },
    )


def _version_context(request, version: PolicyVersion, **forms) -> dict[str, Any]:
    active = selectors.active_version()
    activations = [a for a in selectors.activations_list() if a.version_id == version.pk]
    simulations = selectors.simulations_list(version=version)
    names = _names(
        [version.loaded_by]
        + [a.activated_by for a in activations]
        + [s.requested_by for s in simulations]
    )
    return {
        "version": version,
        "active": active,
        "is_active": active is not None and active.pk == version.pk,
        "activations": activations,
        "simulations": simulations,
        "rules": version.document.get("relations", []),
        "names": names,
        "can_manage": request.user.has_perm(MANAGE),
        "activate_form": forms.get("activate_form") or ActivateForm(),
        "simulate_form": forms.get("simulate_form") or SimulateForm(),
    }


@require_GET
@_reader
def version_page(request, version_id):
    """One version: its rules, activations and simulations; the forms to simulate and activate."""
    version = _version_or_404(version_id)
    return render(request, "policies/version.html", _version_context(request, version))


@require_POST
@staff_page(MANAGE)
def activate(request, version_id):
    """Activate a version with the reason the officer gives (a ``policy.activated`` entry)."""
    version = _version_or_404(version_id)
    form = ActivateForm(request.POST)
    if form.is_valid():
        try:
            activation = services.policy_activate(
                version=version, actor=actor_of(request.user), reason=form.cleaned_data["reason"]
            )
        except ApplicationError as exc:
            form.add_error("reason", exc.message)
        else:
            if activation is None:
                messages.info(request, "This version was already active; nothing changed.")
            else:
                messages.success(
                    request,
                    f"{version} is now active (ledger entry {activation.ledger_seq}).",
                )
            return HttpResponseRedirect(reverse("policies:version", args=[version.pk]))
    context = _version_context(request, version, activate_form=form)
    return render(request, "policies/version.html", context, status=400)


@require_POST
@staff_page(MANAGE)
def simulate(request, version_id):
    """Queue a simulation of this version over the latest decisions; show its page."""
    version = _version_or_404(version_id)
    form = SimulateForm(request.POST)
    if form.is_valid():
        with transaction.atomic():
            simulation = services.simulation_request(
                version=version, requested=form.cleaned_data["limit"], actor=actor_of(request.user)
            )
            tasks.simulation_enqueue(str(simulation.pk))
        return HttpResponseRedirect(reverse("policies:simulation", args=[simulation.pk]))
    context = _version_context(request, version, simulate_form=form)
    return render(request, "policies/version.html", context, status=400)


def _simulation_or_404(simulation_id: Any) -> PolicySimulation:
    try:
        return selectors.simulation_get(identifier=str(simulation_id))
    except NotFound as exc:
        raise Http404(exc.message) from exc


@require_GET
@_reader
def simulation_page(request, simulation_id):
    """A simulation's progress, then what would flip, between which outcomes, and why."""
    simulation = _simulation_or_404(simulation_id)
    result = replay.result_for(principal=request.user, result=simulation.result)
    flips = []
    if result:
        flips = [
            {
                "key": key,
                "before": key.split("->")[0],
                "after": key.split("->")[1],
                "count": count,
                "examples": result["examples"].get(key, []),
            }
            for key, count in result["flips"].items()
        ]
        flips.sort(key=lambda row: (-row["count"], row["key"]))
    matrix = []
    if result:
        for before in FLIP_ORDER:
            cells = []
            for after in FLIP_ORDER:
                if before == after:
                    cells.append(None)
                else:
                    cells.append(result["flips"].get(f"{before}->{after}", 0))
            matrix.append({"before": before, "cells": cells})
    return render(
        request,
        "policies/simulation.html",
        {
            "simulation": simulation,
            "result": result,
            "flips": flips,
            "matrix": matrix,
            "outcomes": FLIP_ORDER,
            "names": _names([simulation.requested_by]),
            "can_manage": request.user.has_perm(MANAGE),
            "finished": simulation.status
            in (PolicySimulation.Status.DONE, PolicySimulation.Status.FAILED),
        },
    )


@require_GET
@_reader
def simulation_progress(request, simulation_id):
    """The run's progress as JSON, polled by the simulation page's script."""
    simulation = _simulation_or_404(simulation_id)
    return JsonResponse(
        {
            "status": simulation.status,
            "processed": simulation.processed,
            "total": simulation.total,
            "percent": simulation.percent,
        }
    )


@require_GET
@_reader
def diff(request):
    """Two versions side by side, rule by rule (default: the active version against ``b``)."""
    all_versions = selectors.versions_list()
    active = selectors.active_version()
    first_id = request.GET.get("a") or (str(active.pk) if active else "")
    second_id = request.GET.get("b") or ""
    context: dict[str, Any] = {
        "all_versions": all_versions,
        "first_id": first_id,
        "second_id": second_id,
        "result": None,
    }
    status = 200
    if first_id and second_id:
        try:
            first = selectors.version_get(identifier=first_id)
            second = selectors.version_get(identifier=second_id)
        except NotFound as exc:
            context["error"] = exc.message
            status = 404
        else:
            context.update(
                first=first, second=second, result=policy_diff(first.document, second.document)
            )
    return render(request, "policies/diff.html", context, status=status)
