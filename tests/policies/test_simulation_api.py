"""``POST /policies/{id}/simulate`` and ``GET /policies/simulations/{id}`` (ADR 0030)."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from apps.ledger.models import LedgerEntry
from apps.policies.models import PolicySimulation
from tests.policies.test_simulation import draft_forbidding, load

pytestmark = pytest.mark.django_db


def read_ticket(agent, times: int = 2) -> None:
    for _ in range(times):
        response = agent.post(
            "/decide",
            {"actor": "ai_agent:customer_service", "action": "read_ticket"},
            format="json",
        )
        assert response.json()["outcome"] == "allowed"


@pytest.fixture
def draft(demo_policy):
    return load(draft_forbidding("read_ticket"))


def test_simulate_answers_202_with_a_status_url_that_reports_the_result(
    agent, agent_client, draft, django_capture_on_commit_callbacks
):
    read_ticket(agent, 3)
    writer = agent_client("policies:write", "policies:read")
    entries = LedgerEntry.objects.count()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = writer.post(f"/policies/{draft.pk}/simulate", {"limit": 50}, format="json")
    assert len(callbacks) == 1  # the task is enqueued once the run's row has committed

    assert response.status_code == 202
    body = response.json()
    assert body["requested"] == 50
    assert body["version_hash"] == draft.version_hash
    assert (
        response["Location"]
        == body["status_url"]
        == (f"/policies/simulations/{body['simulation_id']}")
    )
    status = writer.get(body["status_url"])
    assert status.status_code == 200
    state = status.json()
    assert state["status"] == "done"  # the task ran eagerly (test settings)
    assert (state["processed"], state["total"], state["percent"]) == (3, 3, 100)
    assert state["result"]["flips"] == {"allowed->denied": 3}
    assert state["result"]["rules"][0]["rule_id"] == "draft-no-read_ticket"
    # This agent made none of the decisions: it sees the figures, not the examples.
    assert state["result"]["examples"] == {"allowed->denied": []}
    assert state["result"]["examples_hidden"] == 3
    assert LedgerEntry.objects.count() == entries + 1
    assert LedgerEntry.objects.order_by("-seq").first().entry_type == "policy.simulated"


def test_the_agent_that_made_the_decisions_sees_their_examples(
    agent, draft, django_capture_on_commit_callbacks
):
    read_ticket(agent, 2)
    key = agent.agent_key
    key.scopes = ["decide", "policies:write", "policies:read"]
    key.save(update_fields=["scopes"])
    from apps.accounts.services import forget_verified_keys

    forget_verified_keys()
    with django_capture_on_commit_callbacks(execute=True):
        body = agent.post(f"/policies/{draft.version_hash}/simulate", {}, format="json").json()
    assert body["requested"] == 1000  # the default
    result = agent.get(body["status_url"]).json()["result"]
    assert len(result["examples"]["allowed->denied"]) == 2
    assert result["examples_hidden"] == 0


@pytest.mark.parametrize(
    ("body", "_case"),
    [
        ({"limit": 0}, "zero"),
        ({"limit": 100_001}, "above the maximum"),
        ({"limit": "many"}, "not a number"),
        ({"limit": 2.5}, "not whole"),
    ],
)
def test_bad_limits_are_400_in_the_error_shape_and_write_nothing(agent_client, draft, body, _case):
    writer = agent_client("policies:write")
    entries = LedgerEntry.objects.count()
    response = writer.post(f"/policies/{draft.pk}/simulate", body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] in {"validation_error", "invalid_input"}
    assert "limit" in json.dumps(error["details"])
    assert PolicySimulation.objects.count() == 0
    assert LedgerEntry.objects.count() == entries


def test_unknown_version_and_unknown_simulation_are_404(agent_client, demo_policy):
    writer = agent_client("policies:write", "policies:read")
    missing = writer.post("/policies/" + "0" * 64 + "/simulate", {}, format="json")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    for identifier in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        response = writer.get(f"/policies/simulations/{identifier}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert PolicySimulation.objects.count() == 0


@pytest.mark.parametrize(
    ("scopes", "status", "_case"),
    [
        (None, 401, "anonymous"),
        (("policies:read",), 403, "read scope only"),
        (("decide",), 403, "decide scope only"),
    ],
)
def test_simulate_needs_the_write_scope(agent_client, draft, scopes, status, _case):
    client = APIClient() if scopes is None else agent_client(*scopes)
    entries = LedgerEntry.objects.count()
    response = client.post(f"/policies/{draft.pk}/simulate", {"limit": 10}, format="json")
    assert response.status_code == status
    assert "error" in response.json()
    assert PolicySimulation.objects.count() == 0
    assert LedgerEntry.objects.count() == entries


def test_reading_a_simulation_needs_the_read_scope(agent_client, draft):
    writer = agent_client("policies:write")
    body = writer.post(f"/policies/{draft.pk}/simulate", {"limit": 10}, format="json").json()
    assert agent_client("decide").get(body["status_url"]).status_code == 403
    assert APIClient().get(body["status_url"]).status_code == 401
    assert agent_client("policies:read").get(body["status_url"]).status_code == 200


def test_activation_over_the_api_takes_an_optional_reason(agent_client, draft):
    writer = agent_client("policies:write")
    blank = writer.post(f"/policies/{draft.pk}/activate", {"reason": "   "}, format="json")
    assert blank.status_code == 400
    assert LedgerEntry.objects.filter(entry_type="policy.activated").count() == 1  # the demo's
    response = writer.post(
        f"/policies/{draft.pk}/activate", {"reason": "Simulated first."}, format="json"
    )
    assert response.status_code == 200
    entry = LedgerEntry.objects.filter(entry_type="policy.activated").order_by("-seq").first()
    assert len(json.loads(entry.payload)["reason_commitment"]) == 64


def test_the_schema_documents_both_operations(agent_client):
    response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    simulate = paths["/policies/{identifier}/simulate"]["post"]
    assert simulate["operationId"] == "policies_simulate"
    assert "202" in simulate["responses"]
    assert "limit" in json.dumps(simulate["requestBody"])
    read = paths["/policies/simulations/{simulation_id}"]["get"]
    assert read["operationId"] == "policies_simulation_get"
    schemas = json.loads(response.content)["components"]["schemas"]
    assert read["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PolicySimulation"
    }
    assert {"status", "processed", "total", "result", "status_url"} <= set(
        schemas["PolicySimulation"]["properties"]
    )
    assert "flips" in json.dumps(schemas["PolicySimulation"])
