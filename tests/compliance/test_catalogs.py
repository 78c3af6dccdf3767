"""The shipped catalogs: valid against the format, complete where the issue says so, free of
copyrighted text, consistent with the crosswalk and the demo policy's control tags; loading them is
idempotent."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

from apps.compliance import catalog, services
from apps.compliance.models import Capability, Control, ControlMapping, Framework

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def shipped() -> catalog.Catalogs:
    return catalog.load_catalog_dir()


def test_every_framework_and_the_crosswalk_validate(shipped):
    assert set(shipped.frameworks) == set(catalog.FRAMEWORK_IDS)
    assert len(shipped.crosswalk.capabilities) >= 11


def test_iso27001_annex_a_has_exactly_93_controls(shipped):
    controls = [c for c in shipped.frameworks["iso27001"].controls if c.assessable]
    assert len(controls) == 93
    themes = {c.id.rsplit(".", 1)[0] for c in controls}
    assert themes == {"A.5", "A.6", "A.7", "A.8"}
    per_theme = {t: sum(c.id.startswith(t + ".") for c in controls) for t in sorted(themes)}
    assert per_theme == {"A.5": 37, "A.6": 8, "A.7": 14, "A.8": 34}


def test_nist_csf_has_its_106_subcategories(shipped):
    subcategories = [c for c in shipped.frameworks["nist_csf"].controls if "-" in c.id]
    assert len(subcategories) == 106


def test_eu_ai_act_lists_the_articles_and_annex_iv(shipped):
    ids = shipped.control_ids("eu_ai_act")
    for number in [*range(4, 28), 43, 47, 48, 49, 72, 73, 86]:
        assert f"Art.{number}" in ids
    assert {f"AnnexIV.{n}" for n in range(1, 10)} <= ids


def test_licence_classes(shipped):
    licences = {fid: c.framework.licence_class for fid, c in shipped.frameworks.items()}
    assert licences == {
        "soc2": "copyrighted_ids_only",
        "iso27001": "copyrighted_ids_only",
        "pci_dss": "copyrighted_ids_only",
        "gdpr": "eu_law",
        "eu_ai_act": "eu_law",
        "hipaa": "public_domain",
        "nist_csf": "public_domain",
    }


def test_no_catalog_carries_text_marked_copyrighted(shipped):
    for framework_id, spec in shipped.frameworks.items():
        for control in spec.controls:
            for text in (control.title, control.summary, control.official_text or ""):
                assert not catalog.COPYRIGHT_MARKS.search(text), (framework_id, control.id)
            if spec.framework.licence_class == "copyrighted_ids_only":
                assert control.official_text is None, (framework_id, control.id)


def test_every_crosswalk_id_exists(shipped):
    for capability in shipped.crosswalk.capabilities:
        for framework_id, mappings in capability.mappings.items():
            ids = shipped.control_ids(framework_id)
            assert {m.id for m in mappings} <= ids, (capability.id, framework_id)


def test_every_control_tag_of_the_example_policies_resolves(shipped):
    aliases = catalog.framework_aliases(shipped)
    for path in sorted((ROOT / "policies" / "examples").glob("*.json")):
        text = json.dumps(json.loads(path.read_text()))
        for tag in sorted(set(_tags(json.loads(text)))):
            prefix, control_id = catalog.split_tag(tag)
            framework_id = catalog.resolve_framework(prefix, aliases)
            assert framework_id, (path.name, tag)
            assert control_id in shipped.control_ids(framework_id), (path.name, tag)


def _tags(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "controls" and isinstance(value, list):
                yield from value
            else:
                yield from _tags(value)
    elif isinstance(node, list):
        for item in node:
            yield from _tags(item)


def test_every_rule_named_exists_and_the_issue_examples_carry_theirs(shipped):
    from apps.compliance.rules import RULES

    assert set(RULES) == set(catalog.KNOWN_RULES)
    by_id = {(fid, c.id): c.rule for fid, s in shipped.frameworks.items() for c in s.controls}
    assert by_id[("soc2", "CC6.1")] == "staff_mfa"
    assert by_id[("iso27001", "A.8.15")] == "ledger_integrity"
    assert by_id[("pci_dss", "10.2")] == "ledger_integrity"
    assert by_id[("eu_ai_act", "Art.12")] == "ledger_integrity"
    assert by_id[("eu_ai_act", "Art.14")] == "oversight_sla"
    assert by_id[("soc2", "CC5.2")] == "oversight_sla"


# --- The format is enforced ------------------------------------------------------------------------


@pytest.fixture
def catalog_copy(tmp_path):
    target = tmp_path / "catalogs"
    shutil.copytree(catalog.CATALOG_DIR, target)
    return target


def _edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


@pytest.mark.parametrize(
    ("file", "change", "message"),
    [
        ("soc2.yaml", lambda d: d["controls"].append(dict(d["controls"][1])), "appears twice"),
        (
            "soc2.yaml",
            lambda d: d["controls"][1].update(parent="NOPE"),
            "is not an earlier control",
        ),
        (
            "iso27001.yaml",
            lambda d: d["controls"][1].update(official_text="The organization shall ..."),
            "official_text in a copyrighted_ids_only catalog",
        ),
        (
            "gdpr.yaml",
            lambda d: d["controls"][1].update(summary="© 2016 someone. All rights reserved."),
            "marked as copyrighted",
        ),
        ("hipaa.yaml", lambda d: d["controls"][1].update(rule="magic"), "unknown rule"),
        ("nist_csf.yaml", lambda d: d["controls"][1].update(colour="red"), "Extra inputs"),
        (
            "pci_dss.yaml",
            lambda d: d["framework"].update(licence_class="free"),
            "licence_class",
        ),
        (
            "crosswalk.yaml",
            lambda d: d["capabilities"][0]["mappings"].update(soc2=["CC99.9"]),
            "which its catalog does not have",
        ),
    ],
)
def test_a_broken_catalog_is_refused_with_its_place(catalog_copy, file, change, message):
    _edit(catalog_copy / file, change)
    with pytest.raises(catalog.CatalogError, match=message) as caught:
        catalog.load_catalog_dir(catalog_copy)
    assert file in str(caught.value)


def test_load_catalogs_check_refuses_a_broken_file_and_writes_nothing(db, catalog_copy):
    from django.core.management.base import CommandError

    _edit(catalog_copy / "soc2.yaml", lambda d: d["controls"].append(dict(d["controls"][1])))
    with pytest.raises(CommandError, match="appears twice"):
        call_command("load_catalogs", "--dir", str(catalog_copy))
    assert Framework.objects.count() == 0
    assert Control.objects.count() == 0


# --- Loading ------------------------------------------------------------------------------------------


def test_load_catalogs_is_idempotent(db, shipped, capsys):
    call_command("load_catalogs")
    first = capsys.readouterr().out
    controls = Control.objects.count()
    assert controls == sum(len(s.controls) for s in shipped.frameworks.values())
    assert Framework.objects.count() == 7
    assert Capability.objects.count() == len(shipped.crosswalk.capabilities)
    snapshot = sorted(Control.objects.values_list("framework_id", "control_id", "title", "rule"))
    mappings = ControlMapping.objects.count()
    assert "0 new" not in first

    call_command("load_catalogs")
    second = capsys.readouterr().out
    assert "0 new, 0 updated, 0 withdrawn" in second
    assert sorted(Control.objects.values_list("framework_id", "control_id", "title", "rule")) == (
        snapshot
    )
    assert ControlMapping.objects.count() == mappings


def test_a_control_dropped_from_a_catalog_is_withdrawn_not_deleted(db, catalog_copy):
    services.catalogs_load(catalog.load_catalog_dir(catalog_copy))
    path = catalog_copy / "gdpr.yaml"
    data = yaml.safe_load(path.read_text())
    referenced = {
        m if isinstance(m, str) else m["id"]
        for cap in yaml.safe_load((catalog_copy / "crosswalk.yaml").read_text())["capabilities"]
        for m in cap.get("mappings", {}).get("gdpr", [])
    }
    parents = {c.get("parent") for c in data["controls"]}
    victim = next(
        c for c in data["controls"] if c["id"] not in referenced and c["id"] not in parents
    )
    data["controls"] = [c for c in data["controls"] if c is not victim]
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))

    report = services.catalogs_load(catalog.load_catalog_dir(catalog_copy))
    assert report.controls_withdrawn == 1
    control = Control.objects.get(framework_id="gdpr", control_id=victim["id"])
    assert control.withdrawn
