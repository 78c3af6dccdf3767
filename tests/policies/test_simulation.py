"""Policy simulation (ADR 0030): replay of stored decisions through a version.

The decisions are made through the real ``/decide`` pipeline (HTTP, the demo policy active), with
varied requests, caller hints (risk level, risk dimensions, a stricter mode) and contexts.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import pytest
from django.utils import timezone

from apps.accounts.principals import system_actor
from apps.decisions import simulation as replay
from apps.decisions.models import Decision, ResponsibilityRecord
from apps.escalations.models import Escalation
from apps.ledger import services as ledger
from apps.ledger.models import LedgerEntry
from apps.policies import services
from apps.policies.models import PolicySimulation
from apps.risk import scoring
from apps.tokens.models import RevokedToken

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
DEMO_DOCUMENT = json.loads((ROOT / "policies/examples/customer_service.json").read_text())

ACTORS = (
    "ai_agent:customer_service",
    "ai_agent:customer_service",
    "ai_agent:billing",
    "human:support_lead",
    "human:clerk",
)
ACTIONS = (
    "access_customer_data",
    "read_ticket",
    "update_ticket",
    "issue_refund",
    "delete_customer_data",
    "export_customer_data",
    "send_customer_email",
    "close_account",
    "unknown_action",
)
DATA_CLASSES = ("customer_pii", "payment_card", "ticket_history", "pii", "public", "credentials")
RESOURCES = (None, None, "crm/legal_hold/42", "crm/tickets/7", "crm/customers/3")


def varied_request(rng: random.Random) -> dict:
    """One /decide body: any actor and action, contexts that meet or miss the conditions, and
    sometimes the caller's hints."""
    body: dict = {"actor": rng.choice(ACTORS), "action": rng.choice(ACTIONS)}
    context: dict = {}
    if rng.random() < 0.6:
        context["purpose"] = rng.choice(["support_ticket", "quality_review", "marketing"])
    if rng.random() < 0.5:
        context["data_sensitivity"] = rng.choice(["low", "medium", "high", "critical"])
    if rng.random() < 0.5:
        context["amount"] = rng.choice([10, 499, 500, 501, 4999, 5001, 20000, "lots"])
        context["currency"] = rng.choice(["EUR", "USD", "JPY"])
    if rng.random() < 0.4:
        context["ticket_status"] = rng.choice(["open", "closed", "pending_customer"])
    if rng.random() < 0.3:
        context["template_approved"] = rng.choice([True, False, "yes"])
    body["context"] = context
    if rng.random() < 0.5:
        body["data_classes"] = rng.sample(DATA_CLASSES, rng.randint(1, 3))
    resource = rng.choice(RESOURCES)
    if resource:
        body["resource"] = resource
    if rng.random() < 0.25:
        body["risk_level"] = rng.randint(1, 5)
    if rng.random() < 0.2:
        dims = rng.sample(list(scoring.DIMENSIONS), rng.randint(1, 3))
        body["risk_dimensions"] = {name: rng.choice([0, 15, 55, 85, 100]) for name in dims}
    if rng.random() < 0.2:
        body["policy_mode"] = rng.choice(["strict", "paranoid"])
    return body


def seed(agent, count: int, *, seed_value: int) -> list[dict]:
    rng = random.Random(seed_value)
    answers = []
    for _ in range(count):
        response = agent.post("/decide", varied_request(rng), format="json")
        assert response.status_code == 200, response.content
        answers.append(response.json())
    return answers


def load(document: dict, *, activate: bool = False):
    return services.policy_load(
        document=document, actor=system_actor("test"), activate=activate
    ).version


def draft_forbidding(action: str) -> dict:
    """The demo policy plus one rule that forbids ``action`` to every AI agent."""
    document = copy.deepcopy(DEMO_DOCUMENT)
    document["version"] = "1.1.0-draft"
    document["relations"].append(
        {
            "id": f"draft-no-{action}",
            "type": "forbids",
            "subject": "actor:ai_agent:*",
            "action": f"action:{action}",
            "justification": f"Draft: AI agents may no longer {action}.",
        }
    )
    return document


