"""Admin pages: controls with their computed status and evidence; attestations added through the
service (checked and ledgered) and never changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.compliance.models import Attestation, Control
from apps.ledger.models import LedgerEntry


@pytest.fixture
def officer(make_user):
    return make_user("olga", "compliance_officer")


def test_controls_list_shows_computed_status(catalogs, officer, make_user, as_user):
    make_user("nick", "reviewer", totp=False)  # makes the MFA controls non-compliant
    client = as_user(officer)
    page = client.get("/admin/compliance/control/?framework__id__exact=soc2")
    assert page.status_code == 200
    text = page.content.decode()
    assert "CC6.1" in text
    assert "non compliant" in text
    control = Control.objects.get(framework_id="soc2", control_id="CC6.1")
    detail = client.get(f"/admin/compliance/control/{control.pk}/change/")
    assert detail.status_code == 200
    assert "have no confirmed one-time-password device" in detail.content.decode()
    assert b'name="_save"' not in detail.content


def test_frameworks_page_shows_posture(catalogs, officer, as_user):
    page = as_user(officer).get("/admin/compliance/framework/")
    assert page.status_code == 200
    assert "ISO/IEC 27001" in page.content.decode()
    assert " of 93" in page.content.decode()


def test_an_officer_adds_an_attestation_in_the_admin(catalogs, officer, as_user):
    control = Control.objects.get(framework_id="iso27001", control_id="A.5.1")
    entries = LedgerEntry.objects.count()
    response = as_user(officer).post(
        "/admin/compliance/attestation/add/",
        {
            "control": control.pk,
            "status": "implemented",
            "justification": "Policy set approved by management on 2026-11-30.",
            "evidence_ids": "[]",
            "expires_at_0": (timezone.now() + timedelta(days=30)).strftime("%Y-%m-%d"),
            "expires_at_1": "12:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    attestation = Attestation.objects.get()
    assert attestation.attested_by == officer
    attested = LedgerEntry.objects.filter(entry_type="compliance.attested")
    assert [e.seq for e in attested] == [attestation.ledger_seq]
    assert LedgerEntry.objects.count() > entries
    page = as_user(officer).get(f"/admin/compliance/attestation/{attestation.pk}/change/")
    assert b'name="_save"' not in page.content


def test_a_short_justification_is_refused_in_the_admin_and_nothing_written(
    catalogs, officer, as_user
):
    control = Control.objects.get(framework_id="iso27001", control_id="A.5.1")
    entries = LedgerEntry.objects.count()
    response = as_user(officer).post(
        "/admin/compliance/attestation/add/",
        {
            "control": control.pk,
            "status": "implemented",
            "justification": "ok",
            "evidence_ids": "[]",
        },
    )
    assert response.status_code == 200
    assert "at least 20 characters" in response.content.decode()
    assert Attestation.objects.count() == 0
    assert LedgerEntry.objects.count() == entries


@pytest.mark.parametrize("role", ["auditor", "reviewer"])
def test_auditors_and_reviewers_cannot_add_attestations(catalogs, make_user, as_user, role):
    client = as_user(make_user("x", role))
    # Issue 19: reviewers no longer hold view_dashboard (compliance reads are not theirs).
    expected = 200 if role == "auditor" else 403
    assert client.get("/admin/compliance/control/").status_code == expected
    assert client.get("/admin/compliance/attestation/add/").status_code == 403


@pytest.mark.parametrize(("role", "shown"), [("compliance_officer", True), ("auditor", True)])
def test_the_home_page_links_to_the_controls(catalogs, make_user, as_user, role, shown):
    # "/" sends these roles to the dashboard (issue 19), whose menu links to the controls.
    page = as_user(make_user("h", role)).get("/", follow=True).content.decode()
    assert ("/admin/compliance/control/" in page) is shown
