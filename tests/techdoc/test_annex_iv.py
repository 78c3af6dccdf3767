"""Seam 1: the provider registry other apps write against (apps/techdoc/annex_iv.py)."""

from __future__ import annotations

import pytest

from apps.techdoc import selectors
from apps.techdoc.annex_iv import (
    ANNEX_IV_ITEMS,
    SectionPart,
    Window,
    providers_for,
    register_provider,
    unregister_provider,
)
from tests.techdoc.conftest import SYSTEM_ID, URL, pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def registered_keys():
    """Keys registered by a test, forgotten afterwards (the registry is per process)."""
    keys: list[str] = []
    yield keys
    for key in keys:
        unregister_provider(key)


def parts(document, key):
    return [p for item in document["items"] for p in item["parts"] if p["key"] == key]


def test_nine_items_in_order():
    assert list(ANNEX_IV_ITEMS) == list(range(1, 10))
    assert all(title.strip() for title in ANNEX_IV_ITEMS.values())


def test_every_item_has_the_products_own_provider():
    for item in ANNEX_IV_ITEMS:
        assert providers_for(item), item


def test_registration_is_idempotent_by_key_and_validated(registered_keys):
    def first(system, window):
        return SectionPart(title="first", facts={})

    def second(system, window):
        return SectionPart(title="second", facts={})

    registered_keys.append("test.idempotent")
    register_provider(5, first, key="test.idempotent")
    register_provider(5, first, key="test.idempotent")
    keys = [r.key for r in providers_for(5)]
    assert keys.count("test.idempotent") == 1
    position = keys.index("test.idempotent")
    register_provider(5, second, key="test.idempotent")  # replaces, keeps its place
    again = providers_for(5)
    assert [r.key for r in again].index("test.idempotent") == position
    assert again[position].provider is second
    with pytest.raises(ValueError, match="items 1 to 9"):
        register_provider(10, first, key="test.bad")
    with pytest.raises(ValueError, match="items 1 to 9"):
        register_provider(0, first, key="test.bad")
    with pytest.raises(ValueError, match="non-empty key"):
        register_provider(5, first, key="")


def test_computed_parts_come_before_the_narratives(registered_keys):
    registered_keys.append("test.late")
    register_provider(7, lambda s, w: SectionPart(title="late", facts={}), key="test.late")
    keys = [r.key for r in providers_for(7)]
    assert keys.index("test.late") < keys.index("techdoc.narrative.standards")


def test_another_apps_part_appears_in_every_format(registered_keys, staff_api, system, tmp_path):
    """What helpers R, M and I will do: a provider with facts, rows, text and a missing item."""
    seen: list[Window] = []

    def pmm_plan(ai_system, window):
        seen.append(window)
        return SectionPart(
            title="Post-market monitoring plan",
            facts={
                "metrics": [{"metric": "override rate", "threshold": 0.2}],
                "owner": f"owner of {ai_system.pk}",
            },
            text="Reviewed every quarter by the model owner.",
            missing=("a PMM plan approved by the owner",),
        )

    registered_keys.append("monitoring.pmm_plan")
    register_provider(9, pmm_plan, key="monitoring.pmm_plan")
    client = staff_api("compliance_officer")
    document = client.get(URL, {"ai_system": SYSTEM_ID}).json()
    (part,) = parts(document, "monitoring.pmm_plan")
    assert part["facts"]["metrics"] == [{"metric": "override rate", "threshold": 0.2}]
    assert part["facts"]["owner"] == f"owner of {SYSTEM_ID}"
    assert {
        "item": 9,
        "part": "monitoring.pmm_plan",
        "name": "a PMM plan approved by the owner",
    } in (document["missing"])
    assert seen[0].end > seen[0].start
    html = client.get(URL, {"ai_system": SYSTEM_ID, "format": "html"}).content.decode()
    assert "Post-market monitoring plan" in html
    assert "Reviewed every quarter" in html
    pdf = client.get(URL, {"ai_system": SYSTEM_ID, "format": "pdf"}).content
    text = " ".join(pdf_text(pdf, tmp_path).split())
    assert "Post-market monitoring plan" in text
    assert "override rate" in text
    assert "a PMM plan approved by the owner" in text


def test_a_provider_returning_none_adds_nothing(registered_keys, system):
    registered_keys.append("test.silent")
    register_provider(4, lambda s, w: None, key="test.silent")
    document = selectors.document_build(
        system=system, window=selectors.default_window(), generated_by="user:1"
    )
    assert parts(document, "test.silent") == []


def test_a_failing_provider_is_named_missing_and_the_rest_still_renders(
    registered_keys, system, caplog
):
    def broken(system, window):
        raise KeyError("surprise")

    def wrong_type(system, window):
        return {"title": "not a SectionPart"}

    registered_keys += ["test.broken", "test.wrong"]
    register_provider(5, broken, key="test.broken")
    register_provider(5, wrong_type, key="test.wrong")
    document = selectors.document_build(
        system=system, window=selectors.default_window(), generated_by="user:1"
    )
    (part,) = parts(document, "test.broken")
    assert part["facts"] == {"error": "KeyError"}
    names = [m["name"] for m in document["missing"]]
    assert "the section test.broken (its provider failed)" in names
    assert "the section test.wrong (its provider failed)" in names
    assert not document["complete"]
    assert parts(document, "techdoc.narrative.risk_management")  # the others are still there
    assert "test.broken" in caplog.text


def test_facts_are_made_json_safe(registered_keys, system):
    import datetime
    import decimal
    import uuid

    moment = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    registered_keys.append("test.types")
    register_provider(
        4,
        lambda s, w: SectionPart(
            title="types",
            facts={
                "when": moment,
                "day": moment.date(),
                "id": uuid.UUID(int=1),
                "amount": decimal.Decimal("1.50"),
                "ratio": float("nan"),
                "pair": (1, 2),
                1: "numeric key",
            },
        ),
        key="test.types",
    )
    document = selectors.document_build(
        system=system, window=selectors.default_window(), generated_by="user:1"
    )
    (part,) = parts(document, "test.types")
    assert part["facts"] == {
        "when": "2026-01-02T03:04:05Z",
        "day": "2026-01-02",
        "id": "00000000-0000-0000-0000-000000000001",
        "amount": "1.50",
        "ratio": None,
        "pair": [1, 2],
        "1": "numeric key",
    }
    assert document["content_sha256"] == selectors.content_sha256(document)
