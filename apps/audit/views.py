"""The staff page "Exports": request an export, watch its progress, download it, see its ledger
entry. Password + verified OTP and ``accounts.export_evidence`` (``staff_page``); requesting calls
the same service as ``POST /audit/export``. The progress bars poll ``GET /audit/status/{id}``
(``static/audit/exports.js``; the page is complete without JavaScript, a reload shows the state).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from apps.accounts.decorators import staff_page
from apps.audit import selectors, services
from apps.audit.forms import ExportForm
from apps.core.exceptions import ApplicationError

PAGE_SIZE = 50


@staff_page("accounts.export_evidence")
def exports(request):
    form = ExportForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            period_from, period_to = form.period()
            try:
                export = services.export_request(
                    principal=request.user,
                    request=services.ExportRequest(
                        scope=form.cleaned_data["scope"],
                        format=form.cleaned_data["format"],
                        period_from=period_from,
                        period_to=period_to,
                        ai_system=form.cleaned_data["ai_system"].strip(),
                        framework=form.cleaned_data["framework"].strip(),
                    ),
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"Export {export.pk} requested.")
                return HttpResponseRedirect(reverse("audit:exports"))
        status = 400
    rows, total = selectors.export_list(principal=request.user, limit=PAGE_SIZE)
    return render(
        request,
        "audit/exports.html",
        {
            "form": form,
            "exports": [selectors.export_as_dict(export) for export in rows],
            "total": total,
        },
        status=status,
    )
