"""The retention sweep: what it erases and what it keeps, legal holds, evidence through seam 2,
idempotence, a run killed half-way and rerun, the time budget, the command and the task."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.decisions.models import Decision, ResponsibilityRecord
from apps.escalations import services as oversight
from apps.escalations.models import AgentStop, Escalation, EscalationApproval, Override
from apps.evidence import services as evidence
from apps.evidence.models import EvidenceArtifact
from apps.ledger import services as ledger
from apps.ledger.models import LedgerEntry
from apps.ledger.selectors import ledger_verify
from apps.retention import daycounts, services
from apps.retention.models import RetentionRun
from tests.escalations.conftest import CRITICAL, JUSTIFICATION, NOTE, REFUND
from tests.retention.conftest import (
    FAR_FUTURE,
    completed_runs,
    decide,
    later,
    live_contexts,
    register,
    sweep_entries,
)

pytestmark = pytest.mark.django_db

ESCALATION_REASON = "The customer asked us to double-check this on the phone."
STOP_REASON = "The agent kept retrying with the customer's card."


@pytest.fixture
def people(staff):
    return {
        "officer": staff("olga", "compliance_officer"),
        "reviewer": staff("rita", "reviewer"),
        "second": staff("ravi", "reviewer"),
    }


@pytest.fixture
def evidence_dir(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "evidence": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "evidence")},
        },
    }
    return tmp_path / "evidence"


def hold(officer, **scope):
    return services.legal_hold_place(
        user=officer,
        scope=services.HoldScope(**scope),
        reason="Kept for the pending proceedings.",
        requested_by="Legal department",
    )


def sweep(days: float, **kwargs) -> services.SweepResult:
    return services.retention_sweep(as_of=later(days), **kwargs)


def with_oversight(agent, people) -> Decision:
    """An escalated decision a reviewer resolved, then overridden, stopped, and escalated again
    by a person: every kind of text people write about a decision."""
    officer, reviewer = people["officer"], people["reviewer"]
    answer = decide(agent, **REFUND)
    escalation = Escalation.objects.get(pk=answer["escalation_id"])
    oversight.escalation_assign(escalation_id=escalation.pk, user=officer, reviewer_username="rita")
    oversight.escalation_acknowledge(escalation_id=escalation.pk, user=reviewer)
    oversight.escalation_resolve(
        escalation_id=escalation.pk, user=reviewer, resolution="approved", note=NOTE
    )
    decision = escalation.decision
    oversight.override_execute(
        decision=decision,
        user=officer,
        override_type="executive_override",
        outcome="denied",
        justification=JUSTIFICATION,
    )
    oversight.agent_stop(decision=decision, user=officer, reason=STOP_REASON)
    return decision


def texts_of(decision: Decision) -> list[str]:
    """Every human text and salt still stored about ``decision``."""
    values: list[str] = []
    for escalation in Escalation.objects.filter(decision=decision):
        if escalation.reason != decision.reason:  # the engine's copy of the decision's reason stays
            values += [escalation.reason, escalation.reason_salt]
        values += [escalation.resolution_note, escalation.note_salt]
    for approval in EscalationApproval.objects.filter(escalation__decision=decision):
        values += [approval.note, approval.note_salt]
    for override in Override.objects.filter(decision=decision):
        values += [override.justification, override.justification_salt]
    for stop in AgentStop.objects.filter(decision=decision):
        values += [stop.reason, stop.reason_salt]
    for record in (
        ResponsibilityRecord.objects.filter(decision=decision)
        .exclude(kind="decision")
        .exclude(actor_kind="system")
    ):
        values.append(record.reason)
    return [value for value in values if value]


# --- What is erased, what stays ---------------------------------------------------------------------


def test_each_class_is_anonymised_when_its_period_ends(agent, people):
    register(people["officer"], "cv-screening", "high", annex_iii_point="4(a)")
    gdpr = decide(agent, data_classes=["pii"])
    standard = decide(agent)
    high = decide(agent, ai_system="cv-screening")
    contexts = {
        key: Decision.objects.get(pk=answer["decision_id"]).context
        for key, answer in (("gdpr", gdpr), ("standard", standard), ("high", high))
    }
    entries = {
        answer["decision_id"]: LedgerEntry.objects.get(seq=answer["ledger_entry_id"]).payload
        for answer in (gdpr, standard, high)
    }

    def state(answer):
        row = Decision.objects.get(pk=answer["decision_id"])
        return row.context, row.context_salt, row.anonymised_at is not None

    first = sweep(91)
    assert first.anonymised == {"high_risk": 0, "standard": 0, "gdpr_intersect": 1}
    assert state(gdpr) == (None, "", True)
    assert state(standard)[0] == contexts["standard"]
    assert state(high)[0] == contexts["high"]

    second = sweep(181)
    assert second.anonymised == {"high_risk": 0, "standard": 1, "gdpr_intersect": 0}
    assert state(standard) == (None, "", True)
    assert state(high)[0] == contexts["high"]

    third = sweep(3651)
    assert third.anonymised == {"high_risk": 1, "standard": 0, "gdpr_intersect": 0}
    assert state(high) == (None, "", True)

    # One entry per completed run, each with its counts; the decisions' own entries unchanged.
    payloads = sweep_entries()
    assert [p["decisions_anonymised"] for p in payloads] == [
        first.anonymised,
        second.anonymised,
        third.anonymised,
    ]
    assert [p["run_id"] for p in payloads] == [first.run_id, second.run_id, third.run_id]
    for decision_id, payload in entries.items():
        row = Decision.objects.get(pk=decision_id)
        assert LedgerEntry.objects.get(seq=row.ledger_seq).payload == payload
        assert json.loads(payload)["context_commitment"] == row.context_commitment
    assert ledger_verify()["valid"] is True
    detail = agent.get(f"/decisions/{gdpr['decision_id']}").json()
    assert detail["anonymised_at"] is not None


def test_a_shorter_configured_period_is_applied_to_existing_decisions(agent, settings):
    """Class lengths are settings read at sweep time."""
    answer = decide(agent)
    assert sweep(100).decisions_anonymised == 0
    settings.LEXECON_RETENTION_DAYS = {"high_risk": 3650, "standard": 99, "gdpr_intersect": 90}
    assert sweep(100).decisions_anonymised == 1
    assert Decision.objects.get(pk=answer["decision_id"]).context is None


def test_the_words_people_wrote_are_erased_with_the_context(agent, people):
    decision = with_oversight(agent, people)
    kept = decide(agent)  # a decision made and left alone: nothing about it changes
    oversight.escalation_create(
        decision=Decision.objects.get(pk=kept["decision_id"]),
        reason=ESCALATION_REASON,
        actor={
            "kind": "user",
            "id": f"user:{people['officer'].pk}",
            "label": f"user:{people['officer'].pk}",
        },
    )
    assert {NOTE, JUSTIFICATION, STOP_REASON} <= set(texts_of(decision))
    engine_reason = Decision.objects.get(pk=decision.pk).reason
    held_open = hold(people["officer"], scope="decision_ids", decision_ids=(kept["decision_id"],))

    result = sweep(FAR_FUTURE.days)
    assert result.decisions_held == 1
    assert texts_of(decision) == []
    assert result.texts_erased >= 5
    row = Decision.objects.get(pk=decision.pk)
    assert (row.context, row.context_salt) == (None, "")
    # What the engine wrote stays (it is not a person's): the decision's reason, its record.
    assert row.reason == engine_reason
    automated = ResponsibilityRecord.objects.get(decision=decision, kind="decision")
    assert automated.reason == engine_reason
    assert Escalation.objects.get(decision=decision).reason == engine_reason[:500]
    # The held decision keeps everything, its human escalation reason included.
    assert ESCALATION_REASON in texts_of(Decision.objects.get(pk=kept["decision_id"]))
    assert Decision.objects.get(pk=kept["decision_id"]).context is not None
    services.legal_hold_release(
        user=people["officer"], hold_id=held_open.pk, reason="Proceedings over."
    )
    assert sweep(FAR_FUTURE.days).decisions_anonymised == 1
    assert texts_of(Decision.objects.get(pk=kept["decision_id"])) == []
    assert ledger_verify()["valid"] is True


def test_words_written_after_anonymisation_are_erased_by_the_next_run(agent, people):
    answer = decide(agent)
    sweep(FAR_FUTURE.days)
    decision = Decision.objects.get(pk=answer["decision_id"])
    assert decision.anonymised_at is not None
    oversight.override_execute(
        decision=decision,
        user=people["officer"],
        override_type="executive_override",
        outcome="denied",
        justification=JUSTIFICATION,
    )
    assert JUSTIFICATION in texts_of(decision)
    result = sweep(FAR_FUTURE.days)
    assert result.decisions_anonymised == 0
    assert result.texts_erased == 2  # the override and its responsibility record
    assert texts_of(decision) == []


# --- Legal holds ------------------------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["decision_ids", "actor", "ai_system", "time_range"])
def test_a_held_decision_keeps_its_context(agent, people, scope):
    officer = people["officer"]
    target = decide(agent, ai_system="claims-bot", actor="ai_agent:claims")
    other = decide(agent)
    row = Decision.objects.get(pk=target["decision_id"])
    fields = {
        "decision_ids": {"decision_ids": (target["decision_id"],)},
        "actor": {"actor": "ai_agent:claims"},
        "ai_system": {"ai_system": "claims-bot"},
        "time_range": {
            "period_from": row.created_at - timedelta(microseconds=1),
            "period_to": row.created_at + timedelta(microseconds=1),
        },
    }[scope]
    placed = hold(officer, scope=scope, **fields)
    context = row.context

    result = sweep(FAR_FUTURE.days)
    assert result.decisions_held == 1
    assert Decision.objects.get(pk=target["decision_id"]).context == context
    assert Decision.objects.get(pk=other["decision_id"]).context is None
    # Released, it goes the way of the others at the next run.
    services.legal_hold_release(user=officer, hold_id=placed.pk, reason="The matter is closed.")
    assert sweep(FAR_FUTURE.days).anonymised["standard"] == 1
    assert Decision.objects.get(pk=target["decision_id"]).context is None


def test_a_period_bounds_an_ai_system_hold(agent, people):
    first = decide(agent, ai_system="claims-bot")
    cut = timezone.now()
    second = decide(agent, ai_system="claims-bot")
    hold(people["officer"], scope="ai_system", ai_system="claims-bot", period_from=cut)
    sweep(FAR_FUTURE.days)
    assert Decision.objects.get(pk=first["decision_id"]).context is None
    assert Decision.objects.get(pk=second["decision_id"]).context is not None


def test_a_hold_placed_during_a_run_is_respected_by_its_next_batch(agent, people):
    answers = [decide(agent, actor=f"ai_agent:n{i}") for i in range(6)]
    last = answers[-1]["decision_id"]
    placed = []

    def after_batch(partial):
        if not placed:
            placed.append(hold(people["officer"], scope="decision_ids", decision_ids=(last,)))

    result = sweep(FAR_FUTURE.days, batch_size=2, progress=after_batch)
    assert result.decisions_anonymised == 5
    assert result.decisions_held == 1
    assert Decision.objects.get(pk=last).context is not None


# --- Evidence (seam 2) -----------------------------------------------------------------------------


def test_evidence_past_retention_is_expired_unless_held(agent, people, evidence_dir):
    officer = people["officer"]
    held_decision = decide(agent)
    free_decision = decide(agent)

    def artifact(content: bytes, decision_ids=(), metadata=None) -> EvidenceArtifact:
        return evidence.evidence_register(
            principal=officer,
            artifact_type="screenshot",
            title="screen",
            content=ContentFile(content),
            media_type="image/png",
            decision_ids=decision_ids,
            metadata=metadata,
        )

    held_by_link = artifact(b"one", [held_decision["decision_id"]])
    held_by_system = artifact(b"two", metadata={"ai_system": "claims-bot"})
    free = artifact(b"three", [free_decision["decision_id"]])
    hold(officer, scope="decision_ids", decision_ids=(held_decision["decision_id"],))
    hold(officer, scope="ai_system", ai_system="claims-bot")
    assert evidence.legal_hold_applies(held_by_link) is True
    assert evidence.legal_hold_applies(held_by_system) is True
    assert evidence.legal_hold_applies(free) is False

    result = sweep(FAR_FUTURE.days)
    assert (result.artifacts_expired, result.artifacts_held) == (1, 2)
    assert result.artifact_contents_deleted == 1
    assert EvidenceArtifact.objects.get(pk=free.pk).expired_at is not None
    for kept in (held_by_link, held_by_system):
        assert EvidenceArtifact.objects.get(pk=kept.pk).expired_at is None
        assert (evidence_dir / kept.content_name).exists()
    assert not (evidence_dir / free.content_name).exists()
    # The evidence task on its own asks the same holds.
    assert evidence.evidence_expire_due(now=later(FAR_FUTURE.days)).held == 2


def test_a_time_range_hold_keeps_evidence_registered_in_it(people, evidence_dir):
    officer = people["officer"]
    start = timezone.now()
    artifact = evidence.evidence_register(
        principal=officer,
        artifact_type="audit_trail",
        title="trail",
        content=ContentFile(b"trail"),
        media_type="text/plain",
    )
    hold(officer, scope="time_range", period_from=start, period_to=timezone.now())
    assert sweep(FAR_FUTURE.days).artifacts_held == 1
    assert EvidenceArtifact.objects.get(pk=artifact.pk).expired_at is None


# --- Idempotent, resumable, bounded -----------------------------------------------------------------


def test_a_second_run_finds_nothing_and_is_its_own_entry(agent):
    for _ in range(3):
        decide(agent)
    first = sweep(FAR_FUTURE.days)
    snapshot = list(Decision.objects.order_by("pk").values_list("pk", "anonymised_at"))
    second = sweep(FAR_FUTURE.days)
    assert (first.decisions_anonymised, second.decisions_anonymised) == (3, 0)
    assert list(Decision.objects.order_by("pk").values_list("pk", "anonymised_at")) == snapshot
    assert len(sweep_entries()) == completed_runs() == 2


def test_a_run_killed_half_way_is_finished_by_the_next(agent, monkeypatch):
    """The process dies inside its third batch: two batches are committed, the third rolls back,
    no entry is written. The rerun marks it interrupted, does the rest, and its one entry
    reports both; the end state is that of one uninterrupted run."""
    answers = [decide(agent) for _ in range(9)]
    due = {a["decision_id"] for a in answers}
    real = daycounts.add_anonymised
    calls = {"n": 0}

    def dies_in_third_batch(retention_class, created):
        calls["n"] += 1
        if calls["n"] == 3:  # after the batch's UPDATE, before its commit
            raise KeyboardInterrupt("killed")
        return real(retention_class, created)

    monkeypatch.setattr(daycounts, "add_anonymised", dies_in_third_batch)
    with pytest.raises(KeyboardInterrupt):
        sweep(FAR_FUTURE.days, batch_size=2)
    killed = RetentionRun.objects.get()
    assert killed.status == "running"
    assert killed.ledger_seq is None
    assert killed.anonymised["standard"] == 4 == live_contexts_gone()
    assert sweep_entries() == []

    monkeypatch.setattr(daycounts, "add_anonymised", real)
    rerun = sweep(FAR_FUTURE.days, batch_size=2)
    assert rerun.anonymised["standard"] == 5
    killed.refresh_from_db()
    assert killed.status == "interrupted"
    assert rerun.resumed == [
        {"run_id": str(killed.pk), "decisions_anonymised": 4, "artifacts_expired": 0}
    ]
    (payload,) = sweep_entries()
    assert payload["run_id"] == rerun.run_id
    assert payload["resumed"] == rerun.resumed
    assert {
        str(pk)
        for pk in Decision.objects.filter(anonymised_at__isnull=False).values_list("pk", flat=True)
    } == due
    assert live_contexts() == 0
    assert ledger_verify()["valid"] is True


def live_contexts_gone() -> int:
    return Decision.objects.filter(anonymised_at__isnull=False).count()


def test_a_time_budget_completes_the_run_and_leaves_the_rest(agent, monkeypatch):
    for _ in range(4):
        decide(agent)
    clock = [0.0]
    monkeypatch.setattr(services.time, "monotonic", lambda: clock[0])

    def three_seconds_per_batch(partial):
        clock[0] += 3

    bounded = sweep(FAR_FUTURE.days, batch_size=1, max_seconds=5, progress=three_seconds_per_batch)
    assert bounded.time_limited is True
    assert bounded.decisions_anonymised == 2
    assert sweep_entries()[-1]["time_limited"] is True
    assert RetentionRun.objects.get(pk=bounded.run_id).time_limited is True
    monkeypatch.undo()
    rest = sweep(FAR_FUTURE.days)
    assert (rest.decisions_anonymised, rest.time_limited) == (2, False)


# --- Command and task -------------------------------------------------------------------------------


def test_dry_run_reports_and_writes_nothing(agent, people):
    decide(agent, data_classes=["pii"])
    decide(agent)
    kept = decide(agent)
    hold(people["officer"], scope="decision_ids", decision_ids=(kept["decision_id"],))
    before = (LedgerEntry.objects.count(), RetentionRun.objects.count(), live_contexts())
    out = StringIO()
    as_of = (timezone.now() + timedelta(days=100)).date().isoformat()
    call_command("retention_sweep", "--dry-run", "--as-of", as_of, "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["dry_run"] is True
    assert report["decisions_anonymised"] == {"high_risk": 0, "standard": 0, "gdpr_intersect": 1}
    call_command(
        "retention_sweep",
        "--dry-run",
        "--as-of",
        "2040-01-01",
        "--json",
        stdout=(out := StringIO()),
    )
    report = json.loads(out.getvalue())
    assert report["decisions_anonymised"]["standard"] == 1
    assert report["decisions_held"] == 1
    assert (LedgerEntry.objects.count(), RetentionRun.objects.count(), live_contexts()) == before


def test_the_command_sweeps_and_says_what_it_did(agent):
    decide(agent)
    out = StringIO()
    call_command("retention_sweep", "--as-of", "2040-01-01T00:00:00Z", stdout=out)
    text = out.getvalue()
    assert "Anonymised 1 decision(s)" in text
    (payload,) = sweep_entries()
    assert payload["actor"]["id"] == "system:cli"
    assert payload["as_of"] == "2040-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("_case", "args", "message"),
    [
        ("bad date", ["--as-of", "tomorrow"], "neither YYYY-MM-DD"),
        ("naive time", ["--as-of", "2040-01-01T00:00:00"], "offset"),
        ("zero batch", ["--batch-size", "0"], "at least 1"),
    ],
)
def test_the_command_refuses_bad_arguments(db, _case, args, message):
    before = RetentionRun.objects.count()
    with pytest.raises(CommandError, match=message):
        call_command("retention_sweep", *args, stdout=StringIO())
    assert RetentionRun.objects.count() == before


def test_production_settings_refuse_as_of_without_dry_run(agent, settings):
    settings.LEXECON_RETENTION_AS_OF_WRITES = False
    decide(agent)
    before = (LedgerEntry.objects.count(), live_contexts())
    with pytest.raises(CommandError, match="--dry-run"):
        call_command("retention_sweep", "--as-of", "2040-01-01", stdout=StringIO())
    assert (LedgerEntry.objects.count(), live_contexts()) == before
    out = StringIO()
    call_command("retention_sweep", "--as-of", "2040-01-01", "--dry-run", "--json", stdout=out)
    assert json.loads(out.getvalue())["decisions_anonymised"]["standard"] == 1


def test_the_task_is_registered_and_scheduled_daily(agent, settings):
    from celery import current_app

    entry = settings.CELERY_BEAT_SCHEDULE["compliance-retention-sweep"]
    assert (entry["task"], entry["schedule"]) == ("compliance.retention_sweep", 86400.0)
    decide(agent)
    result = current_app.tasks["compliance.retention_sweep"].apply().get()
    assert result["decisions_anonymised"] == {"high_risk": 0, "standard": 0, "gdpr_intersect": 0}
    (payload,) = sweep_entries()
    assert payload["actor"]["id"] == "system:retention_sweep"
    assert ledger.commitment_matches is not None


def test_an_escalated_critical_decision_is_handled_like_any_other(agent, people):
    """A four-eyes approval note is a person's text too."""
    answer = decide(agent, **CRITICAL)
    escalation = Escalation.objects.get(pk=answer["escalation_id"])
    for user in (people["reviewer"], people["second"]):
        oversight.escalation_assign(
            escalation_id=escalation.pk, user=people["officer"], reviewer_username=user.username
        )
    oversight.escalation_acknowledge(escalation_id=escalation.pk, user=people["reviewer"])
    oversight.escalation_resolve(
        escalation_id=escalation.pk, user=people["reviewer"], resolution="approved", note=NOTE
    )
    assert EscalationApproval.objects.filter(escalation=escalation).exclude(note="").exists()
    sweep(FAR_FUTURE.days)
    assert texts_of(escalation.decision) == []


