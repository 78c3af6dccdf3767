"""Compliance posture, incidents and Annex IV gaps: the dashboard shows the owning apps' figures
(compliance statuses, Art. 73 clocks, techdoc's validator) without recomputing them."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from apps.compliance import selectors as compliance
from apps.compliance.rules import STATUSES
from apps.dashboard import selectors
from apps.incidents import selectors as incidents
from apps.techdoc import selectors as techdoc
from tests.compliance.conftest import catalogs  # noqa: F401
from tests.incidents.conftest import body, officer, opened, staff_api, system  # noqa: F401

pytestmark = pytest.mark.django_db


def test_posture_panels_equal_the_owning_apps(catalogs, opened, system, officer):  # noqa: F811
    frameworks = compliance.statistics()["frameworks"]
    cache.delete("dashboard:compliance")
    panel = selectors.compliance_panel()["frameworks"]
    assert [row["id"] for row in panel] == list(frameworks)
    assert len(panel) >= 5
    for row in panel:
        assert {s: row[s] for s in STATUSES} == {s: frameworks[row["id"]][s] for s in STATUSES}
        assert sum(row[s] for s in STATUSES) == row["total"] > 0

    rows = selectors.incidents_panel()
    assert [str(r["incident"].pk) for r in rows] == [opened["id"]]
    clock = incidents.incident_clocks(rows[0]["incident"])[0]
    assert rows[0]["art73"].due_at == clock.due_at
    assert rows[0]["art73"].running

    gaps = selectors.annex_iv_panel()["rows"]
    assert [g["system"].pk for g in gaps] == [system.pk]
    assert gaps[0]["missing"] == len(techdoc.missing_items(system=system)) > 0

    page = officer.get("/dashboard/")
    assert page.status_code == 200
    html = page.content.decode()
    soc2 = next(row for row in panel if row["id"] == "soc2")
    cells = re.search(r'<tr data-framework="soc2">(.*?)</tr>', html, re.S).group(1)
    numbers = re.findall(r"<td class=\"num\">(\d+)</td>", cells)
    assert numbers == [str(soc2[s]) for s in STATUSES]
    assert re.search(r'data-figure="incident-count">1<', html)
    assert re.search(rf'data-figure="annex-{system.pk}">{gaps[0]["missing"]}<', html)
