"""Contract: every ledger append site writes exactly what its entry type declares.

The scenario drives every governance change through the real services (policy load and activation,
allowed/denied/escalated decisions, a later escalation, assignment, acknowledgement, a four-eyes
approval, resolutions, an SLA expiry, overrides, a token revocation, a stop, a key rotation, an
unconfirmed answer, evidence registered, linked and expired, an attestation, an AI system's
registration and change, the Annex IV documentation, the EU AI Act monitoring entries, a serious
incident's life, and record-keeping: a legal hold placed and released, a retention sweep). While it
runs, every ``ledger_append`` call is traced back to the line that made it; the test then requires
that every call site in ``apps/`` was exercised, that every version-2 payload validates against its
type, and that each decision, resolution, override and stop has its responsibility record beside
the entry.
"""

from __future__ import annotations

import ast
import json
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from apps.decisions import delivery
from apps.decisions.models import Decision, ResponsibilityRecord
from apps.escalations import services as oversight
from apps.escalations.models import Escalation
from apps.ledger import events
from apps.ledger import services as ledger
from apps.ledger.entry_types import EntryType
from apps.ledger.models import LedgerEntry
from apps.ledger.services import append
from tests.escalations.conftest import CRITICAL, JUSTIFICATION, NOTE, REFUND, decide

ROOT = Path(__file__).resolve().parents[2]


def _append_sites() -> set[tuple[str, int]]:
    """Every ``ledger_append(`` call in the application code, as (path, line)."""
    sites = set()
    for path in (ROOT / "apps").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", None))
                if name == "ledger_append":
                    sites.add((str(path.relative_to(ROOT)), node.lineno))
    return sites


@pytest.fixture
def traced_sites(monkeypatch):
    """Record the call site of every append (the frame that called ``ledger_append``)."""
    seen: set[tuple[str, int]] = set()
    original = ledger.ledger_append

    def tracing(**kwargs):
        caller = sys._getframe(1)
        path = Path(caller.f_code.co_filename).resolve()
        if ROOT in path.parents:
            # A multi-line call reports the line of its first argument; find the call's own line.
            seen.add((str(path.relative_to(ROOT)), caller.f_lineno))
        return original(**kwargs)

    # Other apps call the package's name, the ledger's own services the append module's.
    monkeypatch.setattr(ledger, "ledger_append", tracing)
    monkeypatch.setattr(append, "ledger_append", tracing)
    return seen


def _call_line(path: str, line: int) -> int:
    """The line of the ``ledger_append(`` call that spans ``line``."""
    tree = ast.parse((ROOT / path).read_text())
    best = None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", None))
            if name == "ledger_append" and node.lineno <= line <= (node.end_lineno or line):
                best = node.lineno
    return best if best is not None else line


