"""The suggestion queue: an agent stop, an emergency bypass and a deny-rate spike are proposed as
incidents, computed from live data; accepting one opens the incident, dismissing one records
why; a decided suggestion leaves the queue; refusals write nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from apps.decisions.models import Decision
from apps.escalations import services as oversight
from apps.incidents.models import Incident, SuggestionDecision
from apps.ledger import events
from apps.ledger.services import commitment_matches
from tests.escalations.conftest import JUSTIFICATION, decide
from tests.incidents.conftest import URL, assert_error, counts, entry

pytestmark = pytest.mark.django_db

QUEUE = f"{URL}/suggestions"
ALLOWED = {
    "actor": "ai_agent:customer_service",
    "action": "read_ticket",
    "ai_system": "cv-screening",
}
DENIED = {
    "actor": "ai_agent:customer_service",
    "action": "delete_customer_data",
    "ai_system": "cv-screening",
}
# "Now" of the spike tests: the next full hour (staff sessions last 8 hours, so the tests stay
# within them), and the day its key names.
T = (timezone.now() + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
DAY = T.date().isoformat()


def queue(client, **params) -> list[dict]:
    response = client.get(QUEUE, params)
    assert response.status_code == 200, response.content
    return response.json()["suggestions"]


@pytest.fixture
def stopped(officer, agent, system):
    """A stop pressed on a decision of the CV screening system."""
    answer = decide(agent, ALLOWED)
    return oversight.agent_stop(
        decision=Decision.objects.get(pk=answer["decision_id"]),
        user=officer.user,
        reason="the ranking looks discriminatory",
    )


# --- Agent stops and emergency bypasses ------------------------------------------------------------


def test_a_stop_is_proposed_and_accepted_into_an_incident(officer, stopped):
    (suggestion,) = queue(officer)
    assert suggestion["key"] == f"agent_stop:{stopped.pk}"
    assert suggestion["source"] == "agent_stop"
    assert suggestion["ai_system"] == "cv-screening"
    assert suggestion["ai_system_registered"] is True
    assert suggestion["decision_ids"] == [str(stopped.decision_id)]
    assert f"user:{officer.user.pk}" in suggestion["summary"]

    response = officer.post(
        f"{QUEUE}/{suggestion['key']}/accept",
        {"category": "general", "personal_data_involved": True},
        format="json",
    )
    assert response.status_code == 201, response.content
    incident = response.json()
    assert incident["suggestion"] == suggestion["key"]
    assert incident["ai_system"] == "cv-screening"
    assert incident["decision_ids"] == [str(stopped.decision_id)]
    assert incident["description"] == suggestion["summary"]
    assert [c["clock"] for c in incident["clocks"]] == ["art73", "gdpr_art33"]
    _, payload = entry(incident["ledger_entry_ids"][0])
    assert payload["suggestion"] == suggestion["key"]
    decided = SuggestionDecision.objects.get(key=suggestion["key"])
    assert (decided.outcome, str(decided.incident_id)) == ("accepted", incident["id"])
    # Decided: out of the queue, and not accepted twice.
    assert queue(officer) == []
    before = counts()
    again = officer.post(
        f"{QUEUE}/{suggestion['key']}/accept",
        {"category": "general", "personal_data_involved": False},
        format="json",
    )
    assert_error(again, 409, "suggestion_decided")
    assert counts() == before


def test_accepting_takes_the_officers_judgement(officer, stopped):
    aware = timezone.now() - timedelta(hours=5)
    response = officer.post(
        f"{QUEUE}/agent_stop:{stopped.pk}/accept",
        {
            "category": "death",
            "personal_data_involved": False,
            "aware_at": aware.isoformat(),
            "description": "A patient was sent home after the triage assistant ranked her low.",
            "member_state": "FR",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    incident = response.json()
    assert incident["category"] == "death"
    assert datetime.fromisoformat(incident["aware_at"]) == aware
    assert datetime.fromisoformat(incident["deadline"]) == aware + timedelta(days=10)
    assert incident["member_state"] == "FR"


def test_a_dismissal_is_ledgered_with_its_reason_committed(officer, stopped):
    key = f"agent_stop:{stopped.pk}"
    reason = "A test run in staging; no person was affected."
    response = officer.post(f"{QUEUE}/{key}/dismiss", {"reason": reason}, format="json")
    assert response.status_code == 200, response.content
    answer = response.json()
    assert (answer["key"], answer["outcome"], answer["actor"]) == (
        key,
        "dismissed",
        f"user:{officer.user.pk}",
    )
    entry_type, payload = entry(answer["ledger_entry_id"])
    assert entry_type == "incident.suggestion_dismissed"
    events.validate_payload(entry_type, payload, allow_test=False)
    assert payload["subject"] == {"type": "incident_suggestion", "id": key}
    assert reason not in str(payload)
    decided = SuggestionDecision.objects.get(key=key)
    assert commitment_matches(reason, decided.reason_salt, payload["reason_commitment"])
    assert queue(officer) == []
    assert Incident.objects.count() == 0
    before = counts()
    assert_error(
        officer.post(f"{QUEUE}/{key}/dismiss", {"reason": reason}, format="json"),
        409,
        "suggestion_decided",
    )
    assert_error(
        officer.post(
            f"{QUEUE}/{key}/accept",
            {"category": "general", "personal_data_involved": False},
            format="json",
        ),
        409,
        "suggestion_decided",
    )
    assert counts() == before


def test_an_emergency_bypass_is_proposed(officer, agent, system):
    answer = decide(agent, DENIED)
    override = oversight.override_execute(
        decision=Decision.objects.get(pk=answer["decision_id"]),
        user=officer.user,
        override_type="emergency_bypass",
        justification=JUSTIFICATION,
    )
    (suggestion,) = queue(officer)
    assert suggestion["key"] == f"emergency_bypass:{override.pk}"
    assert suggestion["facts"]["previous_outcome"] == "denied"
    assert suggestion["decision_ids"] == [answer["decision_id"]]
    # Other overrides are no signal.
    oversight.override_execute(
        decision=Decision.objects.get(pk=decide(agent, DENIED)["decision_id"]),
        user=officer.user,
        override_type="risk_accepted",
        justification=JUSTIFICATION,
    )
    assert [s["key"] for s in queue(officer)] == [suggestion["key"]]


def test_a_signal_without_a_registered_system_needs_one_named(officer, agent, system):
    answer = decide(agent, {"actor": "ai_agent:customer_service", "action": "read_ticket"})
    stop = oversight.agent_stop(
        decision=Decision.objects.get(pk=answer["decision_id"]),
        user=officer.user,
        reason="the agent misbehaves in production",
    )
    (suggestion,) = queue(officer)
    assert (suggestion["ai_system"], suggestion["ai_system_registered"]) == (None, False)
    url = f"{QUEUE}/agent_stop:{stop.pk}/accept"
    before = counts()
    body = {"category": "general", "personal_data_involved": False}
    assert_error(officer.post(url, body, format="json"), 400, "invalid_input")
    assert_error(
        officer.post(url, {**body, "ai_system": "unknown-system"}, format="json"),
        400,
        "invalid_input",
    )
    assert counts() == before
    response = officer.post(url, {**body, "ai_system": "cv-screening"}, format="json")
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    ("_case", "key", "status", "code"),
    [
        ("unknown stop", "agent_stop:01890a5d-ac96-774b-bcce-b302099a8057", 404, "not_found"),
        ("not a uuid", "agent_stop:42", 404, "not_found"),
        ("unknown source", "fire_alarm:1", 404, "not_found"),
        ("no source", "nothing", 404, "not_found"),
        ("spike of another day", "deny_spike:cv-screening:2020-01-01", 404, "not_found"),
    ],
)
def test_unknown_suggestions_are_404_and_write_nothing(officer, system, _case, key, status, code):
    before = counts()
    body = {"category": "general", "personal_data_involved": False}
    assert_error(officer.post(f"{QUEUE}/{key}/accept", body, format="json"), status, code)
    assert_error(
        officer.post(f"{QUEUE}/{key}/dismiss", {"reason": "not an incident at all"}, format="json"),
        status,
        code,
    )
    assert counts() == before


@pytest.mark.parametrize(
    ("_case", "path", "body"),
    [
        ("accept without category", "accept", {"personal_data_involved": False}),
        ("accept without personal data", "accept", {"category": "general"}),
        (
            "accept unknown field",
            "accept",
            {"category": "general", "personal_data_involved": False, "x": 1},
        ),
        ("dismiss without reason", "dismiss", {}),
        ("dismiss short reason", "dismiss", {"reason": "no"}),
        ("dismiss reason not text", "dismiss", {"reason": 12345678901}),
    ],
)
def test_bad_bodies_are_400_and_write_nothing(officer, stopped, _case, path, body):
    before = counts()
    response = officer.post(f"{QUEUE}/agent_stop:{stopped.pk}/{path}", body, format="json")
    assert_error(response, 400, "validation_error")
    assert counts() == before
    assert len(queue(officer)) == 1


def test_only_officers_decide_suggestions(staff_api, agent_client, officer, stopped):
    key = f"agent_stop:{stopped.pk}"
    before = counts()
    reviewer = staff_api("reviewer")
    for client in (reviewer, staff_api("auditor"), agent_client("compliance:read")):
        assert_error(
            client.post(
                f"{QUEUE}/{key}/accept",
                {"category": "general", "personal_data_involved": False},
                format="json",
            ),
            403,
            "permission_denied",
        )
        assert_error(
            client.post(f"{QUEUE}/{key}/dismiss", {"reason": "nothing to see here"}, format="json"),
            403,
            "permission_denied",
        )
        if client is not reviewer:  # issue 19: reviewers no longer read compliance data
            assert len(queue(client)) == 1  # but they read the queue
    assert counts() == before
    assert_error(agent_client("decide").get(QUEUE), 403, "permission_denied")


def test_old_signals_leave_the_queue(stopped, settings):
    from apps.incidents.suggestions import suggestions_list

    later = stopped.created_at + timedelta(days=31)
    assert len(suggestions_list(now=stopped.created_at)) == 1
    assert suggestions_list(now=later) == []
    settings.LEXECON_INCIDENT_SUGGESTION_DAYS = 40
    assert len(suggestions_list(now=later)) == 1


# --- Deny-rate spikes ------------------------------------------------------------------------------


@pytest.fixture
def spiking(agent, system, settings):
    """Over the day before the last hour: 10 allowed, 1 denied; in the last hour: 6 denied."""
    settings.LEXECON_INCIDENT_DENY_SPIKE_MIN_DECISIONS = 5
    with time_machine.travel(T - timedelta(hours=10), tick=False):
        for _ in range(10):
            decide(agent, ALLOWED)
        decide(agent, DENIED)
    denied = []
    with time_machine.travel(T - timedelta(minutes=30), tick=False):
        for _ in range(6):
            denied.append(decide(agent, DENIED)["decision_id"])
    return denied


def test_a_deny_spike_is_proposed_from_the_decisions(officer, spiking):
    with time_machine.travel(T, tick=False):
        (suggestion,) = queue(officer)
    assert suggestion["key"] == f"deny_spike:cv-screening:{DAY}"
    assert suggestion["source"] == "deny_spike"
    facts = suggestion["facts"]
    assert facts["last_hour"] == {"decisions": 6, "denied": 6}
    assert facts["previous_day"] == {"decisions": 11, "denied": 1}
    assert facts["last_hour_rate"] == 1.0
    assert facts["previous_day_rate"] == round(1 / 11, 4)
    assert sorted(suggestion["decision_ids"]) == sorted(spiking)


def test_the_spike_follows_the_data_and_the_threshold(officer, agent, spiking, settings):
    with time_machine.travel(T, tick=False):
        assert len(queue(officer)) == 1
        settings.LEXECON_INCIDENT_DENY_SPIKE_POINTS = 95  # 100 % - 9 % = 91 points: not enough
        assert queue(officer) == []
        settings.LEXECON_INCIDENT_DENY_SPIKE_POINTS = 20
        settings.LEXECON_INCIDENT_DENY_SPIKE_MIN_DECISIONS = 7  # six decisions in the hour
        assert queue(officer) == []
        settings.LEXECON_INCIDENT_DENY_SPIKE_MIN_DECISIONS = 5
    # Allowed decisions in the last hour bring the rate down: 6 of 30 is 20 %, 11 points over.
    with time_machine.travel(T - timedelta(minutes=10), tick=False):
        for _ in range(24):
            decide(agent, ALLOWED)
    with time_machine.travel(T, tick=False):
        assert queue(officer) == []
    # An hour later the denials are part of the day before: no spike either.
    with time_machine.travel(T + timedelta(hours=2), tick=False):
        assert queue(officer) == []


def test_an_accepted_spike_links_its_denials_and_stays_decided_that_day(officer, spiking):
    with time_machine.travel(T, tick=False):
        response = officer.post(
            f"{QUEUE}/deny_spike:cv-screening:{DAY}/accept",
            {"category": "widespread_or_critical_infrastructure", "personal_data_involved": False},
            format="json",
        )
        assert response.status_code == 201, response.content
        assert sorted(response.json()["decision_ids"]) == sorted(spiking)
        assert queue(officer) == []
    with time_machine.travel(T + timedelta(minutes=20), tick=False):
        assert queue(officer) == []  # same system, same day: already decided


def test_the_spike_query_is_one_aggregate(officer, spiking, django_assert_max_num_queries):
    from apps.incidents import suggestions

    with time_machine.travel(T, tick=False), django_assert_max_num_queries(1):
        (rates,) = suggestions.deny_rates(now=T)
    assert (rates.recent_total, rates.recent_denied, rates.base_total, rates.base_denied) == (
        6,
        6,
        11,
        1,
    )