# --- Words kept by apps above retention (registered erasers) -----------------------------------

INTERVENTION_REASON = "The nurse set the suggestion aside after calling the patient back."


def intervene(officer, decision_id) -> None:
    from apps.monitoring import services as monitoring

    monitoring.intervention_record(
        user=officer,
        decision_id=decision_id,
        intervention_type="manual_review",
        human_decision="denied",
        reason=INTERVENTION_REASON,
    )


def intervention_reasons(decision_id) -> list[tuple[str, str]]:
    from apps.monitoring.models import Intervention

    return list(
        Intervention.objects.filter(decision_id=decision_id).values_list("reason", "reason_salt")
    )


def test_an_intervention_reason_is_erased_with_the_context_unless_held(agent, people):
    officer = people["officer"]
    erased, held = decide(agent), decide(agent)
    intervene(officer, erased["decision_id"])
    intervene(officer, held["decision_id"])
    hold(officer, scope="decision_ids", decision_ids=(held["decision_id"],))

    result = sweep(FAR_FUTURE.days)
    assert result.decisions_anonymised == 1
    assert intervention_reasons(erased["decision_id"]) == [("", "")]
    # The intervention's responsibility record is blanked too; the held one keeps both.
    assert INTERVENTION_REASON not in texts_of(Decision.objects.get(pk=erased["decision_id"]))
    [(reason, salt)] = intervention_reasons(held["decision_id"])
    assert reason == INTERVENTION_REASON
    assert len(salt) == 32
    assert ledger_verify()["valid"] is True


def test_an_intervention_recorded_after_anonymisation_is_erased_by_the_next_run(agent, people):
    answer = decide(agent)
    assert sweep(FAR_FUTURE.days).decisions_anonymised == 1
    intervene(people["officer"], answer["decision_id"])
    assert intervention_reasons(answer["decision_id"])[0][0] == INTERVENTION_REASON

    result = sweep(FAR_FUTURE.days)
    assert result.decisions_anonymised == 0
    assert result.texts_erased == 2  # the intervention and its responsibility record
    assert intervention_reasons(answer["decision_id"]) == [("", "")]