def officer_actor() -> dict:
    return {"kind": "user", "id": "user:1", "label": "user:1", "role": "compliance_officer"}


def run(version, requested: int) -> PolicySimulation:
    simulation = services.simulation_request(
        version=version, requested=requested, actor=officer_actor()
    )
    return replay.simulation_run(simulation_id=simulation.pk)


def counts() -> dict[str, int]:
    return {
        "decisions": Decision.objects.count(),
        "records": ResponsibilityRecord.objects.count(),
        "escalations": Escalation.objects.count(),
        "revoked": RevokedToken.objects.count(),
        "ledger": LedgerEntry.objects.count(),
    }


# --- The property: the active version reproduces every original outcome -----------------------


def test_replaying_through_the_active_version_reproduces_every_outcome(agent):
    answers = seed(agent, 300, seed_value=19)
    outcomes = {a["outcome"] for a in answers}
    assert outcomes == {"allowed", "denied", "escalated"}  # the seed is varied enough
    active = load(DEMO_DOCUMENT)  # the same document: the active version
    done = run(active, 300)
    assert done.status == "done"
    assert done.result["replayed"] == 300
    assert done.result["flipped"] == 0, done.result["examples"]
    assert done.result["flips"] == {}
    # Not only the outcome: the replayed risk score is the stored one, decision by decision.
    replayer = replay.Replayer(active)
    for row in Decision.objects.values(*replay.FIELDS):
        again = replayer.replay(row)
        assert again.outcome == row["outcome"]
        assert again.risk_score == Decision.objects.get(pk=row["id"]).risk_score


def test_the_property_holds_for_a_permissive_policy_and_callers_asking_for_stricter_modes(agent):
    permissive = copy.deepcopy(DEMO_DOCUMENT)
    permissive["mode"] = "permissive"
    permissive["version"] = "1.0.0-permissive"
    version = load(permissive, activate=True)
    answers = seed(agent, 200, seed_value=2026)
    reasons = {r["rule_id"] for d in Decision.objects.all() for r in d.reasons[:1]}
    assert {"mode:strict", "mode:paranoid"} <= reasons  # callers did tighten the mode
    assert {a["outcome"] for a in answers} == {"allowed", "denied", "escalated"}
    done = run(version, 200)
    assert (done.result["replayed"], done.result["flipped"]) == (200, 0)


# --- A draft that forbids one action -------------------------------------------------------------


def test_a_draft_forbidding_one_action_flips_exactly_its_allowed_and_escalated_decisions(agent):
    seed(agent, 150, seed_value=7)
    for _ in range(3):  # certainly some allowed read_ticket decisions
        agent.post(
            "/decide",
            {"actor": "ai_agent:customer_service", "action": "read_ticket"},
            format="json",
        )
    draft = load(draft_forbidding("read_ticket"))
    expected = {}
    for decision in Decision.objects.filter(
        actor__startswith="ai_agent:", action="read_ticket"
    ).exclude(outcome="denied"):
        key = f"{decision.outcome}->denied"
        expected[key] = expected.get(key, 0) + 1
    before = counts()

    done = run(draft, 1000)

    assert done.result["flips"] == expected
    assert done.result["flipped"] == sum(expected.values()) >= 3
    assert done.result["replayed"] == Decision.objects.count()
    assert done.result["rules"][0]["rule_id"] == "draft-no-read_ticket"
    assert done.result["rules"][0]["flips"] == sum(expected.values())
    examples = done.result["examples"]["allowed->denied"]
    assert 1 <= len(examples) <= replay.EXAMPLES_PER_FLIP
    assert {e["action"] for e in examples} == {"read_ticket"}
    assert examples[0]["after_reasons"][0]["rule_id"] == "draft-no-read_ticket"
    # Exactly one ledger entry, the summary; no decision, record, escalation or token written.
    after = counts()
    assert after == {**before, "ledger": before["ledger"] + 1}
    entry = LedgerEntry.objects.get(seq=done.ledger_seq)
    assert entry.entry_type == "policy.simulated"
    payload = json.loads(entry.payload)
    assert payload["version_hash"] == draft.version_hash
    assert payload["requested"] == 1000
    assert payload["flipped"] == done.result["flipped"]
    assert payload["flips"] == expected
    assert payload["actor"] == officer_actor()
    assert payload["simulation_id"] == str(done.pk)


