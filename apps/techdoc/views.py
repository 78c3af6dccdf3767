"""Staff pages of the EU AI Act modules: the registered systems, and one page per AI system with
its Annex IV document, the items still missing, the narrative form, the documents generated so
far, and the sections other apps add (``apps.techdoc.sections``).

Every page needs password + verified OTP (``staff_page``) and ``view_dashboard``; saving a
narrative needs ``manage_policies`` and a CSRF token (Django's middleware) and calls one service,
which writes the version and its ledger entry. A refused or invalid save writes nothing: bad input
re-renders the page with the reasons (400), an unknown system is 404, a role without the
permission 403.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.accounts.decorators import staff_page
from apps.accounts.principals import actor_of
from apps.aisystems import selectors as registry
from apps.aisystems.models import AISystem
from apps.core.exceptions import ApplicationError, NotFound, PermissionDeniedError
from apps.evidence.querysets import sees_every_artifact
from apps.techdoc import render as documents
from apps.techdoc import selectors, services
from apps.techdoc.annex_iv import ANNEX_IV_ITEMS
from apps.techdoc.constants import NARRATIVES, DocumentFormat, NarrativeField
from apps.techdoc.forms import NarrativeForm
from apps.techdoc.sections import system_sections

REQUIRED_FIELDS = [field for field, spec in NARRATIVES.items() if spec.required]


@staff_page("accounts.view_dashboard")
def systems(request):
    """Every registered AI system, with how many required narratives are written."""
    rows = registry.ai_system_list().annotate(
        written=Count(
            "narratives__field", filter=Q(narratives__field__in=REQUIRED_FIELDS), distinct=True
        )
    )
    return render(
        request,
        "techdoc/systems.html",
        {"rows": rows, "required": len(REQUIRED_FIELDS)},
    )


def _system_or_404(system_id: str) -> AISystem:
    try:
        return selectors.ai_system_get(system_id=system_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _narrative_rows(system: AISystem) -> list[dict[str, Any]]:
    """Each narrative field with its current version and every earlier one."""
    history: dict[str, list[Any]] = {}
    for narrative in selectors.narrative_history(system):
        history.setdefault(narrative.field, []).append(narrative)
    return [
        {
            "field": field,
            "label": NarrativeField(field).label,
            "item": spec.item,
            "required": spec.required,
            "help_text": spec.help_text,
            "current": (history.get(field) or [None])[0],
            "versions": history.get(field, []),
        }
        for field, spec in NARRATIVES.items()
    ]


def _render_system(
    request, system: AISystem, *, form: NarrativeForm | None = None, status: int = 200
) -> HttpResponse:
    window = selectors.default_window()
    document = selectors.document_build(
        system=system, window=window, generated_by=actor_of(request.user)["id"]
    )
    rows = _narrative_rows(system)
    can_write = request.user.has_perm(services.WRITE_PERMISSION)
    if form is None and can_write:
        editing = request.GET.get("edit")
        current = next((r["current"] for r in rows if r["field"] == editing), None)
        form = NarrativeForm(
            initial={"field": editing, "text": current.text if current else ""}
            if editing in NarrativeField.values
            else None
        )
    # Each other app's fragment is rendered with its own context (its names at the top level, as
    # the fragment expects them, plus ``ai_system`` and ``section``) and the signed-in person.
    sections = []
    for section in system_sections():
        context = section.context(system, principal=request.user)
        sections.append(
            {
                "key": section.key,
                "title": section.title,
                "html": render_to_string(
                    section.template,
                    {**context, "ai_system": system, "section": context},
                    request=request,
                ),
            }
        )
    prefix = "techdoc.narrative."
    missing = [
        {**m, "edit": m["part"][len(prefix) :] if (m["part"] or "").startswith(prefix) else None}
        for m in document["missing"]
    ]
    context = {
        "system": system,
        "doc": documents.document_view(document),
        "missing": missing,
        "item_titles": ANNEX_IV_ITEMS,
        "narratives": rows,
        "form": form,
        "can_write": can_write,
        "generated": selectors.generated_list(system=system, limit=10),
        # The stored files open through /evidence, under its visibility rule (ADR 0018).
        "can_open_evidence": sees_every_artifact(request.user),
        "formats": DocumentFormat.values,
        "documentation_url": reverse("techdoc:eu-ai-act-article-11-documentation"),
        "extra_sections": sections,
    }
    return render(request, "techdoc/system.html", context, status=status)


@staff_page("accounts.view_dashboard")
def system_page(request, system_id):
    """One AI system: its Annex IV document (built now, not stored), what is missing, the
    narratives and their versions, the generated documents, and the other apps' sections."""
    return _render_system(request, _system_or_404(system_id))


@require_POST
@staff_page(services.WRITE_PERMISSION)
def narrative_save(request, system_id):
    """Save a narrative version from the page's form (``techdoc.narrative_saved``)."""
    system = _system_or_404(system_id)
    form = NarrativeForm(request.POST)
    if not form.is_valid():
        return _render_system(request, system, form=form, status=400)
    try:
        result = services.narrative_save(
            user=request.user,
            system_id=system.pk,
            field=form.cleaned_data["field"],
            text=form.cleaned_data["text"],
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except PermissionDeniedError as exc:
        raise PermissionDenied(exc.message) from exc
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return _render_system(request, system, form=form, status=exc.status)
    narrative = result.narrative
    label = narrative.get_field_display()
    if result.created:
        messages.success(request, f"Saved version {narrative.version} of “{label}”.")
    else:
        messages.info(request, f"No change: “{label}” already has this text.")
    return HttpResponseRedirect(
        reverse("techdoc:system", args=[system.pk]) + f"#narrative-{narrative.field}"
    )
