"""Retention classes: the documented rule, applied when a decision or an artifact is written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile

from apps.core.retention import (
    RetentionClass,
    artifact_retention_class,
    decision_retention_class,
    retention_days,
)
from apps.decisions.models import Decision
from apps.evidence import services as evidence
from tests.retention.conftest import decide, register

pytestmark = pytest.mark.django_db

HIGH, STANDARD, GDPR = "high_risk", "standard", "gdpr_intersect"


@pytest.mark.parametrize(
    ("_case", "risk_class", "data_classes", "expected"),
    [
        ("high-risk system", "high", (), HIGH),
        ("prohibited system", "prohibited", (), HIGH),
        ("high-risk system with personal data", "high", ("pii",), HIGH),
        ("limited system with personal data", "limited", ("personal_data",), GDPR),
        ("no system, special category", None, ("special_category",), GDPR),
        ("no system, internal data", None, ("internal",), STANDARD),
        ("minimal system, nothing declared", "minimal", (), STANDARD),
    ],
)
def test_the_rule(_case, risk_class, data_classes, expected):
    assert (
        decision_retention_class(ai_system_risk_class=risk_class, data_classes=data_classes)
        == expected
    )


def test_personal_data_classes_are_configuration(settings):
    settings.LEXECON_RETENTION_PERSONAL_DATA_CLASSES = ("customer_id",)
    assert decision_retention_class(ai_system_risk_class=None, data_classes=["pii"]) == STANDARD
    assert decision_retention_class(ai_system_risk_class=None, data_classes=["customer_id"]) == GDPR


def test_an_artifact_takes_the_longest_linked_class_by_configured_days(settings):
    assert artifact_retention_class(linked_classes=[]) == STANDARD
    assert artifact_retention_class(linked_classes=[GDPR]) == GDPR
    assert artifact_retention_class(linked_classes=[GDPR, STANDARD]) == STANDARD
    assert artifact_retention_class(linked_classes=[STANDARD, HIGH, GDPR]) == HIGH
    assert artifact_retention_class(linked_classes=[], ai_system_risk_class="high") == HIGH
    # Lengths are settings: when personal data is configured to outlast the standard period,
    # it is the longer class.
    settings.LEXECON_RETENTION_DAYS = {HIGH: 3650, STANDARD: 180, GDPR: 400}
    assert artifact_retention_class(linked_classes=[GDPR, STANDARD]) == GDPR


def test_class_lengths_come_from_settings(settings):
    assert [retention_days(c) for c in (HIGH, STANDARD, GDPR)] == [3650, 180, 90]
    settings.LEXECON_RETENTION_DAYS = {HIGH: 4000, STANDARD: 365, GDPR: 30}
    assert [retention_days(c) for c in (HIGH, STANDARD, GDPR)] == [4000, 365, 30]


def test_decide_writes_the_class(agent, staff):
    officer = staff("olga", "compliance_officer")
    register(officer, "cv-screening", "high", annex_iii_point="4(a)")
    register(officer, "support-bot", "limited")
    cases = [
        ({"ai_system": "cv-screening", "data_classes": ["pii"]}, HIGH),
        ({"ai_system": "support-bot", "data_classes": ["pii"]}, GDPR),
        ({"ai_system": "support-bot"}, STANDARD),
        ({"ai_system": "not-registered", "data_classes": ["customer_data"]}, GDPR),
        ({}, STANDARD),
    ]
    for fields, expected in cases:
        answer = decide(agent, **fields)
        assert Decision.objects.get(pk=answer["decision_id"]).retention_class == expected, fields
        detail = agent.get(f"/decisions/{answer['decision_id']}").json()
        assert (detail["retention_class"], detail["anonymised_at"]) == (expected, None)


def test_the_class_costs_decide_no_query(agent, staff, settings, django_assert_num_queries):
    """With the registry map cached, a decision naming a high-risk system costs exactly the
    queries of one naming no system: the class comes from what /decide already holds."""
    settings.LEXECON_AI_SYSTEM_CACHE_SECONDS = 60
    officer = staff("olga", "compliance_officer")
    register(officer, "cv-screening", "high", annex_iii_point="4(a)")
    decide(agent)  # warm: policy, keys, the agent key, the registry map
    decide(agent, ai_system="cv-screening")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as plain:
        decide(agent)
    with CaptureQueriesContext(connection) as classed:
        answer = decide(agent, ai_system="cv-screening", data_classes=["pii"])
    assert len(classed.captured_queries) == len(plain.captured_queries)
    assert Decision.objects.get(pk=answer["decision_id"]).retention_class == HIGH


def test_a_class_change_of_the_system_reaches_new_decisions_only(agent, staff):
    officer = staff("olga", "compliance_officer")
    register(officer, "support-bot", "limited")
    before = decide(agent, ai_system="support-bot")
    from apps.aisystems import services as registry

    registry.ai_system_update(
        principal=officer,
        system_id="support-bot",
        changes={"risk_class": "high", "annex_iii_point": "5(b)"},
    )
    after = decide(agent, ai_system="support-bot")
    assert Decision.objects.get(pk=before["decision_id"]).retention_class == STANDARD
    assert Decision.objects.get(pk=after["decision_id"]).retention_class == HIGH


def test_evidence_gets_its_class_and_at_least_its_class_length(agent, staff, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "evidence": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    officer = staff("olga", "compliance_officer")
    register(officer, "cv-screening", "high", annex_iii_point="4(a)")
    high = decide(agent, ai_system="cv-screening")
    plain = decide(agent)

    def register_artifact(kind: str, decision_ids=(), metadata=None):
        return evidence.evidence_register(
            principal=officer,
            artifact_type=kind,
            title="t",
            content=ContentFile(b"bytes " + kind.encode()),
            media_type="text/plain",
            decision_ids=decision_ids,
            metadata=metadata,
        )

    linked_high = register_artifact("context_capture", [high["decision_id"]])
    assert linked_high.retention_class == HIGH
    assert linked_high.retention_days == 3650  # the class outlasts the type's 365 days
    assert linked_high.retention_until - linked_high.created_at >= timedelta(days=3649)

    linked_plain = register_artifact("screenshot", [plain["decision_id"]])
    assert (linked_plain.retention_class, linked_plain.retention_days) == (STANDARD, 365)

    named = register_artifact("external_report", metadata={"ai_system": "cv-screening"})
    assert (named.retention_class, named.retention_days) == (HIGH, 3650)

    # The class is a floor: a longer type or request keeps its length.
    settings.LEXECON_RETENTION_DAYS = {HIGH: 1000, STANDARD: 180, GDPR: 90}
    signature = register_artifact("signature", [high["decision_id"]])
    assert (signature.retention_class, signature.retention_days) == (HIGH, 3650)


def test_every_class_is_one_of_three():
    assert set(RetentionClass.values) == {HIGH, STANDARD, GDPR}
