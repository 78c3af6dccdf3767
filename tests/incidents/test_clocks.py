"""Clocks with time-machine: each category reaches each warning and its deadline at the right
moment (not a second early), each warning is written and mailed once, a report stops the clock,
and the GDPR 72-hour clock runs only when personal data are involved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from apps.incidents import clocks, services
from apps.incidents.models import IncidentWarning
from apps.incidents.selectors import incident_clocks, incident_get
from apps.incidents.tasks import incident_check_clocks
from apps.ledger import events
from tests.incidents.conftest import DESCRIPTION, entries_of

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)  # a Monday
SECOND = timedelta(seconds=1)


def open_incident(officer, system, *, category: str, personal_data: bool = False):
    with time_machine.travel(T0, tick=False):
        return services.incident_open(
            principal=officer.user,
            ai_system_id=system.pk,
            category=category,
            aware_at=T0,
            description=DESCRIPTION,
            personal_data_involved=personal_data,
        )


def run_check(at: datetime, capture) -> dict:
    with time_machine.travel(at, tick=False), capture(execute=True):
        return incident_check_clocks.apply().get()


def warnings(incident, clock: str = "art73") -> list[int]:
    return list(
        IncidentWarning.objects.filter(incident=incident, clock=clock)
        .order_by("ledger_seq")
        .values_list("lead_hours", flat=True)
    )


@pytest.mark.parametrize(
    ("category", "days", "leads"),
    [
        ("general", 15, [72, 24, 4, 0]),
        ("death", 10, [72, 24, 4, 0]),
        # 72 hours before a 2-day deadline is before the incident existed: left out.
        ("widespread_or_critical_infrastructure", 2, [24, 4, 0]),
    ],
)
def test_each_category_warns_at_each_moment_and_reaches_its_deadline(
    officer, system, django_capture_on_commit_callbacks, category, days, leads
):
    incident = open_incident(officer, system, category=category)
    due = T0 + timedelta(days=days)
    expected: list[int] = []
    for lead in leads:
        moment = due - timedelta(hours=lead)
        # A second before its moment, nothing new.
        assert run_check(moment - SECOND, django_capture_on_commit_callbacks)["warned"] == 0
        assert warnings(incident) == expected
        mail.outbox.clear()
        # At its moment, exactly this warning, mailed once.
        assert run_check(moment, django_capture_on_commit_callbacks)["warned"] == 1
        expected.append(lead)
        assert warnings(incident) == expected
        assert len(mail.outbox) == 1
        message = mail.outbox[0]
        assert message.to == [officer.user.email]
        assert str(incident.pk) in message.subject
        assert ("OVERDUE" in message.subject) == (lead == 0)
        assert DESCRIPTION not in message.body  # no incident content in mail
        # Run again at the same moment: nothing new, nothing mailed.
        assert run_check(moment, django_capture_on_commit_callbacks)["warned"] == 0
        assert len(mail.outbox) == 1

    # The clock: running a second before the deadline, overdue at it.
    found = incident_get(incident_id=incident.pk)
    (state,) = incident_clocks(found, now=due - SECOND)
    assert (state.state, state.seconds_left) == (clocks.RUNNING, 1)
    (state,) = incident_clocks(found, now=due)
    assert state.state == clocks.OVERDUE
    # Each warning is a ledger entry of its declared shape, by the clock check.
    written = entries_of("incident.deadline_warning")
    assert [p["lead_hours"] for p in written] == leads
    for payload in written:
        events.validate_payload("incident.deadline_warning", payload, allow_test=False)
        assert payload["actor"]["id"] == "system:incident_clocks"
        assert payload["recipients"] == 1
        assert datetime.fromisoformat(payload["due_at"]) == due
    assert all(w.mailed_at is not None for w in IncidentWarning.objects.all())
    # Nothing more after the deadline.
    assert run_check(due + timedelta(days=30), django_capture_on_commit_callbacks)["warned"] == 0


def test_a_late_run_sends_only_the_most_urgent_warning(
    officer, system, django_capture_on_commit_callbacks
):
    incident = open_incident(officer, system, category="general")
    due = T0 + timedelta(days=15)
    # The check did not run for days: at 3 hours before the deadline, only the 4-hour warning.
    assert run_check(due - timedelta(hours=3), django_capture_on_commit_callbacks)["warned"] == 1
    assert warnings(incident) == [4]
    # The less urgent ones never come afterwards.
    assert run_check(due - timedelta(hours=2), django_capture_on_commit_callbacks)["warned"] == 0
    assert run_check(due, django_capture_on_commit_callbacks)["warned"] == 1
    assert warnings(incident) == [4, 0]


def test_a_report_sent_in_time_stops_the_clock(officer, system, django_capture_on_commit_callbacks):
    incident = open_incident(officer, system, category="death")
    due = T0 + timedelta(days=10)
    run_check(due - timedelta(hours=72), django_capture_on_commit_callbacks)
    sent_at = due - timedelta(hours=30)
    with time_machine.travel(sent_at, tick=False):
        services.incident_report_generate(
            principal=officer.user, incident_id=incident.pk, kind="initial"
        )
        services.incident_update(
            principal=officer.user, incident_id=incident.pk, status="initial_report_sent"
        )
    assert run_check(due - timedelta(hours=24), django_capture_on_commit_callbacks)["warned"] == 0
    assert run_check(due + timedelta(days=1), django_capture_on_commit_callbacks)["warned"] == 0
    assert warnings(incident) == [72]
    (state,) = incident_clocks(incident_get(incident_id=incident.pk), now=due + timedelta(days=1))
    assert (state.state, state.stopped_at) == (clocks.MET, sent_at)
    assert state.time_left == "done with 1 d 06 h to spare"
    (payload,) = entries_of("incident.transitioned")
    assert payload["deadline_met"] is True


def test_a_report_sent_after_the_deadline_is_late(officer, system):
    incident = open_incident(officer, system, category="widespread_or_critical_infrastructure")
    late = T0 + timedelta(days=2, hours=5)
    with time_machine.travel(late, tick=False):
        services.incident_report_generate(
            principal=officer.user, incident_id=incident.pk, kind="initial"
        )
        services.incident_update(
            principal=officer.user, incident_id=incident.pk, status="initial_report_sent"
        )
    (state,) = incident_clocks(incident_get(incident_id=incident.pk), now=late)
    assert state.state == clocks.LATE
    assert state.time_left == "done late, by 5 h 00 min"
    (payload,) = entries_of("incident.transitioned")
    assert payload["deadline_met"] is False


def test_the_gdpr_clock_runs_with_personal_data(
    officer, system, django_capture_on_commit_callbacks
):
    incident = open_incident(officer, system, category="general", personal_data=True)
    due = T0 + timedelta(hours=72)
    for lead in (24, 4, 0):
        moment = due - timedelta(hours=lead)
        assert run_check(moment - SECOND, django_capture_on_commit_callbacks)["warned"] == 0
        assert run_check(moment, django_capture_on_commit_callbacks)["warned"] == 1
    assert warnings(incident, "gdpr_art33") == [24, 4, 0]
    # The Art. 73 clock's 15 days are far away: none of its warnings yet.
    assert warnings(incident, "art73") == []
    states = incident_clocks(incident_get(incident_id=incident.pk), now=due)
    assert [(s.clock, s.state) for s in states] == [
        ("art73", clocks.RUNNING),
        ("gdpr_art33", clocks.OVERDUE),
    ]


def test_without_personal_data_there_is_no_gdpr_clock(
    officer, system, django_capture_on_commit_callbacks
):
    incident = open_incident(officer, system, category="general")
    for hours in (48, 68, 72, 96):
        run_check(T0 + timedelta(hours=hours), django_capture_on_commit_callbacks)
    assert warnings(incident, "gdpr_art33") == []
    states = incident_clocks(incident_get(incident_id=incident.pk), now=T0 + timedelta(hours=96))
    assert [s.clock for s in states] == ["art73"]


def test_recording_the_notification_stops_the_gdpr_clock(
    officer, system, django_capture_on_commit_callbacks
):
    incident = open_incident(officer, system, category="general", personal_data=True)
    with time_machine.travel(T0 + timedelta(hours=50), tick=False):
        services.incident_update(
            principal=officer.user, incident_id=incident.pk, gdpr_notified=True
        )
    assert run_check(T0 + timedelta(hours=72), django_capture_on_commit_callbacks)["warned"] == 0
    assert warnings(incident, "gdpr_art33") == []
    states = incident_clocks(incident_get(incident_id=incident.pk), now=T0 + timedelta(hours=80))
    assert states[1].state == clocks.MET


def test_warning_hours_are_configurable(
    officer, system, settings, django_capture_on_commit_callbacks
):
    settings.LEXECON_INCIDENT_WARNING_HOURS = (12,)
    incident = open_incident(officer, system, category="general")
    due = T0 + timedelta(days=15)
    assert run_check(due - timedelta(hours=24), django_capture_on_commit_callbacks)["warned"] == 0
    assert run_check(due - timedelta(hours=12), django_capture_on_commit_callbacks)["warned"] == 1
    assert warnings(incident) == [12]


def test_the_owner_and_the_officers_are_mailed(
    officer, staff_api, system, django_capture_on_commit_callbacks
):
    from apps.aisystems import services as registry

    owner = staff_api("reviewer", "rosa").user
    registry.ai_system_update(principal=officer.user, system_id=system.pk, changes={"owner": owner})
    second_officer = staff_api("compliance_officer", "otto").user
    staff_api("auditor", "aude")  # reads only: not mailed
    open_incident(officer, system, category="widespread_or_critical_infrastructure")
    run_check(T0 + timedelta(days=1), django_capture_on_commit_callbacks)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [officer.user.email, owner.email, second_officer.email]
    )


# --- Regulation 1182/71: the legal end of a period, for information ------------------------------


@pytest.mark.parametrize(
    ("aware", "days", "member_state", "legal_end"),
    [
        # Aware on Monday 7 Dec, 2 days: the period is Tue-Wed, it ends at midnight (Brussels).
        ("2026-12-07T09:30:00+00:00", 2, "", "2026-12-09T23:00:00+00:00"),
        # Aware on Thursday, 2 days: the last day is Saturday, so it runs to Monday's end.
        ("2026-12-10T09:30:00+00:00", 2, "", "2026-12-14T23:00:00+00:00"),
        # Late on Thursday in UTC is already Friday in Helsinki: Fri + 2 = Sunday -> Monday.
        ("2026-12-10T22:30:00+00:00", 2, "FI", "2026-12-14T22:00:00+00:00"),
        # 15 days from Wednesday 2 Dec: Thursday 17 Dec, no weekend.
        ("2026-12-02T12:00:00+00:00", 15, "DE", "2026-12-17T23:00:00+00:00"),
    ],
)
def test_the_legal_end_follows_regulation_1182_71(aware, days, member_state, legal_end):
    end = clocks.legal_end_of_days(datetime.fromisoformat(aware), days, member_state=member_state)
    assert end == datetime.fromisoformat(legal_end)


def test_a_listed_public_holiday_moves_the_legal_end(settings):
    settings.LEXECON_INCIDENT_PUBLIC_HOLIDAYS = ("2026-12-25",)
    # Aware Wednesday 23 Dec, 2 days: Friday 25 Dec is a holiday, then the weekend -> Monday 28.
    end = clocks.legal_end_of_days(datetime(2026, 12, 23, 10, tzinfo=UTC), 2)
    assert end == datetime(2026, 12, 28, 23, tzinfo=UTC)
