"""The control catalogs as shipped data: the file format, its validation, and name resolution.

One YAML file per framework in ``apps/compliance/catalogs/`` (format ``lexecon-catalog/1``) and one
crosswalk (``lexecon-crosswalk/1``) mapping engine capabilities to controls; docs/compliance.md
describes both. This module is plain Python (no Django) so a catalog can be checked anywhere; the
``load_catalogs`` command writes what it returns into the database.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

CATALOG_DIR = Path(__file__).resolve().parent / "catalogs"
FRAMEWORK_IDS = ("soc2", "iso27001", "gdpr", "hipaa", "pci_dss", "nist_csf", "eu_ai_act")
#: The automatic status rules a control may name (apps/compliance/rules.py implements each).
KNOWN_RULES = frozenset(
    {"staff_mfa", "ledger_integrity", "oversight_sla", "default_deny", "ai_system_inventory"}
)
Relationship = Literal["equal", "subset", "superset", "intersect"]
LicenceClass = Literal["public_domain", "eu_law", "copyrighted_ids_only"]
# Words that only a verbatim copy of a protected text would carry.
COPYRIGHT_MARKS = re.compile(r"©|\(c\)\s*\d{4}|all rights reserved|copyright", re.IGNORECASE)

ControlId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9.()\-_]{0,63}$")]
Line = Annotated[str, StringConstraints(min_length=1, max_length=300, strip_whitespace=True)]
Prose = Annotated[str, StringConstraints(max_length=4000, strip_whitespace=True)]


class CatalogError(ValueError):
    """A catalog file that does not follow the format; the message names the file and the place."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FrameworkMeta(_Strict):
    id: Literal["soc2", "iso27001", "gdpr", "hipaa", "pci_dss", "nist_csf", "eu_ai_act"]
    name: Line
    version: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    publisher: Line
    published: Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")] | None = None
    licence_class: LicenceClass
    copyright: Prose
    source_url: Annotated[str, StringConstraints(max_length=300)] | None = None
    aliases: list[Line] = Field(default_factory=list)


class ControlSpec(_Strict):
    id: ControlId
    parent: ControlId | None = None
    title: Line
    summary: Prose = ""
    category: Annotated[str, StringConstraints(max_length=120)] = ""
    assessable: bool = True
    rule: Annotated[str, StringConstraints(max_length=40)] | None = None
    typical_evidence: list[Line] = Field(default_factory=list)
    attributes: dict[str, Any] = Field(default_factory=dict)
    official_text: Prose | None = None


class CatalogFile(_Strict):
    format: Literal["lexecon-catalog/1"]
    framework: FrameworkMeta
    controls: list[ControlSpec]


class MappingSpec(_Strict):
    id: ControlId
    relationship: Relationship = "intersect"
    rationale: Prose = ""

    @model_validator(mode="before")
    @classmethod
    def _bare_id(cls, value: Any) -> Any:
        """A bare control id stands for ``{id: <it>}`` (relationship ``intersect``)."""
        return {"id": value} if isinstance(value, str | int | float) else value


class CapabilitySpec(_Strict):
    id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
    title: Line
    description: Prose = ""
    entry_types: list[Annotated[str, StringConstraints(pattern=r"^[a-z_]+\.[a-z_]+$")]] = Field(
        default_factory=list
    )
    mappings: dict[str, list[MappingSpec]] = Field(default_factory=dict)


class CrosswalkFile(_Strict):
    format: Literal["lexecon-crosswalk/1"]
    capabilities: list[CapabilitySpec]


@dataclass(frozen=True)
class Catalogs:
    """Every framework's catalog and the crosswalk, validated against each other."""

    frameworks: dict[str, CatalogFile]
    crosswalk: CrosswalkFile
    files: dict[str, Path] = field(default_factory=dict)

    def control_ids(self, framework: str) -> set[str]:
        return {c.id for c in self.frameworks[framework].controls}


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def framework_aliases(catalogs: Catalogs) -> dict[str, str]:
    """Every accepted spelling (squashed: lower case, no punctuation) → the framework id."""
    names: dict[str, str] = {}
    for framework_id, catalog in catalogs.frameworks.items():
        for name in (framework_id, *catalog.framework.aliases):
            names[_squash(name)] = framework_id
    return names


def resolve_framework(name: str, aliases: dict[str, str]) -> str | None:
    """``"SOC2"``, ``"pci-dss"``, ``"PCI_DSS"`` → the framework id; None when unknown."""
    return aliases.get(_squash(name))


