"""The per-system page and the Annex IV document bring the other EU AI Act apps together: the
monitoring (Art. 9, 14, 72) and incidents (Art. 73) sections on the page, their providers in the
document."""

from __future__ import annotations

from apps.techdoc import selectors
from tests.techdoc.conftest import page_url


def test_the_system_page_shows_monitoring_and_incidents(system, staff_page):
    page = staff_page("compliance_officer").get(page_url())
    assert page.status_code == 200
    html = page.content.decode()
    for heading in (
        "Record-keeping (Art. 12, 19)",
        "Risk management (Art. 9)",
        "Serious incidents (Art. 73)",
    ):
        assert heading in html, heading
    assert 'href="#art-9-14-72"' in html
    assert 'href="#art-73"' in html
    assert 'href="#art-12"' in html


def test_the_document_carries_the_monitoring_and_incident_parts(system):
    document = selectors.document_build(
        system=system, window=selectors.default_window(), generated_by="user:1"
    )
    keys = {item["item"]: {part["key"] for part in item["parts"]} for item in document["items"]}
    assert "monitoring.oversight" in keys[3]
    assert "monitoring.risk" in keys[5]
    assert {"monitoring.pmm", "incidents"} <= keys[9]
    missing = {m["part"] for m in document["missing"]}
    assert any(p and p.startswith("monitoring") for p in missing)  # no PMM plan yet
