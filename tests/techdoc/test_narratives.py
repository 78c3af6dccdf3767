"""Narratives: one row per (system, field, version) with author and date, ledgered by the text's
SHA-256; written through the staff form and the admin, both through the one service. Every write
path: CSRF, permissions per role, bad input 4xx with nothing written."""

from __future__ import annotations

import hashlib
import typing

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client

from apps.core.exceptions import InvalidInput, NotFound, PermissionDeniedError
from apps.ledger import events
from apps.techdoc import services
from apps.techdoc.constants import NARRATIVE_MAX_LENGTH, NARRATIVES, NarrativeField
from apps.techdoc.models import Narrative
from tests.conftest import verify_session
from tests.techdoc.conftest import SYSTEM_ID, counts, entry, page_url, save_url

pytestmark = pytest.mark.django_db

TEXT = "We score applications on the overlap of skills with the published requirements."


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- The service ------------------------------------------------------------------------------------


def test_each_save_is_a_new_version_with_its_author_and_ledger_entry(system, officer):
    first = services.narrative_save(
        user=officer, system_id=SYSTEM_ID, field="design_choices", text=f"  {TEXT}\r\n"
    )
    assert first.created
    row = first.narrative
    assert (row.version, row.text, row.author, row.actor) == (
        1,
        TEXT,
        officer,
        f"user:{officer.pk}",
    )
    entry_type, payload = entry(row.ledger_seq)
    assert entry_type == "techdoc.narrative_saved"
    assert payload["text_sha256"] == sha(TEXT) == row.text_sha256
    assert payload["previous_text_sha256"] is None
    assert (payload["ai_system_id"], payload["field"], payload["item"], payload["version"]) == (
        SYSTEM_ID,
        "design_choices",
        2,
        1,
    )
    assert payload["actor"]["id"] == f"user:{officer.pk}"
    assert TEXT not in entry_type + str(payload)  # the text itself never reaches the ledger

    second = services.narrative_save(
        user=officer, system_id=SYSTEM_ID, field="design_choices", text=TEXT + " Revised."
    )
    assert second.narrative.version == 2
    _, payload = entry(second.narrative.ledger_seq)
    assert payload["previous_text_sha256"] == sha(TEXT)
    assert Narrative.objects.filter(system=system, field="design_choices").count() == 2


def test_saving_the_current_text_again_writes_nothing(system, officer):
    services.narrative_save(user=officer, system_id=SYSTEM_ID, field="standards", text=TEXT)
    before = counts()
    again = services.narrative_save(
        user=officer, system_id=SYSTEM_ID, field="standards", text=TEXT + "\n"
    )
    assert not again.created
    assert again.narrative.version == 1
    assert counts() == before


def test_versions_are_per_system_and_field(system, officer):
    from apps.aisystems import services as registry

    registry.ai_system_register(
        principal=officer,
        system_id="other",
        name="Other",
        version="1",
        role="provider",
        intended_purpose="Something else.",
        risk_class="minimal",
    )
    for system_id in (SYSTEM_ID, "other"):
        for field in ("standards", "test_reports"):
            result = services.narrative_save(
                user=officer, system_id=system_id, field=field, text=f"{system_id} {field}"
            )
            assert result.narrative.version == 1


@pytest.mark.parametrize(
    ("field", "text", "error"),
    [
        ("no_such_field", TEXT, InvalidInput),
        ("standards", "", InvalidInput),
        ("standards", "   \n\t ", InvalidInput),
        ("standards", "x" * (NARRATIVE_MAX_LENGTH + 1), InvalidInput),
        ("standards", "nul\x00byte", InvalidInput),
        ("standards", 42, InvalidInput),
    ],
)
def test_bad_narratives_are_refused_and_nothing_is_written(system, officer, field, text, error):
    before = counts()
    with pytest.raises(error):
        services.narrative_save(user=officer, system_id=SYSTEM_ID, field=field, text=text)
    assert counts() == before


def test_unknown_system_and_missing_permission_write_nothing(system, officer, make_user):
    before = counts()
    with pytest.raises(NotFound):
        services.narrative_save(user=officer, system_id="nope", field="standards", text=TEXT)
    for role in ("reviewer", "auditor"):
        with pytest.raises(PermissionDeniedError):
            services.narrative_save(
                user=make_user(f"u_{role}", role), system_id=SYSTEM_ID, field="standards", text=TEXT
            )
    assert counts() == before


def test_the_ledger_knows_every_narrative_field():
    """apps.ledger cannot import apps.techdoc (layers): its list of field codes is kept equal."""
    declared = typing.get_args(events.TechdocNarrativeSaved.model_fields["field"].annotation)
    assert sorted(declared) == sorted(NarrativeField.values) == sorted(NARRATIVES)