def test_only_the_last_n_decisions_are_replayed_newest_first(agent):
    for _ in range(4):
        agent.post("/decide", {"actor": "ai_agent:x", "action": "close_account"}, format="json")
    for _ in range(3):
        agent.post(
            "/decide",
            {"actor": "ai_agent:customer_service", "action": "read_ticket"},
            format="json",
        )
    done = run(load(draft_forbidding("read_ticket")), 3)
    assert done.total == 3
    assert done.result["replayed"] == 3
    assert done.result["flips"] == {"allowed->denied": 3}


def test_erased_contexts_are_counted_and_not_replayed(agent):
    seed(agent, 20, seed_value=3)
    erased = list(Decision.objects.order_by("ledger_seq").values_list("pk", flat=True)[:5])
    Decision.objects.filter(pk__in=erased).update(
        context=None, context_salt="", anonymised_at=timezone.now()
    )
    done = run(load(DEMO_DOCUMENT), 100)
    assert done.result["skipped_erased"] == 5
    assert done.result["replayed"] == 15
    assert done.result["flipped"] == 0
    payload = json.loads(LedgerEntry.objects.get(seq=done.ledger_seq).payload)
    assert (payload["replayed"], payload["skipped_erased"]) == (15, 5)


def test_a_run_already_done_is_not_run_or_ledgered_twice(agent):
    seed(agent, 5, seed_value=1)
    done = run(load(DEMO_DOCUMENT), 10)
    entries = LedgerEntry.objects.count()
    again = replay.simulation_run(simulation_id=done.pk)
    assert again.ledger_seq == done.ledger_seq
    assert LedgerEntry.objects.count() == entries


def test_a_failing_run_is_marked_failed_and_writes_no_ledger_entry(agent, monkeypatch):
    from apps.policies import tasks

    seed(agent, 3, seed_value=5)
    simulation = services.simulation_request(
        version=load(DEMO_DOCUMENT), requested=10, actor=officer_actor()
    )
    entries = LedgerEntry.objects.count()

    def broken(self, row):
        raise RuntimeError("replay broke")

    monkeypatch.setattr(replay.Replayer, "replay", broken)
    with pytest.raises(RuntimeError):
        tasks.policy_simulate(str(simulation.pk))
    simulation.refresh_from_db()
    assert simulation.status == "failed"
    assert "replay broke" in simulation.error
    assert LedgerEntry.objects.count() == entries


@pytest.mark.parametrize(
    ("requested", "_case"),
    [(0, "zero"), (100_001, "above the maximum"), (-5, "negative"), (True, "a boolean")],
)
def test_the_number_of_decisions_is_bounded(demo_policy, requested, _case):
    from apps.core.exceptions import InvalidInput

    with pytest.raises(InvalidInput):
        services.simulation_request(version=demo_policy, requested=requested, actor=officer_actor())
    assert PolicySimulation.objects.count() == 0


def test_the_activation_reason_is_kept_and_committed_on_the_ledger(demo_policy):
    draft = load(draft_forbidding("read_ticket"))
    activation = services.policy_activate(
        version=draft, actor=officer_actor(), reason="  Simulated: 3 flips, all intended.  "
    )
    assert activation.reason == "Simulated: 3 flips, all intended."
    payload = json.loads(LedgerEntry.objects.get(seq=activation.ledger_seq).payload)
    assert "Simulated" not in json.dumps(payload)
    assert ledger.commitment_matches(
        activation.reason, activation.reason_salt, payload["reason_commitment"]
    )
    assert not ledger.commitment_matches(
        "another reason", activation.reason_salt, payload["reason_commitment"]
    )