def test_every_append_site_writes_its_declared_shape(traced_sites, agent, staff):
    officer = staff("olga", "compliance_officer")
    reviewer = staff("rita", "reviewer")
    second = staff("ravi", "reviewer")
    admin = staff("ada", "admin")

    allowed = decide(agent, {"actor": "ai_agent:customer_service", "action": "read_ticket"})
    denied = decide(agent, {"actor": "ai_agent:customer_service", "action": "delete_customer_data"})
    assert (allowed["outcome"], denied["outcome"]) == ("allowed", "denied")

    # A later escalation of an allowed decision (its token revoked), assigned, acknowledged, approved.
    later = oversight.escalation_create(
        decision=Decision.objects.get(pk=allowed["decision_id"]),
        reason="please take a second look at this one",
        actor={"kind": "user", "id": f"user:{officer.pk}", "label": f"user:{officer.pk}"},
    )
    oversight.escalation_assign(escalation_id=later.pk, user=officer, reviewer_username="rita")
    oversight.escalation_acknowledge(escalation_id=later.pk, user=reviewer)
    oversight.escalation_resolve(
        escalation_id=later.pk, user=reviewer, resolution="approved", note=NOTE
    )

    # A critical escalation under four eyes: first approval recorded, second resolves.
    critical = decide(agent, CRITICAL)
    for user in (reviewer, second):
        oversight.escalation_assign(
            escalation_id=critical["escalation_id"], user=officer, reviewer_username=user.username
        )
    oversight.escalation_acknowledge(escalation_id=critical["escalation_id"], user=reviewer)
    for user in (reviewer, second):
        oversight.escalation_resolve(
            escalation_id=critical["escalation_id"], user=user, resolution="approved", note=NOTE
        )

    # One escalation expires; one is overridden; the agent is stopped.
    refund = decide(agent, REFUND)
    oversight.escalation_expire(
        escalation_id=refund["escalation_id"], now=timezone.now() + timedelta(days=30)
    )
    overridden = decide(agent, REFUND)
    override = oversight.override_execute(
        decision=Decision.objects.get(pk=overridden["decision_id"]),
        user=officer,
        override_type="risk_accepted",
        justification=JUSTIFICATION,
    )
    oversight.override_execute(
        decision=override.decision,
        user=admin,
        override_type="executive_override",
        outcome="denied",
        justification=JUSTIFICATION,
    )
    fresh = decide(agent, {"actor": "ai_agent:customer_service", "action": "read_ticket"})
    oversight.agent_stop(
        decision=Decision.objects.get(pk=fresh["decision_id"]),
        user=officer,
        reason="the agent misbehaves in production",
    )
    holder = decide(agent, {"actor": "ai_agent:customer_service", "action": "read_ticket"})
    revoke = agent.post(
        "/tokens/revoke",
        {"capability_token": holder["capability_token"], "reason": "rotating credentials"},
        format="json",
    )
    assert revoke.status_code == 200, revoke.content
    ledger.signing_keys_rotate(purposes=("token",))

    # Evidence: registered with links, then linked to another decision and to a control...
    from django.core.files.base import ContentFile

    from apps.evidence import services as evidence

    principal = Decision.objects.get(pk=allowed["decision_id"])
    artifact = evidence.evidence_register(
        principal=officer,
        artifact_type="policy_snapshot",
        title="policy as applied",
        content=ContentFile(b"policy bytes"),
        media_type="text/plain",
        decision_ids=[principal.pk],
        control_ids=["soc2:CC6.1"],
    )
    evidence.evidence_link_decision(
        principal=officer, artifact_id=artifact.pk, decision_id=denied["decision_id"]
    )
    evidence.evidence_link_control(
        principal=officer, artifact_id=artifact.pk, framework="iso27001", control_id="A.8.15"
    )
    # ... and expired when its retention ends.
    expiry = evidence.evidence_expire_due(now=artifact.retention_until + timedelta(seconds=1))
    assert expiry.expired == 1
    assert delivery.settle(uuid.UUID(allowed["decision_id"]), 0, delivery.Cause.NOT_SENT)

    # Compliance: an officer attests a control, citing the artifact.
    from apps.compliance import services as compliance

    compliance.catalogs_load()
    compliance.attestation_create(
        user=officer,
        control=compliance.control_resolve(compliance.framework_resolve("iso27001"), "A.5.1"),
        justification="Information security policy approved by the board in November.",
        evidence_ids=[str(artifact.pk)],
    )

    # The AI system registry: a registration and a change.
    from apps.aisystems import services as registry

    registry.ai_system_register(
        principal=officer,
        system_id="support-bot",
        name="Support bot",
        version="1.0",
        role="deployer",
        intended_purpose="Answers customer questions about orders.",
        risk_class="limited",
        owner=officer,
    )
    registry.ai_system_update(
        principal=officer, system_id="support-bot", changes={"status": "active", "owner": None}
    )

    # Technical documentation (apps.techdoc): a narrative version, then a generated document
    # (its artifact is registered through evidence, then techdoc.generated names it).
    from apps.techdoc import services as techdoc

    techdoc.narrative_save(
        user=officer, system_id="support-bot", field="design_choices", text="Rules first."
    )
    techdoc.documentation_generate(principal=officer, system_id="support-bot", fmt="json")
    # EU AI Act monitoring (apps.monitoring): an Art. 14 intervention; an Art. 72 plan created and
    # changed, its drift alert fired by the periodic check and cleared by the next, the plan deleted.
    from datetime import UTC, datetime, time

    from apps.monitoring import services as monitoring

    monitoring.intervention_record(
        user=officer,
        decision_id=allowed["decision_id"],
        intervention_type="manual_review",
        human_decision="denied",
        reason="the ticket belongs to another customer",
        response_time_ms=4000,
    )
    plan = monitoring.pmm_plan_create(
        principal=officer,
        ai_system_id="support-bot",
        owner=officer,
        metrics=[{"metric": "decisions", "threshold": 0, "direction": "up"}],
        description="Daily look at the volume.",
    )
    monitoring.pmm_plan_update(principal=officer, plan_id=plan.pk, changes={"window_days": 1})
    decide(
        agent,
        {"actor": "ai_agent:customer_service", "action": "read_ticket", "ai_system": "support-bot"},
    )
    tomorrow = timezone.now().astimezone(UTC).date() + timedelta(days=1)
    assert monitoring.pmm_check(now=datetime.combine(tomorrow, time(1), tzinfo=UTC)).fired == 1
    later = datetime.combine(tomorrow + timedelta(days=1), time(1), tzinfo=UTC)
    assert monitoring.pmm_check(now=later).cleared == 1
    monitoring.pmm_plan_delete(principal=officer, plan_id=plan.pk)
    # Serious incidents (apps.incidents): opened late (its 2-day clock already overdue), the
    # clock check warns, a report is generated and sent, the GDPR notification is recorded, and
    # a suggested incident (the agent stop above) is dismissed.
    from apps.escalations.models import AgentStop
    from apps.incidents import services as incidents

    incident = incidents.incident_open(
        principal=officer,
        ai_system_id="support-bot",
        category="widespread_or_critical_infrastructure",
        aware_at=timezone.now() - timedelta(days=3),
        description="The support bot disclosed other customers' orders for an afternoon.",
        personal_data_involved=True,
        decision_ids=[denied["decision_id"]],
    )
    assert incidents.incident_check_clocks()["warned"] == 2
    incidents.incident_report_generate(principal=officer, incident_id=incident.pk, kind="initial")
    incidents.incident_update(
        principal=officer,
        incident_id=incident.pk,
        status="initial_report_sent",
        gdpr_notified=True,
    )
    incidents.suggestion_dismiss(
        principal=officer,
        key=f"agent_stop:{AgentStop.objects.get().pk}",
        reason="A drill of the stop button, announced beforehand.",
    )
    # Record-keeping (apps.retention): a legal hold placed, a retention sweep run as of a date
    # when everything has expired, and the hold released.
    from apps.retention import services as retention

    hold = retention.legal_hold_place(
        user=officer,
        scope=retention.HoldScope(scope="decision_ids", decision_ids=(denied["decision_id"],)),
        reason="Litigation hold for the denied request",
        requested_by="Legal department, case 17",
    )
    sweep = retention.retention_sweep(as_of=timezone.now() + timedelta(days=4000))
    assert sweep.decisions_anonymised > 0
    assert sweep.decisions_held == 1
    retention.legal_hold_release(user=officer, hold_id=hold.pk, reason="The case was settled.")

    # A policy simulation (ADR 0030): its one summary entry, by the officer who asked for it.
    from apps.accounts.principals import actor_of
    from apps.decisions import simulation as policy_simulation
    from apps.policies import services as policy_services
    from apps.policies.models import PolicyVersion

    draft = PolicyVersion.objects.get()
    simulated = policy_simulation.simulation_run(
        simulation_id=policy_services.simulation_request(
            version=draft, requested=1000, actor=actor_of(officer)
        ).pk
    )
    assert simulated.status == "done"

    # Every append site in apps/ ran (the ones a test fixture reaches count too).
    exercised = {(path, _call_line(path, line)) for path, line in traced_sites}
    assert _append_sites() - exercised == set()

    # Every entry after genesis is a version-2 payload of its declared shape.
    written = set()
    for entry in LedgerEntry.objects.exclude(entry_type=EntryType.GENESIS).order_by("seq"):
        payload = json.loads(entry.payload)
        assert payload["v"] == 2, entry.entry_type
        events.validate_payload(entry.entry_type, payload, allow_test=False)
        assert payload["actor"]["kind"] in {"agent", "user", "system"}
        written.add(entry.entry_type)
    declared = set(events.REGISTRY) - {EntryType.TEST_EVENT, EntryType.EXPORT_CREATED}
    assert written == declared

    # A responsibility record beside each entry that settles a decision, with that entry's seq.
    settling = {
        EntryType.DECISION_MADE: "decision",
        EntryType.ESCALATION_APPROVAL_RECORDED: "approval",
        EntryType.ESCALATION_RESOLVED: "resolution",
        EntryType.ESCALATION_EXPIRED: "expiry",
        EntryType.OVERRIDE_EXECUTED: "override",
        EntryType.AGENT_STOPPED: "stop",
        EntryType.INTERVENTION_RECORDED: "intervention",
    }
    for entry in LedgerEntry.objects.filter(entry_type__in=settling):
        record = ResponsibilityRecord.objects.get(ledger_seq=entry.seq)
        payload = json.loads(entry.payload)
        assert record.kind == settling[entry.entry_type]
        assert str(record.decision_id) == payload["decision_id"]
        assert (record.actor_kind, record.actor_id) == (
            payload["actor"]["kind"],
            payload["actor"]["id"],
        )
    assert (
        ResponsibilityRecord.objects.count()
        == LedgerEntry.objects.filter(entry_type__in=settling).count()
    )
    assert Escalation.objects.count() == 4


