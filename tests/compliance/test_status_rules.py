"""Control status is computed from live data: each rule flips when the facts under it change.

Every test builds the facts, reads the status through the API or the selectors, changes one fact
(a staff user without OTP appears, a checkpoint ages, an SLA is breached, an attestation expires)
and reads it again. Nothing in between touches a compliance table: there is no status to update.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from apps.compliance import selectors, services
from apps.compliance.models import Attestation, Control, Framework
from apps.compliance.rules import RuleContext
from apps.escalations.models import Escalation
from apps.ledger import services as ledger_services
from apps.ledger.models import VerificationRun
from tests.escalations.conftest import REFUND, escalate_via_decide

ACCESS_CONTROLS = [
    ("soc2", "CC6.1"),
    ("iso27001", "A.5.15"),
    ("iso27001", "A.8.5"),
    ("hipaa", "164.312(d)"),
    ("pci_dss", "8.4"),
]
LOGGING_CONTROLS = [("iso27001", "A.8.15"), ("pci_dss", "10.2"), ("eu_ai_act", "Art.12")]
OVERSIGHT_CONTROLS = [("eu_ai_act", "Art.14"), ("soc2", "CC5.2")]


def status_of(framework: str, control_id: str, *, now=None) -> str:
    control = Control.objects.get(framework_id=framework, control_id=control_id)
    (assessment,) = selectors.Assessor(RuleContext(now)).assess([control])
    return assessment.status


def statuses(pairs, **kwargs) -> set[str]:
    return {status_of(f, c, **kwargs) for f, c in pairs}


def test_no_status_is_stored(catalogs):
    """The tables hold the catalog, never a status: no model of the app has a status column
    except the attestation's own claim."""
    for model in (Framework, Control):
        assert "status" not in {f.name for f in model._meta.fields}
    assert {f.name for f in Attestation._meta.fields} >= {"status", "expires_at", "ledger_seq"}


@pytest.mark.parametrize(("framework", "control_id"), ACCESS_CONTROLS)
def test_access_controls_rule_is_named_in_the_catalog(catalogs, framework, control_id):
    assert Control.objects.get(framework_id=framework, control_id=control_id).rule == "staff_mfa"


def test_access_controls_go_non_compliant_while_a_staff_user_lacks_otp(catalogs, make_user):
    make_user("olga", "compliance_officer")
    assert statuses(ACCESS_CONTROLS) == {"implemented"}

    newcomer = make_user("nick", "reviewer", totp=False)
    assert statuses(ACCESS_CONTROLS) == {"non_compliant"}
    control = Control.objects.get(framework_id="soc2", control_id="CC6.1")
    (assessment,) = selectors.Assessor().assess([control])
    assert f"user:{newcomer.pk}" in assessment.facts["users"]

    newcomer.is_active = False  # deactivating the user closes the gap as well as enrolling
    newcomer.save(update_fields=["is_active"])
    assert statuses(ACCESS_CONTROLS) == {"implemented"}


def test_an_unconfirmed_device_does_not_count(catalogs, make_user):
    user = make_user("olga", "compliance_officer")
    user.totpdevice_set.update(confirmed=False)
    assert statuses(ACCESS_CONTROLS) == {"non_compliant"}


def test_logging_controls_need_a_recent_valid_verification_and_fresh_checkpoints(
    catalogs, agent, settings
):
    settings.LEXECON_COMPLIANCE_VERIFY_MAX_AGE_HOURS = 24
    settings.LEXECON_COMPLIANCE_CHECKPOINT_MAX_AGE_MINUTES = 30
    # Entries exist (the demo policy's load and activation), never verified.
    assert statuses(LOGGING_CONTROLS) == {"partially_implemented"}

    ledger_services.ledger_checkpoint_create()
    run, report = ledger_services.ledger_verify_recorded(trigger="test")
    assert run.valid
    assert report["valid"]
    assert statuses(LOGGING_CONTROLS) == {"implemented"}

    # A new entry waits for its checkpoint: fine for 30 minutes, then the checkpoint has aged.
    response = agent.post("/decide", REFUND, format="json")
    assert response.status_code == 200
    soon = timezone.now() + timedelta(minutes=10)
    later = timezone.now() + timedelta(minutes=45)
    assert statuses(LOGGING_CONTROLS, now=soon) == {"implemented"}
    assert statuses(LOGGING_CONTROLS, now=later) == {"partially_implemented"}
    ledger_services.ledger_checkpoint_create()
    assert statuses(LOGGING_CONTROLS, now=later) == {"implemented"}

    # The verification itself ages out after 24 hours.
    assert statuses(LOGGING_CONTROLS, now=timezone.now() + timedelta(hours=25)) == {
        "partially_implemented"
    }


def test_a_failed_verification_makes_logging_controls_non_compliant(catalogs, agent):
    ledger_services.ledger_checkpoint_create()
    ledger_services.ledger_verify_recorded(trigger="test")
    assert statuses(LOGGING_CONTROLS) == {"implemented"}
    now = timezone.now()
    VerificationRun.objects.create(
        started_at=now,
        finished_at=now,
        valid=False,
        entries_checked=3,
        error_code="hash_mismatch",
        first_invalid_seq=2,
        trigger="test",
    )
    assert statuses(LOGGING_CONTROLS) == {"non_compliant"}


