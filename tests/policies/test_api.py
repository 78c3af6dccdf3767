"""Policy versions over the API and the CLI: load, hash identity, activation in the ledger, dry run."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DataError, transaction

from apps.accounts.principals import system_actor
from apps.core.exceptions import InvalidInput
from apps.ledger.models import LedgerEntry
from apps.policies import selectors, services
from apps.policies.models import PolicyActivation, PolicyVersion

pytestmark = pytest.mark.django_db
EXAMPLES = Path(__file__).resolve().parents[2] / "policies" / "examples"


def example(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text())


@pytest.fixture
def writer(agent_client):
    return agent_client("policies:write", "policies:read")


def test_load_activate_and_list(writer):
    response = writer.post(
        "/policies/load", {"policy": example("gdpr.json"), "activate": True}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["active"] is True
    assert body["created"] is True
    assert len(body["version_hash"]) == 64
    listing = writer.get("/policies").json()
    assert listing["active"] == body["version_hash"]
    assert [v["version_hash"] for v in listing["versions"]] == [body["version_hash"]]
    detail = writer.get(f"/policies/{body['policy_id']}").json()
    assert detail["document"]["name"] == example("gdpr.json")["name"]
    assert writer.get(f"/policies/{body['version_hash']}").json()["policy_id"] == body["policy_id"]
    types = list(LedgerEntry.objects.order_by("seq").values_list("entry_type", flat=True))
    assert types == ["ledger.genesis", "policy.loaded", "policy.activated"]


def test_same_document_twice_is_one_version_with_one_ledger_entry(writer):
    document = example("financial_services.json")
    first = writer.post("/policies/load", {"policy": document}, format="json").json()
    reordered = dict(reversed(list(document.items())))
    second = writer.post("/policies/load", {"policy": reordered}, format="json")
    assert second.status_code == 200
    assert second.json()["version_hash"] == first["version_hash"]
    assert second.json()["created"] is False
    assert PolicyVersion.objects.count() == 1
    assert LedgerEntry.objects.filter(entry_type="policy.loaded").count() == 1


def test_activation_switches_versions_and_is_recorded(writer):
    a = writer.post(
        "/policies/load", {"policy": example("gdpr.json"), "activate": True}, format="json"
    ).json()
    b = writer.post(
        "/policies/load", {"policy": example("customer_service.json")}, format="json"
    ).json()
    assert b["active"] is False
    response = writer.post(f"/policies/{b['policy_id']}/activate")
    assert response.status_code == 200
    assert response.json()["active"] is True
    assert selectors.active_version().version_hash == b["version_hash"]
    activation = PolicyActivation.objects.order_by("-activated_at").first()
    assert activation.previous.version_hash == a["version_hash"]
    payload = json.loads(LedgerEntry.objects.get(seq=activation.ledger_seq).payload)
    assert payload["previous_hash"] == a["version_hash"]
    writer.post(f"/policies/{b['policy_id']}/activate")  # already active: no new entry
    assert LedgerEntry.objects.filter(entry_type="policy.activated").count() == 2


def test_invalid_document_lists_every_error_and_writes_nothing(writer):
    bad = {
        "name": "broken",
        "version": "1",
        "mode": "sometimes",
        "terms": [{"id": "actor:a", "type": "actor", "name": "A"}],
        "relations": [
            {"id": "r1", "type": "permits", "subject": "actor:missing", "action": "action:x"},
            {"id": "r2", "type": "allows", "subject": "actor:a", "action": "action:x"},
        ],
    }
    response = writer.post("/policies/load", {"policy": bad}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    paths = {item["path"] for item in error["details"]["errors"]}
    assert len(error["details"]["errors"]) >= 3
    assert "mode" in paths
    assert any(path.startswith("relations[1]") for path in paths)
    assert PolicyVersion.objects.count() == 0
    assert LedgerEntry.objects.count() == 0


@pytest.mark.parametrize("payload", [{"policy": "text"}, {"policy": []}, {}, {"activate": True}])
def test_non_object_policy_is_400(writer, payload):
    assert writer.post("/policies/load", payload, format="json").status_code == 400
    assert PolicyVersion.objects.count() == 0


def test_scopes_and_roles(agent_client, verified_client):
    document = {"policy": example("gdpr.json")}
    reader = agent_client("policies:read")
    assert reader.post("/policies/load", document, format="json").status_code == 403
    assert reader.get("/policies").status_code == 200
    assert (
        verified_client("reviewer")
        .post("/policies/load", document, content_type="application/json")
        .status_code
        == 403
    )
    officer = verified_client("compliance_officer")
    assert (
        officer.post("/policies/load", document, content_type="application/json").status_code == 201
    )
    officer_user = get_user_model().objects.get(username="user_compliance_officer")
    assert PolicyVersion.objects.get().loaded_by == f"user:{officer_user.pk}"
    # The ledger names people by id only: a username is personal data it could never erase.
    for entry in LedgerEntry.objects.filter(entry_type__in=["policy.loaded", "policy.activated"]):
        assert "user_compliance_officer" not in entry.payload


def test_evaluate_is_a_dry_run(writer):
    writer.post(
        "/policies/load",
        {"policy": example("customer_service.json"), "activate": True},
        format="json",
    )
    before = LedgerEntry.objects.count()
    result = writer.post(
        "/policies/evaluate",
        {
            "actor": "ai_agent:customer_service",
            "action": "access_customer_data",
            "context": {"purpose": "support_ticket"},
        },
        format="json",
    ).json()
    assert result["outcome"] == "allowed"
    assert LedgerEntry.objects.count() == before
    first = writer.post("/policies/evaluate", {"actor": "a", "action": "b"}, format="json")
    second = writer.post("/policies/evaluate", {"actor": "a", "action": "b"}, format="json")
    assert first.content == second.content


def test_evaluate_without_active_policy_is_400(writer):
    response = writer.post("/policies/evaluate", {"actor": "a", "action": "b"}, format="json")
    assert response.status_code == 400


def test_unknown_version_is_404(writer):
    assert writer.get("/policies/not-a-uuid").status_code == 404
    assert writer.get("/policies/" + "0" * 64).status_code == 404
    assert writer.post("/policies/00000000-0000-0000-0000-000000000000/activate").status_code == 404


def test_load_policy_command_json_and_yaml(tmp_path):
    out = io.StringIO()
    call_command("load_policy", str(EXAMPLES / "healthcare_hipaa.json"), "--activate", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert lines[0].startswith("loaded:")
    assert lines[0].endswith("active")
    import yaml

    yaml_file = tmp_path / "p.yaml"
    yaml_file.write_text(yaml.safe_dump(example("healthcare_hipaa.json")))
    again = io.StringIO()
    call_command("load_policy", str(yaml_file), stdout=again)
    assert again.getvalue().strip().splitlines()[-1] == lines[-1]  # same hash from YAML
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": "x"}')
    with pytest.raises(CommandError):
        call_command("load_policy", str(broken))


def test_admin_compare_page(verified_client, writer):
    a = writer.post("/policies/load", {"policy": example("gdpr.json")}, format="json").json()
    b = writer.post(
        "/policies/load", {"policy": example("customer_service.json")}, format="json"
    ).json()
    client = verified_client("admin")
    page = client.get(f"/admin/policies/policyversion/compare/{a['policy_id']}/{b['policy_id']}/")
    assert page.status_code == 200
    assert b"diff_add" in page.content or b"diff_chg" in page.content


def _with_nul(document: dict, where: str) -> dict:
    """The demo-sized example with one NUL planted at ``where``."""
    nul = "a\u0000b"
    if where == "name":
        document["name"] = nul
    elif where == "term_description":
        document["terms"][0]["description"] = nul
    elif where == "metadata_value":
        document["metadata"] = {"owner": nul}
    elif where == "metadata_key":
        document["metadata"] = {nul: "x"}
    elif where == "justification":
        document["relations"][0]["justification"] = nul
    elif where == "condition_value":
        document["relations"][0]["conditions"] = [{"field": "purpose", "op": "eq", "value": nul}]
    elif where == "legacy_section":
        document["constraints"] = [{"name": nul}]
    return document


NUL_PLACES = [
    "name",
    "term_description",
    "metadata_value",
    "metadata_key",
    "justification",
    "condition_value",
    "legacy_section",
]


@pytest.mark.parametrize("where", NUL_PLACES)
def test_nul_anywhere_in_the_document_is_a_400_and_writes_nothing(writer, where):
    # Issue 15 §4: PostgreSQL refuses NUL in text and jsonb, so this was a 500 there; SQLite
    # stored it. One rule on both engines: a policy string never contains NUL.
    document = _with_nul(example("customer_service.json"), where)
    response = writer.post("/policies/load", {"policy": document}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert any("NUL" in item["message"] for item in error["details"]["errors"])
    assert PolicyVersion.objects.count() == 0
    assert LedgerEntry.objects.count() == 0


@pytest.mark.postgres
def test_postgresql_refuses_nul_which_is_why_the_loader_does():
    """The engine difference behind the rule above (PostgreSQL pass only)."""
    version = PolicyVersion(
        version_hash="0" * 64,
        name="n",
        version="1",
        mode="strict",
        document={"name": "a\u0000b"},
        source={},
        relation_count=0,
        loaded_by="test",
    )
    with pytest.raises(DataError), transaction.atomic():
        version.save()
    with pytest.raises(InvalidInput):
        services.policy_load(
            document=_with_nul(example("customer_service.json"), "name"),
            actor=system_actor("test"),
        )
    assert PolicyVersion.objects.count() == 0
    assert LedgerEntry.objects.count() == 0


def test_original_short_form_without_justifications_loads_and_decides(writer, agent_client):
    # Issue 15 §4 / issue 3's acceptance check, from outside: refused with a 400 before.
    document = {
        "name": "Support desk",
        "version": "1.0",
        "mode": "strict",
        "terms": [
            {"id": "actor:ai_agent:*", "type": "actor", "name": "Any AI agent"},
            {"id": "action:read_ticket", "type": "action", "name": "Read a ticket"},
        ],
        "relations": [
            {"type": "permits", "subject": "actor:ai_agent:*", "action": "action:read_ticket"}
        ],
    }
    response = writer.post("/policies/load", {"policy": document, "activate": True}, format="json")
    assert response.status_code == 201, response.json()
    stored = writer.get(f"/policies/{response.json()['policy_id']}").json()["document"]
    assert stored["relations"][0]["justification"] == "permits ai_agent:* → read_ticket"
    body = (
        agent_client("decide")
        .post("/decide", {"actor": "ai_agent:support", "action": "read_ticket"}, format="json")
        .json()
    )
    assert body["outcome"] == "allowed"
    assert body["reason"] == "permits ai_agent:* → read_ticket"
