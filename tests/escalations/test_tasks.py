"""The periodic SLA task (by its stable name, as beat sends it) and the e-mail notification task."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail

from apps.escalations import tasks
from apps.escalations.models import Escalation
from apps.ledger.models import LedgerEntry
from lexecon_site.celery import app

pytestmark = pytest.mark.django_db


def test_beat_runs_the_sla_check_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["escalations-sla"]
    assert entry == {"task": "escalations.check_sla", "schedule": 60.0}
    assert "escalations.check_sla" in app.tasks
    assert "escalations.notify" in app.tasks


def test_check_sla_task_expires_overdue_escalations(
    escalated, staff, django_capture_on_commit_callbacks
):
    staff("olivia", "compliance_officer")
    with (
        time_machine.travel(escalated.escalation.sla_deadline + timedelta(seconds=30), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        result = app.tasks["escalations.check_sla"].apply().get()
    assert result == {"expired": 1, "warned": 0}
    escalation = Escalation.objects.get(pk=escalated.escalation.pk)
    assert (escalation.status, escalation.resolution) == ("expired", "denied")
    assert LedgerEntry.objects.filter(entry_type="escalation.expired").count() == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["olivia@example.org"]


def test_notify_skips_users_without_address(escalated, staff, make_user):
    with_mail = staff("olivia", "compliance_officer")
    without = make_user("nomail", "reviewer")
    sent = tasks.escalation_notify.apply(
        args=("warning", str(escalated.escalation.pk), [with_mail.pk, without.pk])
    ).get()
    assert sent == 1
    assert mail.outbox[0].to == ["olivia@example.org"]
    assert "SLA warning" in mail.outbox[0].subject
