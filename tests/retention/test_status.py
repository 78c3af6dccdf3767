"""Art. 12 status and the regulatory package: computed from live data (build, read, change, read
again), who may read them, bad queries 400; the Annex IV part and the staff-page section."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.template.loader import render_to_string
from django.utils import timezone

from apps.aisystems.models import AISystem
from apps.decisions.models import Decision
from apps.ledger import services as ledger
from apps.ledger.services import ledger_verify_recorded
from apps.retention import annex_iv, selectors, services
from apps.retention import holds as hold_rules
from tests.retention.conftest import BASE, FAR_FUTURE, decide, later, register

pytestmark = pytest.mark.django_db

STATUS = f"{BASE}/status"
PACKAGE = f"{BASE}/regulatory-package"


def status(client) -> dict:
    response = client.get(STATUS)
    assert response.status_code == 200, response.content
    return response.json()


def made_days_ago(client, days: float, **fields) -> dict:
    """A decision made ``days`` ago (the clock travels; created_at is the write time)."""
    with time_machine.travel(timezone.now() - timedelta(days=days), tick=True):
        return decide(client, **fields)


def test_status_counts_follow_the_data(officer, agent):
    with time_machine.travel(timezone.now() - timedelta(days=200), tick=True):
        body = status(officer)  # an empty deployment, long ago
    assert set(body) >= {
        "configuration",
        "decisions",
        "decisions_next_expiry",
        "artifacts",
        "legal_holds",
        "last_sweep",
        "ledger",
    }
    assert body["configuration"]["retention_days"] == {
        "high_risk": 3650,
        "standard": 180,
        "gdpr_intersect": 90,
    }
    assert all(
        sum(v for k, v in row.items() if k in selectors.STATES) == 0
        for row in body["decisions"].values()
    )
    assert body["last_sweep"] is None
    assert body["decisions_next_expiry"] is None

    expiring = made_days_ago(agent, 170)  # standard: ends in ten days
    overdue = made_days_ago(agent, 95, data_classes=["pii"])  # gdpr_intersect: ended 5 days ago
    young = decide(agent)
    body = status(officer)
    standard, gdpr = body["decisions"]["standard"], body["decisions"]["gdpr_intersect"]
    assert (
        standard["active"],
        standard["expiring"],
        standard["legal_hold"],
        standard["anonymised"],
    ) == (1, 1, 0, 0)
    assert (gdpr["active"], gdpr["expiring"], gdpr["overdue"]) == (0, 1, 1)
    assert body["decisions_next_expiry"]["retention_class"] == "gdpr_intersect"
    assert body["decisions_next_expiry"]["at"] == selectors.iso(
        Decision.objects.get(pk=overdue["decision_id"]).created_at + timedelta(days=90)
    )

    # A hold moves a decision to legal_hold; the sweep moves the others to anonymised.
    services.legal_hold_place(
        user=officer.user,
        scope=services.HoldScope(scope="decision_ids", decision_ids=(expiring["decision_id"],)),
        reason="Kept for the complaint procedure.",
        requested_by="Data protection officer",
    )
    run = services.retention_sweep()
    body = status(officer)
    standard, gdpr = body["decisions"]["standard"], body["decisions"]["gdpr_intersect"]
    assert (standard["active"], standard["expiring"], standard["legal_hold"]) == (1, 0, 1)
    assert (gdpr["anonymised"], gdpr["expiring"], gdpr["overdue"]) == (1, 0, 0)
    assert body["legal_holds"]["active"] == 1
    assert body["last_sweep"]["run_id"] == run.run_id
    assert body["last_sweep"]["ledger_entry_id"] == run.ledger_seq
    assert body["last_completed_sweep"]["decisions_anonymised"]["gdpr_intersect"] == 1
    assert body["decisions_next_expiry"]["at"] == selectors.iso(
        Decision.objects.get(pk=young["decision_id"]).created_at + timedelta(days=180)
    )


def test_day_counts_and_direct_counts_agree(officer, agent, settings):
    """The status adds up day counts; counting every live decision gives the same figures,
    through time, holds, a shorter configured period and sweeps (today's decisions included)."""
    start = timezone.now() - timedelta(days=400)
    with time_machine.travel(start, tick=True):
        status(officer)
    for days, fields in [
        (390, {}),
        (300, {"data_classes": ["pii"]}),
        (200, {}),
        (185, {"actor": "ai_agent:held"}),
        (120, {"data_classes": ["pii"]}),
        (95, {}),
        (40, {"data_classes": ["pii"]}),
        (1, {}),
        (0, {}),
    ]:
        made_days_ago(agent, days, **fields)
    services.legal_hold_place(
        user=officer.user,
        scope=services.HoldScope(scope="actor", actor="ai_agent:held"),
        reason="Kept for the complaint procedure.",
        requested_by="Data protection officer",
    )

    def both() -> tuple[dict, dict]:
        now = timezone.now()
        holds = hold_rules.active_holds()
        summed = selectors.decision_states(now=now, holds=holds)
        direct = selectors.decision_states(now=now, holds=holds, base=Decision.objects.all())
        return summed, direct

    summed, direct = both()
    assert summed == direct
    assert summed["standard"]["legal_hold"] == 1
    services.retention_sweep()
    summed, direct = both()
    assert summed == direct
    assert summed["standard"]["anonymised"] == 2
    assert summed["gdpr_intersect"]["anonymised"] == 2
    settings.LEXECON_RETENTION_DAYS = {"high_risk": 3650, "standard": 30, "gdpr_intersect": 20}
    assert both()[0] == both()[1]
    services.retention_sweep(as_of=later(10))  # today's too, with a date ahead
    summed, direct = both()
    assert summed == direct
    with time_machine.travel(timezone.now() + timedelta(days=3), tick=True):
        assert both()[0] == both()[1]


def test_status_reports_the_ledger_as_recorded(officer, agent):
    decide(agent)
    assert status(officer)["ledger"]["verification"] is None
    ledger_verify_recorded(trigger="test")
    ledger.ledger_checkpoint_create()
    state = status(officer)["ledger"]
    assert state["verification"]["valid"] is True
    assert state["latest_checkpoint"]["tree_size"] == state["size"]


def test_status_counts_artifacts(officer, agent, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "evidence": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    from django.core.files.base import ContentFile

    from apps.evidence import services as evidence

    evidence.evidence_register(
        principal=officer.user,
        artifact_type="screenshot",
        title="s",
        content=ContentFile(b"s"),
        media_type="image/png",
    )
    assert status(officer)["artifacts"]["standard"]["active"] == 1
    services.retention_sweep(as_of=later(FAR_FUTURE.days))
    artifacts = status(officer)["artifacts"]["standard"]
    assert (artifacts["active"], artifacts["expired"]) == (0, 1)


def test_readers(agent_client, staff_api):
    assert agent_client("compliance:read").get(STATUS).status_code == 200
    assert staff_api("auditor").get(STATUS).status_code == 200
    # Issue 19: reviewers no longer hold view_dashboard.
    assert staff_api("reviewer").get(STATUS).status_code == 403
    assert agent_client("decide", "ledger:read").get(STATUS).status_code == 403
    from rest_framework.test import APIClient

    assert APIClient().get(STATUS).status_code in (401, 403)


# --- The regulatory package -------------------------------------------------------------------------


def test_the_package_covers_its_period(officer, agent):
    register(officer.user, "cv-screening", "high", annex_iii_point="4(a)")
    inside = decide(agent, ai_system="cv-screening")
    decide(agent, data_classes=["pii"])
    made_days_ago(agent, 400)
    services.legal_hold_place(
        user=officer.user,
        scope=services.HoldScope(scope="ai_system", ai_system="cv-screening"),
        reason="Market surveillance authority request 12/2026.",
        requested_by="Market surveillance authority",
    )
    run = services.retention_sweep()
    today = timezone.now().date()
    frm, to = (today - timedelta(days=30)).isoformat(), today.isoformat()
    response = officer.get(f"{PACKAGE}?from={frm}&to={to}")
    assert response.status_code == 200, response.content
    package = response.json()
    assert package["period"] == {"from": f"{frm}T00:00:00Z", "to": f"{to}T23:59:59.999999Z"}
    assert package["decisions"]["high_risk"] == {"made": 1, "anonymised": 0, "legal_hold_now": 1}
    assert package["decisions"]["gdpr_intersect"]["made"] == 1
    assert package["decisions"]["standard"]["made"] == 0  # the backdated one is outside
    assert {
        "ai_system": "cv-screening",
        "retention_class": "high_risk",
        "made": 1,
        "anonymised": 0,
    } in package["decisions_by_ai_system"]
    (hold,) = package["legal_holds"]
    assert hold["ai_system"] == "cv-screening"
    assert "reason" not in hold
    (listed,) = package["sweep_runs"]
    assert listed["run_id"] == run.run_id
    counts = package["ledger"]["record_keeping_entries"]
    assert (counts["legal_hold.placed"], counts["retention.sweep_completed"]) == (1, 1)
    first, last = package["ledger"]["entries_in_period"].values()
    assert first <= Decision.objects.get(pk=inside["decision_id"]).ledger_seq <= last
    # Nothing personal in the package: no context, no hold reason.
    text = json.dumps(package)
    assert "Market surveillance authority request" not in text
    assert Decision.objects.get(pk=inside["decision_id"]).context["customer_email"] not in text

    # An earlier period: the backdated decision, no run, no hold.
    early = officer.get(
        f"{PACKAGE}?from={(today - timedelta(days=420)).isoformat()}&to={(today - timedelta(days=380)).isoformat()}"
    ).json()
    assert early["decisions"]["standard"]["made"] == 1
    assert early["sweep_runs"] == []
    assert early["legal_holds"] == []


def test_the_package_as_csv_and_markdown(officer, agent):
    decide(agent)
    services.retention_sweep()
    today = timezone.now().date().isoformat()
    response = officer.get(f"{PACKAGE}?from={today}&to={today}&format=csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="art12-package_{today}_{today}.csv"'
    )
    rows = dict(csv.reader(io.StringIO(response.content.decode())))
    assert rows["decisions.standard.made"] == "1"
    assert rows["configuration.retention_days.standard"] == "180"
    assert rows["sweep_runs[0].status"] == "completed"

    response = officer.get(f"{PACKAGE}?from={today}&to={today}&format=markdown")
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    text = response.content.decode()
    assert text.startswith("# EU AI Act Art. 12/19")
    assert "| standard | 1 | 0 | 0 |" in text
    assert "## Retention sweeps" in text
    assert "| completed |" in text


@pytest.mark.parametrize(
    ("_case", "query"),
    [
        ("no period", ""),
        ("no to", "?from=2026-01-01"),
        ("not a date", "?from=yesterday&to=2026-01-01"),
        ("naive time", "?from=2026-01-01T00:00:00&to=2026-02-01"),
        ("backwards", "?from=2026-02-01&to=2026-01-01"),
        ("too long", "?from=2000-01-01&to=2026-01-01"),
        ("unknown format", "?from=2026-01-01&to=2026-02-01&format=pdf"),
    ],
)
def test_bad_package_queries_are_400(officer, _case, query):
    response = officer.get(f"{PACKAGE}{query}")
    assert response.status_code == 400, response.content
    assert set(response.json()) == {"error"}


def test_package_readers(agent_client, staff_api):
    query = "?from=2026-01-01&to=2026-02-01"
    assert agent_client("compliance:read").get(PACKAGE + query).status_code == 200
    assert staff_api("auditor").get(PACKAGE + query).status_code == 200
    assert agent_client("audit:export").get(PACKAGE + query).status_code == 403


# --- Annex IV (seam 1) and the staff page section ---------------------------------------------------


def test_the_annex_iv_part_is_computed_and_names_what_is_missing(officer, agent):
    register(officer.user, "cv-screening", "high", annex_iii_point="4(a)")
    system = AISystem.objects.get(pk="cv-screening")
    window = SimpleNamespace(
        start=timezone.now() - timedelta(days=1), end=timezone.now() + timedelta(days=1)
    )
    part = annex_iv.record_keeping_part(system, window)
    assert part["title"] == annex_iv.TITLE
    assert part["facts"]["decisions_logged_in_window"] == 0
    assert part["facts"]["retention_class_of_new_decisions"] == "high_risk"
    assert len(part["missing"]) == 3  # no verification, no checkpoint, no sweep yet

    decide(agent, ai_system="cv-screening")
    decide(agent, ai_system="cv-screening")
    decide(agent)  # another system's: not counted
    ledger_verify_recorded(trigger="test")
    ledger.ledger_checkpoint_create()
    services.retention_sweep()
    part = annex_iv.record_keeping_part(system, window)
    assert part["facts"]["decisions_logged_in_window"] == 2
    assert part["facts"]["decisions_by_retention_class"]["high_risk"] == 2
    assert part["facts"]["ledger_valid"] is True
    assert part["missing"] == ()
    json.dumps(part["facts"])  # JSON-able, as the contract asks


def test_the_provider_wraps_the_part_in_techdocs_section_part(officer, monkeypatch):
    """apps.techdoc is not in this tree yet: a stand-in with the contract's shape checks the
    wiring (the provider's output and the registration call)."""
    import sys
    from dataclasses import dataclass, field
    from types import ModuleType
    from typing import Any

    @dataclass(frozen=True)
    class SectionPart:
        title: str
        facts: dict[str, Any]
        text: str = ""
        missing: tuple[str, ...] = field(default_factory=tuple)

    registered = []
    stand_in = ModuleType("apps.techdoc.annex_iv")
    stand_in.SectionPart = SectionPart
    stand_in.register_provider = lambda item, provider, *, key: registered.append(
        (item, provider, key)
    )
    monkeypatch.setitem(sys.modules, "apps.techdoc", ModuleType("apps.techdoc"))
    monkeypatch.setitem(sys.modules, "apps.techdoc.annex_iv", stand_in)

    register(officer.user, "support-bot", "limited")
    window = SimpleNamespace(start=timezone.now() - timedelta(days=1), end=timezone.now())
    part = annex_iv.provider(AISystem.objects.get(pk="support-bot"), window)
    assert isinstance(part, SectionPart)
    assert part.facts["retention_class_of_new_decisions"] == "standard"
    annex_iv.register()
    assert registered == [(3, annex_iv.provider, "retention.record_keeping")]


def test_the_system_section_renders_live_figures(officer, agent):
    register(officer.user, "cv-screening", "high", annex_iii_point="4(a)")
    system = AISystem.objects.get(pk="cv-screening")
    empty = render_to_string(
        "retention/_system_section.html", selectors.system_section_context(system)
    )
    assert "No legal hold in force reaches this system." in empty
    assert "No retention sweep has run yet." in empty

    decide(agent, ai_system="cv-screening")
    decide(agent)
    services.legal_hold_place(
        user=officer.user,
        scope=services.HoldScope(scope="ai_system", ai_system="cv-screening"),
        reason="Kept for the incident investigation.",
        requested_by="Incident manager",
    )
    services.legal_hold_place(
        user=officer.user,
        scope=services.HoldScope(scope="actor", actor="ai_agent:nobody"),
        reason="Kept for an unrelated matter entirely.",
        requested_by="Legal",
    )
    context = selectors.system_section_context(system)
    high = next(r for r in context["retention_rows"] if r["retention_class"] == "high_risk")
    assert (high["legal_hold"], high["active"], high["days"]) == (1, 0, 3650)
    assert [h["scope"] for h in context["retention_holds"]] == ["ai_system"]  # the other misses it
    services.retention_sweep()
    html = render_to_string(
        "retention/_system_section.html", selectors.system_section_context(system)
    )
    assert "ai_system cv-screening" in html
    assert "completed" in html
