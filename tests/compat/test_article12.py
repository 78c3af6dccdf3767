"""The original's forms of ``/compliance/eu-ai-act/article-12/*``, answered by our native views:
the original's fields beside ours, its query-parameter legal hold, its package query."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.ledger.models import LedgerEntry
from apps.retention.models import LegalHold
from tests.compat.conftest import DEMO, REFUND, written

A12 = "/compliance/eu-ai-act/article-12"
REASON = "Litigation hold requested by counsel, case 2026-17."


def test_status_adds_the_originals_fields_from_our_counts(agent, decided, agent_client):
    first = decided(DEMO)
    decided(REFUND)
    reader = agent_client("compliance:read")
    status = reader.get(f"{A12}/status").json()
    assert "decisions" in status  # ours stay
    assert "legal_holds" in status
    assert status["total_records"] == 2
    assert sum(status["by_classification"].values()) == 2
    assert set(status["by_classification"]) == {"high_risk", "standard", "gdpr_intersect"}
    assert sum(status["by_status"].values()) == 2
    assert status["by_status"]["archived"] == 0
    assert status["legal_holds_active"] == 0
    assert status["oldest_record"] <= status["newest_record"]
    assert status["oldest_record"][:10] == first["timestamp"][:10]


def test_the_query_parameter_legal_hold_is_really_placed(agent, decided, staff_api):
    decision_id = decided(DEMO)["decision_id"]
    decided(DEMO)
    officer = staff_api("compliance_officer")
    seq = LedgerEntry.objects.order_by("-seq").first().seq
    response = officer.post(
        f"{A12}/legal-hold?hold_id=case-17&reason={REASON}&requester=counsel"
        f"&entry_ids={decision_id}"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "applied"
    assert body["records_affected"] == 1
    assert body["scope"] == "decision_ids"
    assert body["requested_by"] == "counsel (case-17)"
    assert LegalHold.objects.filter(pk=body["hold_id"]).exists()
    new = list(LedgerEntry.objects.filter(seq__gt=seq).values_list("entry_type", flat=True))
    assert new == ["legal_hold.placed"]  # as the native route writes
    # Unlike the original, the status shows the hold.
    assert officer.get(f"{A12}/status").json()["legal_holds_active"] == 1

    everything = officer.post(f"{A12}/legal-hold?reason={REASON}")
    assert everything.status_code == 200
    assert everything.json()["scope"] == "time_range"
    assert everything.json()["records_affected"] == 2


def test_query_form_refusals_use_the_originals_shape_and_write_nothing(
    agent, decided, staff_api, agent_client, password_only
):
    decided(DEMO)
    officer = staff_api("compliance_officer")
    before = written()
    short = officer.post(f"{A12}/legal-hold?reason=short")
    assert short.status_code == 400
    assert isinstance(short.json()["detail"], str)
    unknown = officer.post(f"{A12}/legal-hold?reason={REASON}&entry_ids=ent_17")
    assert unknown.status_code == 404
    assert set(unknown.json()) == {"detail"}
    auditor = staff_api("auditor").post(f"{A12}/legal-hold?reason={REASON}")
    assert auditor.status_code == 403
    assert set(auditor.json()) == {"detail"}
    key = agent_client("compliance:read").post(f"{A12}/legal-hold?reason={REASON}")
    assert key.status_code == 403
    assert APIClient().post(f"{A12}/legal-hold?reason={REASON}").status_code == 401
    assert password_only.post(f"{A12}/legal-hold?reason={REASON}").status_code == 403
    assert written() == before
    assert LegalHold.objects.count() == 0


def test_native_hold_body_keeps_our_shape(staff_api):
    officer = staff_api("compliance_officer")
    response = officer.post(f"{A12}/legal-hold", {"scope": "bogus"}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"error"}


@pytest.mark.parametrize("fmt", ["csv", "markdown"])
def test_package_in_the_originals_query_and_shapes(agent, decided, agent_client, fmt):
    decided(DEMO)
    reader = agent_client("compliance:read")
    as_json = reader.get(f"{A12}/regulatory-package", {"format": "json"})
    assert as_json.status_code == 200, as_json.content
    native_keys = set(
        reader.get(f"{A12}/regulatory-package", {"from": "2020-01-01", "to": "2030-01-01"}).json()
    )
    assert set(as_json.json()) == native_keys
    other = reader.get(
        f"{A12}/regulatory-package",
        {"format": fmt, "start_date": "2020-01-01T00:00:00", "end_date": "2030-01-01T00:00:00"},
    ).json()
    assert other["format"] == fmt
    assert isinstance(other["content"], str)
    assert other["content"]


def test_package_errors_in_the_originals_shape(agent_client):
    reader = agent_client("compliance:read")
    bad_format = reader.get(f"{A12}/regulatory-package", {"format": "pdf"})
    assert bad_format.status_code == 400
    assert bad_format.json() == {"detail": "Unsupported format: pdf. Use json, markdown, or csv"}
    bad_date = reader.get(f"{A12}/regulatory-package", {"start_date": "yesterday"})
    assert bad_date.status_code == 422
    assert bad_date.json()["detail"][0]["loc"] == ["query", "start_date"]
    # No parameter at all stays our native 400 (the period is required).
    bare = reader.get(f"{A12}/regulatory-package")
    assert bare.status_code == 400
    assert set(bare.json()) == {"error"}
    assert APIClient().get(f"{A12}/regulatory-package?format=json").status_code == 401