def split_tag(tag: str) -> tuple[str, str] | None:
    """A policy rule's control tag ``"SOC2:CC6.1"`` → ``("SOC2", "CC6.1")``; None if not a tag."""
    prefix, sep, control = tag.partition(":")
    if not sep or not prefix.strip() or not control.strip():
        return None
    return prefix.strip(), control.strip()


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path.name}: not valid YAML: {exc}") from exc


def _describe(exc: ValidationError, data: Any) -> str:
    problems = []
    for error in exc.errors()[:10]:
        place = error["loc"]
        where = ".".join(str(p) for p in place)
        # Name the control by id rather than by list index when we can.
        if len(place) >= 2 and place[0] == "controls" and isinstance(place[1], int):
            with contextlib.suppress(KeyError, IndexError, TypeError):
                where = f"control {data['controls'][place[1]]['id']!r}." + ".".join(
                    str(p) for p in place[2:]
                )
        problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)


def parse_catalog(path: Path) -> CatalogFile:
    """Read and check one framework file (format, ids, parents, licence rules)."""
    data = _read_yaml(path)
    try:
        catalog = CatalogFile.model_validate(data)
    except ValidationError as exc:
        raise CatalogError(f"{path.name}: {_describe(exc, data)}") from exc
    if path.stem != catalog.framework.id:
        raise CatalogError(f"{path.name}: names framework {catalog.framework.id!r}")
    seen: set[str] = set()
    for control in catalog.controls:
        where = f"{path.name}: control {control.id!r}"
        if control.id in seen:
            raise CatalogError(f"{where} appears twice")
        if control.parent is not None and control.parent not in seen:
            raise CatalogError(f"{where}: parent {control.parent!r} is not an earlier control")
        if control.rule is not None and control.rule not in KNOWN_RULES:
            raise CatalogError(f"{where}: unknown rule {control.rule!r}")
        if control.rule is not None and not control.assessable:
            raise CatalogError(f"{where}: a group node (assessable: false) cannot have a rule")
        if catalog.framework.licence_class == "copyrighted_ids_only" and control.official_text:
            raise CatalogError(f"{where}: official_text in a copyrighted_ids_only catalog")
        for text in (control.title, control.summary, control.official_text or ""):
            if COPYRIGHT_MARKS.search(text):
                raise CatalogError(f"{where}: carries text marked as copyrighted")
        seen.add(control.id)
    return catalog


def parse_crosswalk(path: Path, frameworks: dict[str, CatalogFile]) -> CrosswalkFile:
    """Read the crosswalk and check that every control it names exists."""
    data = _read_yaml(path)
    try:
        crosswalk = CrosswalkFile.model_validate(data)
    except ValidationError as exc:
        raise CatalogError(f"{path.name}: {_describe(exc, data)}") from exc
    seen: set[str] = set()
    for capability in crosswalk.capabilities:
        if capability.id in seen:
            raise CatalogError(f"{path.name}: capability {capability.id!r} appears twice")
        seen.add(capability.id)
        for framework, mappings in capability.mappings.items():
            if framework not in frameworks:
                raise CatalogError(
                    f"{path.name}: capability {capability.id!r} maps to unknown framework "
                    f"{framework!r}"
                )
            ids = {c.id for c in frameworks[framework].controls}
            for mapping in mappings:
                if mapping.id not in ids:
                    raise CatalogError(
                        f"{path.name}: capability {capability.id!r} names {framework} control "
                        f"{mapping.id!r}, which its catalog does not have"
                    )
    return crosswalk


def load_catalog_dir(directory: Path = CATALOG_DIR) -> Catalogs:
    """Every framework file and the crosswalk in ``directory``, checked; CatalogError otherwise."""
    frameworks: dict[str, CatalogFile] = {}
    files: dict[str, Path] = {}
    for framework_id in FRAMEWORK_IDS:
        path = directory / f"{framework_id}.yaml"
        if not path.exists():
            raise CatalogError(f"{path.name}: missing from {directory}")
        frameworks[framework_id] = parse_catalog(path)
        files[framework_id] = path
    crosswalk_path = directory / "crosswalk.yaml"
    crosswalk = parse_crosswalk(crosswalk_path, frameworks)
    files["crosswalk"] = crosswalk_path
    catalogs = Catalogs(frameworks=frameworks, crosswalk=crosswalk, files=files)
    aliases: dict[str, str] = {}
    for framework_id, catalog in frameworks.items():
        for name in (framework_id, *catalog.framework.aliases):
            owner = aliases.setdefault(_squash(name), framework_id)
            if owner != framework_id:
                raise CatalogError(f"alias {name!r} names both {owner} and {framework_id}")
    return catalogs