@pytest.mark.postgres
def test_postgresql_refuses_to_change_or_delete_a_version(system, officer):
    saved = services.narrative_save(
        user=officer, system_id=SYSTEM_ID, field="standards", text=TEXT
    ).narrative
    for statement in (
        "UPDATE techdoc_narrative SET text = 'edited' WHERE id = %s",
        "DELETE FROM techdoc_narrative WHERE id = %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [saved.pk])
    assert Narrative.objects.get(pk=saved.pk).text == TEXT


# --- The staff form ---------------------------------------------------------------------------------


def test_an_officer_saves_through_the_form(system, staff_page):
    client = staff_page("compliance_officer")
    response = client.post(save_url(), {"field": "test_reports", "text": TEXT})
    assert response.status_code == 302
    assert response["Location"] == page_url() + "#narrative-test_reports"
    saved = Narrative.objects.get()
    assert (saved.field, saved.version, saved.author) == ("test_reports", 1, client.user)
    page = client.get(response["Location"])
    assert "Saved version 1 of" in page.content.decode()


def test_the_form_needs_a_csrf_token(system, staff_page):
    client = staff_page("compliance_officer", csrf=True)
    before = counts()
    response = client.post(save_url(), {"field": "test_reports", "text": TEXT})
    assert response.status_code == 403
    assert counts() == before
    # With the page's token it goes through.
    page = client.get(page_url())
    token = page.cookies["csrftoken"].value
    response = client.post(
        save_url(), {"field": "test_reports", "text": TEXT, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert counts()[0] == before[0] + 1


@pytest.mark.parametrize("role", ["reviewer", "auditor"])
def test_roles_without_manage_policies_get_403_and_write_nothing(system, staff_page, role):
    client = staff_page(role)
    before = counts()
    response = client.post(save_url(), {"field": "test_reports", "text": TEXT})
    assert response.status_code == 403
    assert counts() == before


@pytest.mark.parametrize("role", ["admin", "compliance_officer"])
def test_roles_with_manage_policies_write(system, staff_page, role):
    response = staff_page(role).post(save_url(), {"field": "standards", "text": TEXT})
    assert response.status_code == 302
    assert Narrative.objects.count() == 1


def test_signed_out_and_password_only_sessions_are_sent_to_sign_in(system, make_user):
    before = counts()
    response = Client().post(save_url(), {"field": "standards", "text": TEXT})
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    half = Client()
    half.force_login(make_user("half", "compliance_officer"))
    response = half.post(save_url(), {"field": "standards", "text": TEXT})
    assert response.status_code == 302
    assert "/accounts/otp/" in response["Location"]
    assert counts() == before


@pytest.mark.parametrize(
    "data",
    [
        {"field": "standards"},
        {"field": "standards", "text": "   "},
        {"field": "nonsense", "text": TEXT},
        {"field": "", "text": TEXT},
        {"text": TEXT},
        {"field": "standards", "text": "x" * (NARRATIVE_MAX_LENGTH + 1)},
        {"field": "standards", "text": "a\x00b"},
    ],
)
def test_bad_input_re_renders_the_form_with_400_and_writes_nothing(system, staff_page, data):
    client = staff_page("compliance_officer")
    before = counts()
    response = client.post(save_url(), data)
    assert response.status_code == 400
    assert (
        'class="field-error"' in response.content.decode() or "error" in response.content.decode()
    )
    assert counts() == before


def test_unknown_system_is_404_and_get_is_not_allowed(system, staff_page):
    client = staff_page("compliance_officer")
    before = counts()
    assert client.post(save_url("nope"), {"field": "standards", "text": TEXT}).status_code == 404
    assert client.get(save_url()).status_code == 405
    assert counts() == before


# --- The admin --------------------------------------------------------------------------------------

ADD = "/admin/techdoc/narrative/add/"


def admin_client(make_user, role: str) -> Client:
    user = make_user(f"adm_{role}", role)
    client = verify_session(Client(), user)
    client.user = user
    return client


def test_adding_in_the_admin_goes_through_the_service(system, make_user):
    client = admin_client(make_user, "compliance_officer")
    before = counts()
    response = client.post(ADD, {"system": SYSTEM_ID, "field": "standards", "text": TEXT})
    assert response.status_code == 302, response.content.decode()[:2000]
    saved = Narrative.objects.get()
    assert (saved.version, saved.author, saved.text_sha256) == (1, client.user, sha(TEXT))
    assert counts()[3] == before[3] + 1
    entry_type, _ = entry(saved.ledger_seq)
    assert entry_type == "techdoc.narrative_saved"

    # The same text again is refused with a reason; nothing is written.
    before = counts()
    response = client.post(ADD, {"system": SYSTEM_ID, "field": "standards", "text": TEXT})
    assert response.status_code == 200
    assert "already the current version" in response.content.decode()
    assert counts() == before


def test_the_admin_needs_a_csrf_token(system, make_user):
    user = make_user("adm_csrf", "compliance_officer")
    client = verify_session(Client(enforce_csrf_checks=True), user)
    before = counts()
    response = client.post(ADD, {"system": SYSTEM_ID, "field": "standards", "text": TEXT})
    assert response.status_code == 403
    assert counts() == before


def test_the_admin_refuses_blank_text_and_other_roles(system, make_user):
    client = admin_client(make_user, "compliance_officer")
    before = counts()
    response = client.post(ADD, {"system": SYSTEM_ID, "field": "standards", "text": "  "})
    assert response.status_code == 200
    assert counts() == before
    auditor = admin_client(make_user, "auditor")
    response = auditor.post(ADD, {"system": SYSTEM_ID, "field": "standards", "text": TEXT})
    assert response.status_code == 403
    assert counts() == before
    assert auditor.get("/admin/techdoc/narrative/").status_code == 200  # but it may read


def test_versions_cannot_be_changed_or_deleted_in_the_admin(system, officer, make_user):
    saved = services.narrative_save(
        user=officer, system_id=SYSTEM_ID, field="standards", text=TEXT
    ).narrative
    client = admin_client(make_user, "admin")
    change = f"/admin/techdoc/narrative/{saved.pk}/change/"
    response = client.post(change, {"system": SYSTEM_ID, "field": "standards", "text": "edited"})
    assert response.status_code == 403
    assert (
        client.post(f"/admin/techdoc/narrative/{saved.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert Narrative.objects.get(pk=saved.pk).text == TEXT
