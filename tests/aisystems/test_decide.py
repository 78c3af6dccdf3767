"""``/decide`` checks ``ai_system`` against the registry: registered → linked as before; unknown →
accepted and flagged (a warning), or refused with nothing written when the deployment requires
registration."""

from __future__ import annotations

import json

import pytest

from apps.aisystems import selectors
from apps.decisions.models import Decision, ResponsibilityRecord
from apps.escalations.models import Escalation
from apps.ledger.models import LedgerEntry
from tests.aisystems.conftest import CV_SCREENING, SUPPORT_BOT, URL

pytestmark = pytest.mark.django_db

ALLOWED = {"actor": "ai_agent:customer_service", "action": "read_ticket"}
WARNING = "ai_system 'ghost-bot' is not registered"


def decide(client, headers=None, **fields):
    return client.post("/decide", {**ALLOWED, **fields}, format="json", **(headers or {}))


def written() -> tuple[int, int, int, int]:
    return (
        Decision.objects.count(),
        LedgerEntry.objects.count(),
        ResponsibilityRecord.objects.count(),
        Escalation.objects.count(),
    )


@pytest.fixture
def support_bot(officer):
    response = officer.post(URL, SUPPORT_BOT, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_registered_system_is_linked_without_warning(agent, support_bot):
    response = decide(agent, ai_system="support-bot")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["warnings"] == []
    decision = Decision.objects.get(pk=body["decision_id"])
    assert (decision.ai_system, decision.ai_system_registered) == ("support-bot", True)
    payload = json.loads(LedgerEntry.objects.get(seq=body["ledger_entry_id"]).payload)
    assert payload["request"]["ai_system"] == "support-bot"


def test_without_ai_system_nothing_is_flagged(agent, settings):
    settings.LEXECON_REQUIRE_REGISTERED_AI_SYSTEM = True
    response = decide(agent)
    assert response.status_code == 200, response.content
    assert response.json()["warnings"] == []
    assert Decision.objects.get().ai_system_registered is None


def test_an_unknown_system_is_accepted_and_flagged_by_default(agent, support_bot):
    before = written()
    response = decide(agent, ai_system="ghost-bot")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["outcome"] == "allowed"
    assert body["warnings"] == [WARNING]
    decision = Decision.objects.get(pk=body["decision_id"])
    assert (decision.ai_system, decision.ai_system_registered) == ("ghost-bot", False)
    assert written()[:2] == (before[0] + 1, before[1] + 1)
    # The detail says the same, and a replay of the answer carries the same warning.
    detail = agent.get(f"/decisions/{body['decision_id']}").json()
    assert (detail["ai_system"], detail["ai_system_registered"]) == ("ghost-bot", False)
    assert detail["warnings"] == [WARNING]


def test_a_flagged_answer_replays_byte_for_byte(agent):
    key = {"HTTP_IDEMPOTENCY_KEY": "k-1"}
    first = decide(agent, key, ai_system="ghost-bot")
    again = decide(agent, key, ai_system="ghost-bot")
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content


def test_an_unknown_system_is_refused_when_registration_is_required(agent, support_bot, settings):
    settings.LEXECON_REQUIRE_REGISTERED_AI_SYSTEM = True
    before = written()
    response = decide(agent, ai_system="ghost-bot")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "unknown_ai_system"
    assert error["details"] == {"ai_system": "ghost-bot"}
    assert "LEXECON_REQUIRE_REGISTERED_AI_SYSTEM" in error["message"]
    assert written() == before  # no decision, no ledger entry, no record, no escalation
    # A registered one still passes, and is not flagged.
    response = decide(agent, ai_system="support-bot")
    assert response.status_code == 200, response.content
    assert response.json()["warnings"] == []


def test_an_escalating_request_for_an_unknown_system_writes_nothing(agent, settings):
    settings.LEXECON_REQUIRE_REGISTERED_AI_SYSTEM = True
    from tests.escalations.conftest import REFUND

    before = written()
    response = agent.post("/decide", {**REFUND, "ai_system": "ghost-bot"}, format="json")
    assert response.status_code == 400
    assert written() == before


@pytest.mark.parametrize("status", ["suspended", "retired"])
def test_suspended_and_retired_systems_are_still_registered(agent, officer, settings, status):
    settings.LEXECON_REQUIRE_REGISTERED_AI_SYSTEM = True
    assert officer.post(URL, {**CV_SCREENING, "status": status}, format="json").status_code == 201
    response = decide(agent, ai_system="cv-screening")
    assert response.status_code == 200, response.content
    assert Decision.objects.get().ai_system_registered is True


def test_a_registration_in_this_process_is_seen_at_once(agent, officer, settings):
    settings.LEXECON_REQUIRE_REGISTERED_AI_SYSTEM = True
    assert decide(agent, ai_system="support-bot").status_code == 400  # the set is now cached
    assert officer.post(URL, SUPPORT_BOT, format="json").status_code == 201
    assert decide(agent, ai_system="support-bot").status_code == 200


def test_the_lookup_costs_no_query_while_cached(support_bot, django_assert_num_queries, settings):
    settings.LEXECON_AI_SYSTEM_CACHE_SECONDS = 60
    assert selectors.ai_system_is_registered("support-bot") is True  # loads the set: one query
    with django_assert_num_queries(0):
        assert selectors.ai_system_is_registered("support-bot") is True
        assert selectors.ai_system_is_registered("ghost-bot") is False


def _registered_elsewhere(system_id: str) -> None:
    """A row written by another process: this process's services did not see it."""
    from apps.aisystems.models import AISystem

    AISystem.objects.create(
        id=system_id,
        name="Elsewhere",
        version="1",
        role="deployer",
        intended_purpose="Registered through another worker.",
        risk_class="minimal",
        created_by="user:1",
        text_salt="00" * 16,
    )


def test_another_process_registration_is_seen_within_the_ttl(settings, monkeypatch):
    settings.LEXECON_AI_SYSTEM_CACHE_SECONDS = 2
    clock = [1000.0]
    monkeypatch.setattr(selectors.time, "monotonic", lambda: clock[0])
    assert selectors.ai_system_is_registered("elsewhere") is False
    _registered_elsewhere("elsewhere")
    assert selectors.ai_system_is_registered("elsewhere") is False  # cached for up to 2 s
    clock[0] += 2.5
    assert selectors.ai_system_is_registered("elsewhere") is True


def test_without_the_cache_every_lookup_reads_the_registry(settings):
    settings.LEXECON_AI_SYSTEM_CACHE_SECONDS = 0
    assert selectors.ai_system_is_registered("elsewhere") is False
    _registered_elsewhere("elsewhere")
    assert selectors.ai_system_is_registered("elsewhere") is True
