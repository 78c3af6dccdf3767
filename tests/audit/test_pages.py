"""The staff page "Exports": who may open it, requesting an export through the form (the same
service as the API), refused requests that write nothing, and the menu entry."""

from __future__ import annotations

import pytest

from apps.audit.models import Export
from apps.ledger.models import LedgerEntry

pytestmark = pytest.mark.django_db

PAGE = "/exports/"


def test_anonymous_and_password_only_are_sent_to_sign_in(client, make_user):
    assert client.get(PAGE)["Location"].startswith("/accounts/login/")
    client.force_login(make_user("pw", "auditor"))
    assert client.get(PAGE)["Location"].startswith("/accounts/otp/")


def test_a_reviewer_is_refused_and_has_no_menu_entry(verified_client):
    reviewer = verified_client("reviewer")
    assert reviewer.get(PAGE).status_code == 403
    assert reviewer.post(PAGE, {"scope": "all", "format": "json"}).status_code == 403
    assert Export.objects.count() == 0
    assert ("Exports", PAGE, False) not in reviewer.get("/").context["nav_items"]


def test_an_auditor_requests_an_export_from_the_page(
    verified_client, django_capture_on_commit_callbacks, record
):
    auditor = verified_client("auditor")
    page = auditor.get(PAGE)
    assert page.status_code == 200
    assert ("Exports", PAGE, True) in page.context["nav_items"]
    with django_capture_on_commit_callbacks(execute=True):
        answer = auditor.post(
            PAGE, {"scope": "decisions", "format": "markdown", "start": "2000-01-01"}
        )
    assert answer.status_code == 302
    export = Export.objects.get()
    assert (export.scope, export.format, export.status) == ("decisions", "markdown", "done")
    assert export.period_from.isoformat() == "2000-01-01T00:00:00+00:00"
    listed = auditor.get(PAGE).content.decode()
    assert f'href="/audit/download/{export.pk}"' in listed
    assert f"entry #{export.ledger_seq}" in listed


@pytest.mark.parametrize(
    ("_case", "form"),
    [
        ("framework_missing", {"scope": "framework", "format": "pdf"}),
        (
            "period_reversed",
            {"scope": "all", "format": "json", "start": "2026-02-01", "end": "2026-01-01"},
        ),
        ("unknown_format", {"scope": "all", "format": "xlsx"}),
    ],
)
def test_a_refused_request_rerenders_with_the_reason_and_writes_nothing(
    verified_client, django_capture_on_commit_callbacks, _case, form
):
    officer = verified_client("compliance_officer")
    entries = LedgerEntry.objects.count()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        answer = officer.post(PAGE, form)
    assert answer.status_code == 400
    assert answer.context["form"].errors
    assert Export.objects.count() == 0
    assert callbacks == []
    assert LedgerEntry.objects.count() == entries
