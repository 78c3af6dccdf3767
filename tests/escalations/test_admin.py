"""The oversight records are read-only in the admin (changes only through services and the ledger)."""

from __future__ import annotations

import pytest

from apps.decisions.models import ResponsibilityRecord
from apps.escalations import services
from apps.escalations.models import Escalation, Override
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
    record = ResponsibilityRecord.objects.get(kind="override")
    for model, obj in (
        (Escalation, escalated.escalation),
        (Override, override),
        (ResponsibilityRecord, record),
    ):
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}"
        assert client.get(f"{base}/").status_code == 200, base
        page = client.get(f"{base}/{obj.pk}/change/")
        assert page.status_code == 200, base
        assert b'name="_save"' not in page.content
        assert client.get(f"{base}/add/").status_code == 403
        assert client.get(f"{base}/{obj.pk}/delete/").status_code == 403
    page = client.get(f"/admin/escalations/override/{override.pk}/change/").content.decode()
    assert override.capability_token not in page


def test_reviewers_cannot_browse_oversight_records_in_the_admin(escalated, staff, as_user):
    client = as_user(staff("rita", "reviewer"))
    assert client.get("/admin/escalations/escalation/").status_code == 403
    assert (
        client.get(f"/admin/escalations/escalation/{escalated.escalation.pk}/change/").status_code
        == 403
    )