def test_oversight_controls_go_partial_when_an_escalation_breaches_its_sla(catalogs, agent):
    escalated = escalate_via_decide(agent, REFUND)
    assert statuses(OVERSIGHT_CONTROLS) == {"implemented"}  # pending, deadline ahead
    deadline = escalated.escalation.sla_deadline
    with time_machine.travel(deadline + timedelta(minutes=1), tick=False):
        assert statuses(OVERSIGHT_CONTROLS) == {"partially_implemented"}
        control = Control.objects.get(framework_id="eu_ai_act", control_id="Art.14")
        (assessment,) = selectors.Assessor().assess([control])
        assert assessment.facts["breached"] == 1
    # Outside the window the breach no longer counts.
    with time_machine.travel(deadline + timedelta(days=31), tick=False):
        assert statuses(OVERSIGHT_CONTROLS) == {"implemented"}


def test_an_escalation_resolved_in_time_is_no_breach(catalogs, agent, staff):
    from apps.escalations import services as oversight

    escalated = escalate_via_decide(agent, REFUND)
    reviewer = staff("olga", "compliance_officer")
    oversight.escalation_acknowledge(escalation_id=escalated.escalation.pk, user=reviewer)
    oversight.escalation_resolve(
        escalation_id=escalated.escalation.pk,
        user=reviewer,
        resolution="approved",
        note="Checked the invoice and the customer history; fine.",
    )
    assert Escalation.objects.get(pk=escalated.escalation.pk).resolved_at is not None
    with time_machine.travel(escalated.escalation.sla_deadline + timedelta(hours=1), tick=False):
        assert statuses(OVERSIGHT_CONTROLS) == {"implemented"}


def test_default_deny_follows_the_active_policy_mode(catalogs, demo_policy):
    from apps.policies import selectors as policy_selectors

    control = Control.objects.filter(rule="default_deny").first()
    assert control is not None, "some control must carry the default_deny rule"
    assert status_of(control.framework_id, control.control_id) == "implemented"
    active = policy_selectors.active_version()
    assert active.mode in ("strict", "paranoid")


def test_controls_without_a_rule_need_a_valid_attestation(catalogs, make_user):
    officer = make_user("olga", "compliance_officer")
    control = Control.objects.filter(framework_id="iso27001", assessable=True, rule="").first()
    assert status_of("iso27001", control.control_id) == "not_implemented"

    expires = timezone.now() + timedelta(days=30)
    services.attestation_create(
        user=officer,
        control=control,
        justification="Reviewed the access policy document v3 with the CISO on 1 Dec.",
        expires_at=expires,
    )
    assert status_of("iso27001", control.control_id) == "implemented"
    assert status_of("iso27001", control.control_id, now=expires + timedelta(seconds=1)) == (
        "not_implemented"
    )


def test_a_newer_partial_attestation_supersedes_an_older_one(catalogs, make_user):
    officer = make_user("olga", "compliance_officer")
    control = Control.objects.filter(framework_id="gdpr", assessable=True, rule="").first()
    services.attestation_create(
        user=officer,
        control=control,
        justification="Records of processing complete for all AI systems.",
    )
    with time_machine.travel(timezone.now() + timedelta(minutes=5), tick=False):
        services.attestation_create(
            user=officer,
            control=control,
            justification="Two new AI systems are not yet in the records of processing.",
            status="partially_implemented",
        )
        assert status_of("gdpr", control.control_id) == "partially_implemented"


def test_statuses_are_computed_without_touching_the_decisions_table(
    catalogs, agent, django_assert_max_num_queries
):
    """Statistics read the catalog, the tally and the rule facts: a bounded number of queries,
    none of them on decisions_decision (the tally read the decisions once, when it caught up)."""
    for _ in range(3):
        assert agent.post("/decide", REFUND, format="json").status_code == 200
    services.tally_catch_up()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        selectors.statistics()
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "decisions_decision" not in sql
    assert len(queries.captured_queries) < 60


def test_the_ai_system_inventory_needs_registered_systems_and_no_unknown_ones(
    catalogs, agent, make_user
):
    from apps.aisystems import services as registry

    assert status_of("nist_csf", "ID.AM-02") == "not_implemented"
    officer = make_user("olga", "compliance_officer")
    registry.ai_system_register(
        principal=officer,
        system_id="support-bot",
        name="Support bot",
        version="1.0",
        role="deployer",
        intended_purpose="Answers customer questions about their orders.",
        risk_class="limited",
    )
    assert status_of("nist_csf", "ID.AM-02") == "implemented"

    answer = agent.post("/decide", {**REFUND, "ai_system": "shadow-bot"}, format="json").json()
    assert answer["warnings"]
    services.tally_catch_up()
    assert status_of("nist_csf", "ID.AM-02") == "partially_implemented"
    later = timezone.now() + timedelta(days=32)
    assert status_of("nist_csf", "ID.AM-02", now=later) == "implemented"