def test_people_are_pseudonyms_and_unknown_shapes_are_refused(db):
    person = {"kind": "user", "id": "user:7", "label": "Alice Example", "role": "reviewer"}
    payload = {
        **events.envelope(actor=person, subject_type="token", subject_id="j1"),
        "jti": "j1",
    }
    before = LedgerEntry.objects.count()
    for bad in (
        payload,  # a name in clear
        {**payload, "actor": {**person, "label": "user:7"}, "jti": 7},  # a number for a string
        {**payload, "actor": {**person, "label": "user:7"}, "extra": "x"},  # an undeclared key
        {**payload, "actor": {**person, "label": "user:7"}, "v": 1},  # an old envelope
        {"jti": "j1", "actor_label": "user:7"},  # the pre-contract shape
    ):
        with pytest.raises(events.InvalidInput):
            ledger.ledger_append(entry_type="token.revoked", payload=bad)
    assert LedgerEntry.objects.count() == before


def test_version_one_payloads_read_in_the_envelope():
    old = {"jti": "j1", "reason": "gone", "actor_label": "user:3"}
    lifted = events.read_event("token.revoked", old)
    assert lifted["actor"] == {"kind": "user", "id": "user:3", "label": "user:3", "role": None}
    assert lifted["subject"] == {"type": "token", "id": "j1"}
    assert lifted["v"] == 1
    decided = events.read_event(
        "decision.made", {"decision_id": "d1", "agent_key": "ab12", "actor_kind": "agent"}
    )
    assert decided["actor"]["kind"] == "agent"
    assert decided["subject"] == {"type": "decision", "id": "d1"}


def test_a_version_one_decision_without_agent_key_is_not_given_a_made_up_agent():
    lifted = events.read_event("decision.made", {"decision_id": "d2", "actor_kind": "agent"})
    assert lifted["actor"]["id"] == "system:unknown"
