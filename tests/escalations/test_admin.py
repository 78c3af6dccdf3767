"""The oversight records are read-only in the admin (changes only through services and the ledger)."""

from __future__ import annotations

import pytest

from apps.escalations import services
from apps.escalations.models import Escalation, Override, ResponsibilityRecord
from tests.escalations.conftest import JUSTIFICATION

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user_obj(staff):
    return staff("adele", "admin")


def test_lists_and_details_render_but_nothing_can_change(escalated, admin_user_obj, as_user):
    services.override_execute(
        decision=escalated.decision,
        user=admin_user_obj,
        override_type="risk_accepted",
        justification=JUSTIFICATION,
    )
    client = as_user(admin_user_obj)
    override = Override.objects.get()
    record = ResponsibilityRecord.objects.get()
    for model, obj in (
        (Escalation, escalated.escalation),
        (Override, override),
        (ResponsibilityRecord, record),
    ):
        name = model._meta.model_name
        assert client.get(f"/admin/escalations/{name}/").status_code == 200, name
        page = client.get(f"/admin/escalations/{name}/{obj.pk}/change/")
        assert page.status_code == 200, name
        assert b'name="_save"' not in page.content
        assert client.get(f"/admin/escalations/{name}/add/").status_code == 403
        assert client.get(f"/admin/escalations/{name}/{obj.pk}/delete/").status_code == 403
    page = client.get(f"/admin/escalations/override/{override.pk}/change/").content.decode()
    assert override.capability_token not in page


def test_reviewers_cannot_browse_oversight_records_in_the_admin(escalated, staff, as_user):
    client = as_user(staff("rita", "reviewer"))
    assert client.get("/admin/escalations/escalation/").status_code == 403
    assert (
        client.get(f"/admin/escalations/escalation/{escalated.escalation.pk}/change/").status_code
        == 403
    )
