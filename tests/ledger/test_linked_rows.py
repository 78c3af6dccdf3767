"""The fast per-field value preparation of linked rows equals Django's own (PostgreSQL)."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from psycopg.types.json import Jsonb

from apps.decisions.models import Decision
from apps.ledger import services
from apps.ledger.services import append
from tests.ledger.conftest import full_decision

pytestmark = pytest.mark.django_db


def _plain(value):
    return ("jsonb", value.obj) if isinstance(value, Jsonb) else value


@pytest.mark.parametrize(
    "instance",
    [
        full_decision(),
        Decision(
            id=uuid.uuid4(),
            actor="a",
            action="b",
            outcome="denied",
            risk_score=0,
            context=None,
            reasons=[],
            controls=[],
        ),
    ],
    ids=["full", "sparse"],
)
def test_preparers_equal_get_db_prep_save(instance, postgres_only):
    """Linked rows are inserted by the PostgreSQL append statement only (elsewhere: ORM save)."""
    _, bound = append._linked_template(services.LinkedRow(instance), 0)
    fast = {key: prepare(instance) for _, key, prepare in bound}
    # pre_save of auto_now_add fields has now set created_at; Django's path reuses that value.
    for field, key, _ in bound:
        if field.name == "created_at":
            continue
        django_value = field.get_db_prep_save(field.pre_save(instance, True), connection)
        assert _plain(fast[key]) == _plain(django_value), field.name
        assert type(fast[key]) is type(django_value), field.name
    assert {field.name for field, _, _ in bound} >= {
        "context",
        "reasons",
        "agent_key",
        "risk_score",
    }


def test_preparers_are_built_once_per_model():
    _, first = append._linked_template(services.LinkedRow(Decision()), 0)
    _, again = append._linked_template(services.LinkedRow(Decision()), 0)
    assert again is first  # the same fields and preparer functions, not rebuilt per row
