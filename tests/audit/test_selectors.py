"""Scope selection: the rows and the ascending ledger seqs of each scope, the period and AI system
filters, and the ledger size an export is made against."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.audit import selectors
from apps.audit.selectors import Selection
from apps.decisions.models import Decision
from apps.escalations.models import Escalation, Override
from apps.evidence.models import EvidenceArtifact
from apps.ledger.models import LedgerEntry
from apps.ledger.selectors import ledger_size

pytestmark = pytest.mark.django_db


def _sel(scope: str, **kwargs) -> Selection:
    return Selection(scope=scope, tree_size=ledger_size(), **kwargs)


def _types(seqs) -> list[str]:
    return list(
        LedgerEntry.objects.filter(seq__in=list(seqs))
        .order_by("seq")
        .values_list("entry_type", flat=True)
    )


def test_the_ledger_scope_is_every_entry_ascending(record):
    seqs = list(selectors.entry_seqs(_sel("ledger")))
    assert seqs == list(range(ledger_size()))
    assert record.outsider_seq in seqs
    rows = list(selectors.rows(_sel("ledger"), "ledger"))
    assert [row["seq"] for row in rows] == seqs
    assert rows[1]["payload"] == json.loads(LedgerEntry.objects.get(seq=1).payload)


def test_the_decisions_scope_is_their_decision_made_entries(record):
    seqs = list(selectors.entry_seqs(_sel("decisions")))
    assert seqs == sorted(Decision.objects.values_list("ledger_seq", flat=True))
    assert set(_types(seqs)) == {"decision.made"}
    assert record.outsider_seq not in seqs


def test_the_escalations_scope_is_their_whole_lifecycle(record):
    seqs = list(selectors.entry_seqs(_sel("escalations")))
    assert seqs == sorted(set(seqs))
    assert set(_types(seqs)) == {
        "escalation.created",
        "escalation.acknowledged",
        "escalation.resolved",
    }
    resolved = Escalation.objects.get(decision=record.escalated)
    for seq in (
        resolved.created_ledger_seq,
        resolved.acknowledged_ledger_seq,
        resolved.resolved_ledger_seq,
    ):
        assert seq in seqs
    assert [r["escalation_id"] for r in selectors.rows(_sel("escalations"), "escalations")] == [
        str(pk)
        for pk in Escalation.objects.order_by("created_at", "id").values_list("pk", flat=True)
    ]


def test_overrides_policies_and_evidence_scopes(record):
    assert list(selectors.entry_seqs(_sel("overrides"))) == [Override.objects.get().ledger_seq]
    assert set(_types(selectors.entry_seqs(_sel("policies")))) == {
        "policy.loaded",
        "policy.activated",
    }
    evidence = list(selectors.entry_seqs(_sel("evidence")))
    assert EvidenceArtifact.objects.get().ledger_seq in evidence
    assert set(_types(evidence)) <= {"evidence.registered", "evidence.linked"}
    assert list(selectors.evidence_ids(_sel("evidence"))) == [record.artifact_id]
    # The decisions scope carries the artifacts linked to its decisions.
    assert list(selectors.evidence_ids(_sel("decisions"))) == [record.artifact_id]
    assert list(selectors.evidence_ids(_sel("policies"))) == []


def test_the_framework_scope_is_its_controls_and_their_evidence(record):
    sel = _sel("framework", framework="soc2")
    controls = list(selectors.rows(sel, "controls"))
    assert controls
    assert {row["framework"] for row in controls} == {"soc2"}
    linked = next(row for row in controls if row["control_id"] == "CC6.1")
    assert linked["artifacts"] == 1
    assert [row["artifact_id"] for row in selectors.rows(sel, "evidence")] == [record.artifact_id]
    seqs = list(selectors.entry_seqs(sel))
    assert seqs == sorted(set(seqs))
    assert EvidenceArtifact.objects.get().ledger_seq in seqs
    assert record.outsider_seq not in seqs
    # Another framework has no artifact linked.
    assert list(selectors.rows(_sel("framework", framework="iso27001"), "evidence")) == []


def test_all_with_an_ai_system_is_that_systems_records_only(record, agent):
    from tests.escalations.conftest import decide

    other = decide(
        agent,
        {"actor": "ai_agent:customer_service", "action": "read_ticket", "ai_system": "hr-bot"},
    )
    sel = _sel("all", ai_system="hr-bot")
    assert [r["decision_id"] for r in selectors.rows(sel, "decisions")] == [other["decision_id"]]
    assert list(selectors.rows(sel, "escalations")) == []
    seqs = list(selectors.entry_seqs(sel))
    assert Decision.objects.get(pk=other["decision_id"]).ledger_seq in seqs
    assert record.allowed.ledger_seq not in seqs
    assert record.outsider_seq not in seqs
    ledger_rows = [row["seq"] for row in selectors.rows(sel, "ledger")]
    assert ledger_rows == seqs
    assert selectors.row_count(sel, "ledger") == len(seqs)


def test_the_period_filters_rows_and_entries(record):
    later = timezone.now() + timedelta(hours=1)
    assert list(selectors.rows(_sel("decisions", period_from=later), "decisions")) == []
    assert list(selectors.entry_seqs(_sel("ledger", period_from=later))) == []
    before = timezone.now() - timedelta(hours=1)
    assert (
        selectors.row_count(_sel("decisions", period_from=before, period_to=later), "decisions")
        == 4
    )
    assert list(selectors.entry_seqs(_sel("ledger", period_to=before))) == []


def test_nothing_at_or_above_the_tree_size_is_selected(record):
    size = record.overridden.ledger_seq  # made against the ledger before the second refund
    sel = Selection(scope="all", tree_size=size)
    assert max(selectors.entry_seqs(sel)) == size - 1
    decisions = [row["ledger_seq"] for row in selectors.rows(sel, "decisions")]
    assert decisions
    assert all(seq < size for seq in decisions)
    assert list(selectors.rows(sel, "overrides")) == []
