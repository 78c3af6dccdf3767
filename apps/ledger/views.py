"""The ledger browser: staff pages to read the ledger and check an entry in the browser.

Who: password + verified OTP (``staff_page``) and ``accounts.view_audit_logs``, the permission the
ledger API already asks of staff — compliance officers, auditors and admins; reviewers act on the
queue and do not read the ledger (ADR 0002, ADR 0029). Every page only reads.

- ``/ledger/browse/``: entries, newest first, keyset-paged on ``seq``, filtered by type, time range,
  actor and subject (``apps.ledger.browse``).
- ``/ledger/browse/entries/<seq>/``: the canonical bytes, hashes, the inclusion proof against the
  first checkpoint covering the entry (downloadable, the ``/ledger/proof/inclusion`` shape), the
  signed checkpoint, and "Verify this entry" (``static/ledger/verify.js``: WebCrypto only).
- ``/ledger/browse/checkpoints/``: signed checkpoints with both signature lines.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse

from apps.accounts.decorators import staff_page
from apps.core.api.exception_handler import error_response
from apps.core.exceptions import NotFound
from apps.ledger import browse, selectors
from apps.ledger.forms import CursorForm, EntryFilterForm

PERMISSION = "accounts.view_audit_logs"
FILTER_FIELDS = ("entry_type", "time_from", "time_to", "actor", "subject_type", "subject_id")


def _query(params: QueryDict, **cursor: int | None) -> str:
    """The current filters plus one cursor, as a query string (empty values dropped)."""
    kept = [(name, params.get(name)) for name in FILTER_FIELDS if params.get(name)]
    kept += [(name, str(value)) for name, value in cursor.items() if value is not None]
    return "?" + urlencode(kept) if kept else "?"


@staff_page(PERMISSION)
def entries(request: HttpRequest) -> HttpResponse:
    form = EntryFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "ledger/entries.html", {"form": form, "page": None}, status=400)
    data = form.cleaned_data
    page = browse.entries_page(filters=form.filters(), before=data["before"], after=data["after"])
    params = request.GET
    links = {
        "newest": _query(params) if page.newer is not None else None,
        "newer": _query(params, after=page.newer) if page.newer is not None else None,
        "older": _query(params, before=page.older) if page.older is not None else None,
        "oldest": _query(params, after=-1) if page.older is not None else None,
    }
    return render(
        request,
        "ledger/entries.html",
        {"form": form, "page": page, "links": links, "filtered": form.filters().any},
    )


@staff_page(PERMISSION)
def entry(request: HttpRequest, seq: int) -> HttpResponse:
    try:
        detail = browse.entry_detail(seq=seq)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    checkpoint = detail["checkpoint"]
    return render(
        request,
        "ledger/entry.html",
        {
            **detail,
            "checkpoint_row": browse.checkpoint_row(checkpoint) if checkpoint else None,
            "keys": [selectors.key_as_dict(key) for key in selectors.keys_list()],
            "keys_url": reverse("ledger-keys"),
            "origin": settings.LEXECON_ORIGIN,
            "ledger_size": selectors.ledger_size(),
        },
    )


@staff_page(PERMISSION)
def entry_proof(request: HttpRequest, seq: int) -> HttpResponse:
    """The inclusion proof as a JSON download (the shape of ``GET /ledger/proof/inclusion``)."""
    try:
        proof = browse.inclusion_proof_for_entry(seq=seq)
    except NotFound as exc:
        return error_response(404, exc.code, exc.message, {"seq": seq})
    response = JsonResponse(proof)
    response["Content-Disposition"] = (
        f'attachment; filename="ledger-entry-{seq}-inclusion-proof-{proof["tree_size"]}.json"'
    )
    return response


@staff_page(PERMISSION)
def checkpoints(request: HttpRequest) -> HttpResponse:
    form = CursorForm(request.GET)
    if not form.is_valid():
        return render(request, "ledger/checkpoints.html", {"form": form, "page": None}, status=400)
    data = form.cleaned_data
    page = browse.checkpoints_page(before=data["before"], after=data["after"])
    return render(
        request,
        "ledger/checkpoints.html",
        {
            "form": form,
            "page": page,
            "newer": f"?after={page.newer}" if page.newer is not None else None,
            "older": f"?before={page.older}" if page.older is not None else None,
            "keys": [selectors.key_as_dict(key) for key in selectors.keys_list()],
        },
    )
