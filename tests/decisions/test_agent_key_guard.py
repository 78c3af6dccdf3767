"""A decision's agent key stays in place without a database foreign key (ADR 0007).

The foreign key was dropped from the hot insert; Django's PROTECT and, on PostgreSQL, a trigger on
``accounts_agentkey`` keep a key that any decision names from being deleted or re-keyed.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError

from apps.accounts.models import AgentKey
from apps.decisions.models import Decision
from tests.conftest import DEMO

pytestmark = pytest.mark.django_db


def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the guard trigger exists on PostgreSQL")


@pytest.fixture
def used_key(agent):
    response = agent.post("/decide", DEMO, format="json")
    assert response.status_code == 200
    key = AgentKey.objects.get(pk=agent.agent_key.pk)
    assert Decision.objects.filter(agent_key=key).count() == 1
    return key


def test_the_orm_refuses_to_delete_a_key_that_decided(used_key):
    with pytest.raises(ProtectedError):
        used_key.delete()
    assert AgentKey.objects.filter(pk=used_key.pk).exists()


def test_raw_sql_cannot_delete_a_key_that_decided(used_key):
    _postgres_only()
    with (
        pytest.raises(IntegrityError, match="named by decisions"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM accounts_agentkey WHERE id = %s", [used_key.pk])
    assert AgentKey.objects.filter(pk=used_key.pk).exists()
    assert Decision.objects.get().agent_key_id == used_key.pk


def test_raw_sql_cannot_re_key_a_key_that_decided(used_key):
    _postgres_only()
    with (
        pytest.raises(IntegrityError, match="named by decisions"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE accounts_agentkey SET id = %s WHERE id = %s", [uuid.uuid4(), used_key.pk]
        )
    assert AgentKey.objects.filter(pk=used_key.pk).exists()


def test_a_key_without_decisions_can_still_be_removed(agent_client):
    _postgres_only()
    key = agent_client("decide").agent_key
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_agentkey WHERE id = %s", [key.pk])
    assert not AgentKey.objects.filter(pk=key.pk).exists()


def test_the_decision_insert_carries_no_foreign_key_check():
    """The point of the change: nothing deferred runs at a decision's commit."""
    _postgres_only()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'decisions_decision'::regclass "
            "AND contype = 'f' AND confrelid = 'accounts_agentkey'::regclass"
        )
        assert cursor.fetchall() == []
