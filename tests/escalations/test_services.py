"""Services: the state machine, assignment, resolution (tokens, four-eyes), SLA expiry, overrides,
stops and the responsibility records — each change with exactly one ledger entry, refusals with none."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from apps.accounts.principals import system_actor
from apps.core.exceptions import InvalidInput, NotFound, PermissionDeniedError
from apps.decisions import selectors as decision_selectors
from apps.decisions.models import ResponsibilityRecord
from apps.escalations import selectors, services
from apps.escalations.exceptions import (
    AlreadyAssigned,
    AlreadyEscalated,
    DuplicateApproval,
    EmergencyBypassUsed,
    InvalidTransition,
    NotEscalatable,
    NothingToOverride,
    SlaExpired,
)
from apps.escalations.models import Escalation, EscalationApproval, Override
from apps.ledger import selectors as ledger_selectors
from apps.ledger.models import LedgerEntry
from apps.ledger.services import commitment_matches
from apps.tokens import services as tokens
from apps.tokens.models import RevokedToken
from tests.conftest import DEMO
from tests.escalations.conftest import JUSTIFICATION, NOTE, decide, snapshot

pytestmark = pytest.mark.django_db


def last_entry(entry_type: str) -> dict:
    entry = LedgerEntry.objects.filter(entry_type=entry_type).order_by("-seq").first()
    assert entry is not None, entry_type
    return json.loads(entry.payload)


# --- State machine ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "target", "allowed"),
    [
        ("pending", "acknowledged", True),
        ("pending", "expired", True),
        ("pending", "resolved", False),
        ("acknowledged", "resolved", True),
        ("acknowledged", "expired", True),
        ("acknowledged", "pending", False),
        ("resolved", "acknowledged", False),
        ("resolved", "expired", False),
        ("expired", "resolved", False),
        ("expired", "acknowledged", False),
    ],
)
def test_transition_table(start, target, allowed):
    escalation = Escalation(status=start)
    if allowed:
        services.escalation_transition(escalation=escalation, to_status=target)
        assert escalation.status == target
    else:
        with pytest.raises(InvalidTransition) as error:
            services.escalation_transition(escalation=escalation, to_status=target)
        assert error.value.status == 409
        assert escalation.status == start


def test_sla_per_priority(settings):
    assert services.sla_for("critical") == timedelta(hours=2)
    assert services.sla_for("high") == timedelta(hours=8)
    assert services.sla_for("medium") == timedelta(hours=24)
    assert services.sla_for("low") == timedelta(hours=72)
    settings.LEXECON_SLA_HOURS = {**settings.LEXECON_SLA_HOURS, "low": 5}
    assert services.sla_for("low") == timedelta(hours=5)


# --- Assignment -------------------------------------------------------------------------------


def test_assign_grants_object_permissions_writes_entry_and_mails(
    escalated, officer, reviewer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assignment = services.escalation_assign(
            escalation_id=escalated.escalation.pk, user=officer, reviewer_username="rita"
        )
    escalation = escalated.escalation
    assert reviewer.has_perm("escalations.view_escalation", escalation)
    assert reviewer.has_perm("escalations.review_escalation", escalation)
    assert assignment.assigned_by == officer
    payload = last_entry("escalation.assigned")
    assert payload["reviewer"] == f"user:{reviewer.pk}"
    assert payload["actor"] == {
        "kind": "user",
        "id": f"user:{officer.pk}",
        "label": f"user:{officer.pk}",
        "role": "compliance_officer",
    }
    assert assignment.ledger_seq == LedgerEntry.objects.get(entry_type="escalation.assigned").seq
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["rita@example.org"]
    assert "assigned to you" in mail.outbox[0].subject
    assert str(escalation.pk) in mail.outbox[0].body
    assert "5000" not in mail.outbox[0].body  # no request context in mails


def test_reviewer_cannot_assign_and_nothing_is_written(escalated, reviewer):
    before = snapshot()
    with pytest.raises(PermissionDeniedError):
        services.escalation_assign(
            escalation_id=escalated.escalation.pk, user=reviewer, reviewer_username="rita"
        )
    assert snapshot() == before


def test_assign_twice_is_409_and_auditor_is_not_assignable(assigned, officer, staff):
    staff("audrey", "auditor")
    before = snapshot()
    with pytest.raises(AlreadyAssigned):
        services.escalation_assign(
            escalation_id=assigned.escalation.pk, user=officer, reviewer_username="rita"
        )
    with pytest.raises(InvalidInput):
        services.escalation_assign(
            escalation_id=assigned.escalation.pk, user=officer, reviewer_username="audrey"
        )
    assert snapshot() == before


# --- Acknowledge and resolve ------------------------------------------------------------------


def test_acknowledge_then_approve_mints_token_bound_to_the_action(assigned, reviewer):
    escalation = services.escalation_acknowledge(
        escalation_id=assigned.escalation.pk, user=reviewer
    )
    assert escalation.status == "acknowledged"
    assert escalation.acknowledged_by == reviewer
    assert last_entry("escalation.acknowledged")["before"] == "pending"
    before = LedgerEntry.objects.count()
    result = services.escalation_resolve(
        escalation_id=escalation.pk, user=reviewer, resolution="approved", note=NOTE
    )
    assert result.resolved is True
    assert LedgerEntry.objects.count() == before + 1
    escalation.refresh_from_db()
    assert (escalation.status, escalation.resolution) == ("resolved", "approved")
    assert escalation.resolution_note == NOTE
    payload = last_entry("escalation.resolved")
    assert payload["resolution"] == "approved"
    assert payload["token_jti"] == escalation.token_jti
    assert NOTE not in json.dumps(payload)
    assert commitment_matches(NOTE, escalation.note_salt, payload["note_commitment"])
    decision = assigned.decision
    exact = tokens.token_verify(
        token=escalation.capability_token,
        actor=decision.actor,
        action=decision.action,
        resource=decision.resource,
        check_action=True,
    )
    assert exact.valid, exact
    changed = tokens.token_verify(
        token=escalation.capability_token,
        actor=decision.actor,
        action="delete_customer_data",
        resource=decision.resource,
        check_action=True,
    )
    assert (changed.valid, changed.reason) == (False, "action_mismatch")
    record = ResponsibilityRecord.objects.get(escalation=escalation)
    assert (record.level, record.human_decision, record.user) == (
        "supervised",
        "approved",
        reviewer,
    )
    assert ledger_selectors.ledger_verify()["valid"] is True


def test_deny_resolves_without_token(assigned, reviewer):
    services.escalation_acknowledge(escalation_id=assigned.escalation.pk, user=reviewer)
    services.escalation_resolve(
        escalation_id=assigned.escalation.pk, user=reviewer, resolution="denied", note=NOTE
    )
    escalation = Escalation.objects.get(pk=assigned.escalation.pk)
    assert (escalation.status, escalation.resolution, escalation.capability_token) == (
        "resolved",
        "denied",
        None,
    )
    assert selectors.decision_effective_state(escalation.decision)["outcome"] == "denied"


def test_resolving_a_pending_escalation_is_409_and_writes_nothing(assigned, reviewer):
    before = snapshot()
    with pytest.raises(InvalidTransition):
        services.escalation_resolve(
            escalation_id=assigned.escalation.pk, user=reviewer, resolution="approved", note=NOTE
        )
    assert snapshot() == before


def test_second_resolution_is_409_sequentially(assigned, reviewer, officer, caplog):
    services.escalation_acknowledge(escalation_id=assigned.escalation.pk, user=reviewer)
    services.escalation_resolve(
        escalation_id=assigned.escalation.pk, user=reviewer, resolution="approved", note=NOTE
    )
    before = snapshot()
    with pytest.raises(InvalidTransition) as error:
        services.escalation_resolve(
            escalation_id=assigned.escalation.pk, user=officer, resolution="denied", note=NOTE
        )
    assert error.value.status == 409
    assert snapshot() == before
    assert LedgerEntry.objects.filter(entry_type="escalation.resolved").count() == 1
    # T26: the losing attempt writes nothing to the ledger but is still audited in the log.
    refused = [r for r in caplog.records if r.getMessage() == "oversight action refused"]
    assert [(r.action, r.actor, r.code) for r in refused] == [
        ("resolve", f"user:{officer.pk}", "invalid_transition")
    ]


@pytest.mark.parametrize(
    ("note_case", "note"), [("empty", ""), ("short", "ok fine"), ("spaces", " " * 30)]
)
def test_resolution_needs_a_written_note(assigned, reviewer, note_case, note):
    services.escalation_acknowledge(escalation_id=assigned.escalation.pk, user=reviewer)
    before = snapshot()
    with pytest.raises(InvalidInput):
        services.escalation_resolve(
            escalation_id=assigned.escalation.pk, user=reviewer, resolution="approved", note=note
        )
    assert snapshot() == before


def test_unassigned_reviewer_and_auditor_cannot_act(escalated, staff):
    stranger = staff("sam", "reviewer")
    auditor = staff("audrey", "auditor")
    before = snapshot()
    with pytest.raises(NotFound):
        services.escalation_acknowledge(escalation_id=escalated.escalation.pk, user=stranger)
    with pytest.raises(PermissionDeniedError):
        services.escalation_acknowledge(escalation_id=escalated.escalation.pk, user=auditor)
    assert snapshot() == before


# --- Four eyes --------------------------------------------------------------------------------


def test_four_eyes_needs_two_distinct_approvers(critical, officer, staff):
    second = staff("adam", "admin")
    escalation_id = critical.escalation.pk
    assert critical.escalation.priority == "critical"
    services.escalation_acknowledge(escalation_id=escalation_id, user=officer)
    first = services.escalation_resolve(
        escalation_id=escalation_id, user=officer, resolution="approved", note=NOTE
    )
    assert (first.resolved, first.approvals, first.approvals_required) == (False, 1, 2)
    escalation = Escalation.objects.get(pk=escalation_id)
    assert (escalation.status, escalation.capability_token) == ("acknowledged", None)
    assert last_entry("escalation.approval_recorded")["approvals"] == 1
    before = snapshot()
    with pytest.raises(DuplicateApproval):
        services.escalation_resolve(
            escalation_id=escalation_id, user=officer, resolution="approved", note=NOTE
        )
    assert snapshot() == before
    final = services.escalation_resolve(
        escalation_id=escalation_id, user=second, resolution="approved", note=NOTE + " (2nd)"
    )
    assert (final.resolved, final.approvals) == (True, 2)
    escalation.refresh_from_db()
    assert (escalation.status, escalation.resolution) == ("resolved", "approved")
    assert escalation.capability_token
    payload = last_entry("escalation.resolved")
    assert payload["approvers"] == [f"user:{officer.pk}", f"user:{second.pk}"]
    assert EscalationApproval.objects.filter(escalation=escalation).count() == 2
    levels = list(
        ResponsibilityRecord.objects.filter(escalation=escalation).values_list("level", flat=True)
    )
    assert levels == ["shared", "shared"]


def test_four_eyes_deny_by_anyone_resolves(critical, officer):
    services.escalation_acknowledge(escalation_id=critical.escalation.pk, user=officer)
    result = services.escalation_resolve(
        escalation_id=critical.escalation.pk, user=officer, resolution="denied", note=NOTE
    )
    assert result.resolved is True
    assert Escalation.objects.get(pk=critical.escalation.pk).resolution == "denied"


def test_four_eyes_priorities_come_from_settings(escalated, officer, settings):
    settings.LEXECON_FOUR_EYES_PRIORITIES = ("medium",)
    assert selectors.approvals_required(escalated.escalation) == 2
    settings.LEXECON_FOUR_EYES_PRIORITIES = ""
    assert selectors.approvals_required(escalated.escalation) == 1


# --- SLA --------------------------------------------------------------------------------------


def test_sla_warning_once_then_expiry_fails_closed(
    assigned, reviewer, django_capture_on_commit_callbacks
):
    escalation = assigned.escalation
    start = escalation.created_at
    sla = escalation.sla_deadline - start
    mail.outbox.clear()
    with time_machine.travel(start + sla * 0.5, tick=False):
        assert services.escalation_check_sla() == {"expired": 0, "warned": 0}
    with (
        time_machine.travel(start + sla * 0.8, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert services.escalation_check_sla() == {"expired": 0, "warned": 1}
        assert services.escalation_check_sla() == {"expired": 0, "warned": 0}
    assert [m.subject.split(":")[0] for m in mail.outbox] == ["[Lexecon] SLA warning"]
    assert mail.outbox[0].to == ["rita@example.org"]
    before = LedgerEntry.objects.count()
    with (
        time_machine.travel(escalation.sla_deadline + timedelta(seconds=1), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        with pytest.raises(SlaExpired):
            services.escalation_acknowledge(escalation_id=escalation.pk, user=reviewer)
        assert LedgerEntry.objects.count() == before
        assert services.escalation_check_sla() == {"expired": 1, "warned": 0}
        assert services.escalation_check_sla() == {"expired": 0, "warned": 0}
    escalation.refresh_from_db()
    assert (escalation.status, escalation.resolution) == ("expired", "denied")
    assert LedgerEntry.objects.count() == before + 1
    payload = last_entry("escalation.expired")
    assert (payload["outcome"], payload["actor"]["id"]) == ("denied", "system:sla")
    assert selectors.decision_effective_state(escalation.decision)["outcome"] == "denied"
    assert "expired" in mail.outbox[-1].subject
    record = ResponsibilityRecord.objects.get(escalation=escalation)
    assert (record.kind, record.level, record.actor_id) == ("expiry", "automated", "system:sla")


def test_expiry_after_first_four_eyes_approval_still_denies(critical, officer):
    services.escalation_acknowledge(escalation_id=critical.escalation.pk, user=officer)
    services.escalation_resolve(
        escalation_id=critical.escalation.pk, user=officer, resolution="approved", note=NOTE
    )
    with time_machine.travel(critical.escalation.sla_deadline + timedelta(minutes=1)):
        assert services.escalation_check_sla()["expired"] == 1
    escalation = Escalation.objects.get(pk=critical.escalation.pk)
    assert (escalation.status, escalation.resolution, escalation.capability_token) == (
        "expired",
        "denied",
        None,
    )
    assert last_entry("escalation.expired")["approvals_recorded"] == 1


def test_warning_goes_to_officers_when_nobody_is_assigned(
    escalated, officer, django_capture_on_commit_callbacks
):
    escalation = escalated.escalation
    moment = escalation.created_at + (escalation.sla_deadline - escalation.created_at) * 0.9
    with (
        time_machine.travel(moment, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert services.escalation_check_sla()["warned"] == 1
    assert [m.to for m in mail.outbox] == [["olivia@example.org"]]


# --- Second-look escalations ------------------------------------------------------------------


def test_escalating_an_allowed_decision_suspends_it(agent):
    answer = decide(agent, DEMO)
    decision = Escalation._meta.get_field("decision").related_model.objects.get(
        pk=answer["decision_id"]
    )
    escalation = services.escalation_create(
        decision=decision,
        reason="The customer says they never asked for this.",
        actor={"kind": "user", "id": "user:1", "label": "user:1", "role": "reviewer"},
    )
    assert escalation.priority == decision.risk_level  # no priority given: the risk level
    sla = escalation.sla_deadline - escalation.created_at
    assert abs(sla - services.sla_for(decision.risk_level)) < timedelta(seconds=1)
    assert escalation.created_ledger_seq == last_entry_seq("escalation.created")
    _names_the_escalation(last_entry("escalation.created"), escalation)
    assert RevokedToken.objects.filter(jti=decision.token_jti).exists()
    state = selectors.decision_effective_state(decision)
    assert (state["outcome"], state["status"], state["capability_token"]) == (
        "escalated",
        "awaiting_human",
        None,
    )
    before = snapshot()
    with pytest.raises(AlreadyEscalated):
        services.escalation_create(
            decision=decision, reason="again, please look", actor=system_actor("test")
        )
    assert snapshot() == before


def last_entry_seq(entry_type: str) -> int:
    return LedgerEntry.objects.filter(entry_type=entry_type).order_by("-seq").first().seq


def test_denied_decisions_are_not_escalatable(agent):
    answer = decide(agent, {**DEMO, "action": "delete_customer_data"})
    assert answer["outcome"] == "denied"
    decision = Escalation._meta.get_field("decision").related_model.objects.get(
        pk=answer["decision_id"]
    )
    before = snapshot()
    with pytest.raises(NotEscalatable):
        services.escalation_create(
            decision=decision, reason="please reconsider", actor=system_actor("test")
        )
    assert snapshot() == before


# --- Overrides --------------------------------------------------------------------------------


def test_override_to_allow_appends_and_mints_token(escalated, officer):
    decision = escalated.decision
    override = services.override_execute(
        decision=decision,
        user=officer,
        override_type="risk_accepted",
        justification=JUSTIFICATION,
    )
    decision.refresh_from_db()
    assert decision.outcome == "escalated"  # never edited
    payload = last_entry("override.executed")
    assert (payload["override_type"], payload["outcome"], payload["previous_outcome"]) == (
        "risk_accepted",
        "allowed",
        "escalated",
    )
    assert JUSTIFICATION not in json.dumps(payload)
    state = selectors.decision_effective_state(decision)
    assert (state["outcome"], state["status"]) == ("allowed", "overridden")
    assert state["capability_token"] == override.capability_token
    check = tokens.token_verify(
        token=override.capability_token,
        actor=decision.actor,
        action=decision.action,
        resource=decision.resource,
        check_action=True,
    )
    assert check.valid
    record = ResponsibilityRecord.objects.get(override=override)
    assert (record.level, record.human_decision) == ("full", "allowed (risk_accepted)")


def test_emergency_bypass_is_one_time(escalated, officer):
    services.override_execute(
        decision=escalated.decision,
        user=officer,
        override_type="emergency_bypass",
        justification=JUSTIFICATION,
        expires_at=timezone.now() + timedelta(minutes=1),
    )
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        before = snapshot()
        with pytest.raises(EmergencyBypassUsed):
            services.override_execute(
                decision=escalated.decision,
                user=officer,
                override_type="emergency_bypass",
                justification=JUSTIFICATION,
            )
        assert snapshot() == before


def test_time_limited_exception_expires(escalated, officer):
    until = timezone.now() + timedelta(minutes=30)
    override = services.override_execute(
        decision=escalated.decision,
        user=officer,
        override_type="time_limited_exception",
        justification=JUSTIFICATION,
        expires_at=until,
    )
    assert override.token_expires_at <= int(until.timestamp())
    assert selectors.decision_effective_state(escalated.decision)["outcome"] == "allowed"
    with time_machine.travel(until + timedelta(seconds=1)):
        state = selectors.decision_effective_state(escalated.decision)
        assert (state["outcome"], state["status"]) == ("escalated", "awaiting_human")


def test_executive_override_to_deny_revokes_tokens(agent, officer):
    answer = decide(agent, DEMO)
    decision = Escalation._meta.get_field("decision").related_model.objects.get(
        pk=answer["decision_id"]
    )
    services.override_execute(
        decision=decision,
        user=officer,
        override_type="executive_override",
        outcome="denied",
        justification=JUSTIFICATION,
    )
    assert RevokedToken.objects.filter(jti=decision.token_jti).exists()
    state = selectors.decision_effective_state(decision)
    assert (state["outcome"], state["capability_token"]) == ("denied", None)


@pytest.mark.parametrize(
    ("case", "kwargs", "error"),
    [
        ("short_justification", {"justification": "too short"}, InvalidInput),
        ("unknown_type", {"override_type": "because"}, InvalidInput),
        ("permissive_type_denies", {"outcome": "denied"}, InvalidInput),
        ("time_limited_needs_expiry", {"override_type": "time_limited_exception"}, InvalidInput),
        ("expiry_in_past", {"expires_at": "past"}, InvalidInput),
    ],
)
def test_override_rules(escalated, officer, case, kwargs, error):
    arguments = {
        "decision": escalated.decision,
        "user": officer,
        "override_type": "risk_accepted",
        "justification": JUSTIFICATION,
        **kwargs,
    }
    if arguments.get("expires_at") == "past":
        arguments["expires_at"] = timezone.now() - timedelta(minutes=1)
    before = snapshot()
    with pytest.raises(error):
        services.override_execute(**arguments)
    assert snapshot() == before


def test_override_needs_the_permission_and_a_change(agent, reviewer, officer):
    answer = decide(agent, DEMO)
    decision = Escalation._meta.get_field("decision").related_model.objects.get(
        pk=answer["decision_id"]
    )
    before = snapshot()
    with pytest.raises(PermissionDeniedError):
        services.override_execute(
            decision=decision,
            user=reviewer,
            override_type="risk_accepted",
            justification=JUSTIFICATION,
        )
    with pytest.raises(NothingToOverride):
        services.override_execute(
            decision=decision,
            user=officer,
            override_type="risk_accepted",
            justification=JUSTIFICATION,
        )
    assert snapshot() == before
    assert Override.objects.count() == 0


# --- Stop -------------------------------------------------------------------------------------


def test_stop_revokes_all_outstanding_tokens_of_the_agent(agent, escalated, officer):
    allowed = [decide(agent, DEMO) for _ in range(2)]
    override = services.override_execute(
        decision=escalated.decision,
        user=officer,
        override_type="risk_accepted",
        justification=JUSTIFICATION,
    )
    stop = services.agent_stop(
        decision=escalated.decision, user=officer, reason="Agent misbehaves; halt it now."
    )
    expected = {a["capability_token"] for a in allowed}
    jtis = set(stop.revoked_jtis)
    assert len(jtis) == 3
    assert override.token_jti in jtis
    for token in expected | {override.capability_token}:
        assert tokens.token_verify(token=token).reason == "revoked"
    assert LedgerEntry.objects.filter(entry_type="token.revoked").count() == 3
    payload = last_entry("agent.stopped")
    assert sorted(payload["revoked_jtis"]) == sorted(jtis)
    assert "halt" not in json.dumps(payload)
    seqs = decision_selectors.decision_ledger_seqs(decision=escalated.decision)
    assert stop.ledger_seq in seqs
    assert escalated.decision.ledger_seq in seqs
    assert override.ledger_seq in seqs


def test_reviewer_cannot_stop_an_agent_they_do_not_oversee(escalated, staff):
    stranger = staff("sam", "reviewer")
    before = snapshot()
    with pytest.raises(NotFound):
        services.agent_stop(decision=escalated.decision, user=stranger, reason="stop it please")
    assert snapshot() == before


# --- Responsibility ---------------------------------------------------------------------------


def test_responsibility_chain_order(assigned, reviewer, officer):
    services.escalation_acknowledge(escalation_id=assigned.escalation.pk, user=reviewer)
    services.escalation_resolve(
        escalation_id=assigned.escalation.pk, user=reviewer, resolution="denied", note=NOTE
    )
    services.override_execute(
        decision=assigned.decision,
        user=officer,
        override_type="executive_override",
        justification=JUSTIFICATION,
    )
    chain = decision_selectors.responsibility_chain(decision=assigned.decision)
    assert [(c["level"], c["human_decision"]) for c in chain] == [
        ("automated", None),
        ("supervised", "denied"),
        ("full", "allowed (executive_override)"),
    ]
    assert chain[0]["ai_recommendation"] == "escalated"
    assert chain[1]["who"] == "rita"
    assert chain[1]["why"] == NOTE
    assert [c["ledger_seq"] for c in chain] == sorted(c["ledger_seq"] for c in chain)


# --- What every escalation entry names -------------------------------------------------------


def _names_the_escalation(payload: dict, escalation: Escalation) -> None:
    assert payload["escalation_id"] == str(escalation.pk)
    assert payload["decision_id"] == str(escalation.decision_id)
    assert payload["subject"] == {"type": "escalation", "id": str(escalation.pk)}


def test_every_lifecycle_entry_names_escalation_decision_and_subject(assigned, reviewer):
    escalation = services.escalation_acknowledge(
        escalation_id=assigned.escalation.pk, user=reviewer
    )
    services.escalation_resolve(
        escalation_id=escalation.pk, user=reviewer, resolution="approved", note=NOTE
    )
    for kind in (
        "escalation.assigned",
        "escalation.acknowledged",
        "escalation.resolved",
    ):
        _names_the_escalation(last_entry(kind), escalation)


def test_approval_entry_names_escalation_decision_and_subject(critical, officer):
    services.escalation_acknowledge(escalation_id=critical.escalation.pk, user=officer)
    services.escalation_resolve(
        escalation_id=critical.escalation.pk, user=officer, resolution="approved", note=NOTE
    )
    _names_the_escalation(last_entry("escalation.approval_recorded"), critical.escalation)


def test_expiry_entry_names_escalation_decision_and_subject(escalated):
    escalation = escalated.escalation
    services.escalation_expire(
        escalation_id=escalation.pk, now=escalation.sla_deadline + timedelta(seconds=1)
    )
    _names_the_escalation(last_entry("escalation.expired"), escalation)
