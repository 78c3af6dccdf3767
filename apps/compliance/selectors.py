"""Compliance reads: every control's status (computed now, never stored), evidence counts from the
tally, statistics, gaps, cross-framework mappings, and one control's evidence.

Status: a control with a rule gets the rule's result; a control without one is what its latest
unexpired attestation says, or ``not_implemented``. Evidence counts: the tally of ledger entries
(``services.tally_catch_up``, caught up by at most ``CATCH_UP`` entries on each read and fully by
the ``compliance.tally`` task every minute).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from apps.compliance import services
from apps.compliance.models import (
    Attestation,
    Capability,
    Control,
    ControlEvidence,
    ControlMapping,
    EvidenceTotal,
    Framework,
)
from apps.compliance.rules import (
    IMPLEMENTED,
    NON_COMPLIANT,
    NOT_IMPLEMENTED,
    PARTIAL,
    RULE_DESCRIPTIONS,
    RULES,
    STATUSES,
    RuleContext,
    RuleResult,
)
from apps.evidence.models import EvidenceArtifact, EvidenceControlLink
from apps.ledger.models import LedgerEntry

#: Ledger entries a read counts into the tally before answering (the task does the rest).
CATCH_UP = 20000


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


@dataclass
class Assessment:
    """One control's computed status, the rule result or attestation behind it, its evidence."""

    control: Control
    status: str
    summary: str
    rule: str
    facts: dict[str, Any]
    remedy: str
    attestation: Attestation | None
    evidence_count: int = 0
    last_evidence_at: str | None = None
    capabilities: list[str] = field(default_factory=list)


class Assessor:
    """Computes statuses for many controls with shared facts (one RuleContext per request)."""

    def __init__(self, ctx: RuleContext | None = None, *, catch_up: bool = True) -> None:
        if catch_up:
            services.tally_catch_up(limit=CATCH_UP)
        self.ctx = ctx or RuleContext()
        self._results: dict[str, RuleResult] = {}
        self._caps: dict[int, list[str]] | None = None
        self._tally: dict[str, tuple[int, str | None]] | None = None

    def rule_result(self, rule: str) -> RuleResult:
        if rule not in self._results:
            self._results[rule] = RULES[rule](self.ctx)
        return self._results[rule]

    def capabilities_of(self) -> dict[int, list[str]]:
        if self._caps is None:
            caps: dict[int, list[str]] = defaultdict(list)
            for control_pk, cap_id in ControlMapping.objects.order_by(
                "capability__position"
            ).values_list("control_id", "capability_id"):
                caps[control_pk].append(cap_id)
            self._caps = caps
        return self._caps

    def tally(self) -> dict[str, tuple[int, str | None]]:
        if self._tally is None:
            self._tally = {
                key: (int(count), last_at)
                for key, count, last_at in EvidenceTotal.objects.values_list(
                    "key", "count", "last_at"
                )
            }
        return self._tally

    def latest_attestations(self, controls: list[Control]) -> dict[int, Attestation]:
        """The newest unexpired attestation of each control (one query)."""
        latest: dict[int, Attestation] = {}
        rows = (
            Attestation.objects.filter(
                control__in=[c.pk for c in controls], expires_at__gt=self.ctx.now
            )
            .select_related("attested_by")
            .order_by("control_id", "-created_at", "-id")
        )
        for attestation in rows:
            latest.setdefault(attestation.control_id, attestation)  # type: ignore[attr-defined]
        return latest

    def assess(self, controls: list[Control]) -> list[Assessment]:
        attestations = self.latest_attestations(controls)
        caps = self.capabilities_of()
        tally = self.tally()
        out = []
        for control in controls:
            attestation = attestations.get(control.pk)
            if control.rule:
                result = self.rule_result(control.rule)
                status, summary, facts, remedy = (
                    result.status,
                    result.summary,
                    result.facts,
                    result.remedy,
                )
            elif attestation is not None:
                status = attestation.status
                summary = (
                    f"Attested {attestation.status.replace('_', ' ')} by "
                    f"user:{attestation.attested_by_id} on "  # type: ignore[attr-defined]
                    f"{attestation.created_at:%Y-%m-%d}, valid until "
                    f"{attestation.expires_at:%Y-%m-%d}."
                )
                facts = {"attestation_id": str(attestation.pk)}
                remedy = "" if status == IMPLEMENTED else "Complete the control, then re-attest."
            else:
                status = NOT_IMPLEMENTED
                summary = "No automatic rule covers this control and no valid attestation exists."
                facts = {}
                remedy = (
                    "An officer attests it with a justification and evidence "
                    f"(POST /compliance/{control.framework_id}/controls/{control.control_id}/attest)."
                )
            count, last = tally.get(f"ctl:{control.pk}", (0, None))
            control_caps = caps.get(control.pk, [])
            for cap_id in control_caps:
                cap_count, cap_last = tally.get(f"cap:{cap_id}", (0, None))
                count += cap_count
                if cap_last and (last is None or cap_last > last):
                    last = cap_last
            out.append(
                Assessment(
                    control=control,
                    status=status,
                    summary=summary,
                    rule=control.rule,
                    facts=facts,
                    remedy=remedy,
                    attestation=attestation,
                    evidence_count=count,
                    last_evidence_at=last,
                    capabilities=control_caps,
                )
            )
        return out


#: What a list or a statistic needs of a control (not its summary, texts or attribute maps).
LIST_FIELDS = (
    "id",
    "framework_id",
    "control_id",
    "title",
    "category",
    "rule",
    "position",
    "parent__control_id",
)


def assessable_controls(framework: Framework | None = None, *, full: bool = False) -> list[Control]:
    """The controls a status is computed for (one framework's, or all in catalog order)."""
    controls = Control.objects.filter(assessable=True, withdrawn=False).select_related("parent")
    if framework is not None:
        controls = controls.filter(framework=framework)
    if not full:
        controls = controls.only(*LIST_FIELDS)
    return list(controls.order_by("framework__position", "position"))


def assessment_as_dict(a: Assessment, *, detail: bool = False) -> dict[str, Any]:
    control = a.control
    data: dict[str, Any] = {
        "control_id": control.control_id,
        "title": control.title,
        "category": control.category,
        "parent": control.parent.control_id if control.parent else None,
        "status": a.status,
        "status_reason": a.summary,
        "rule": a.rule or None,
        "evidence_count": a.evidence_count,
        "last_evidence_at": a.last_evidence_at,
        "mapped_capabilities": a.capabilities,
    }
    if detail:
        data.update(
            {
                "summary": control.summary,
                "typical_evidence": control.typical_evidence,
                "attributes": control.attributes,
                "rule_description": RULE_DESCRIPTIONS.get(a.rule) if a.rule else None,
                "facts": a.facts,
                "remedy": a.remedy or None,
            }
        )
        if control.framework.licence_class != "copyrighted_ids_only" and control.official_text:
            data["official_text"] = control.official_text
    return data


def framework_as_dict(framework: Framework) -> dict[str, Any]:
    return {
        "id": framework.id,
        "name": framework.name,
        "version": framework.version,
        "publisher": framework.publisher,
        "published": framework.published or None,
        "licence_class": framework.licence_class,
        "copyright": framework.copyright,
        "source_url": framework.source_url or None,
        "aliases": framework.aliases,
    }


def frameworks_list() -> list[dict[str, Any]]:
    counts = defaultdict(int)
    for framework_id in Control.objects.filter(assessable=True, withdrawn=False).values_list(
        "framework_id", flat=True
    ):
        counts[framework_id] += 1
    return [{**framework_as_dict(f), "controls": counts[f.id]} for f in Framework.objects.all()]


def controls_list(framework: Framework, *, status: str | None = None) -> dict[str, Any]:
    assessments = Assessor().assess(assessable_controls(framework))
    if status:
        assessments = [a for a in assessments if a.status == status]
    return {
        "framework": framework.id,
        "name": framework.name,
        "licence_class": framework.licence_class,
        "copyright": framework.copyright,
        "controls": [assessment_as_dict(a) for a in assessments],
    }


def _status_counts(assessments: list[Assessment]) -> dict[str, Any]:
    counts = dict.fromkeys(STATUSES, 0)
    for a in assessments:
        counts[a.status] += 1
    total = len(assessments)
    covered = counts[IMPLEMENTED] + counts[PARTIAL]
    return {
        "total": total,
        **counts,
        "coverage_percent": round(100.0 * covered / total, 1) if total else 0.0,
        "implemented_percent": round(100.0 * counts[IMPLEMENTED] / total, 1) if total else 0.0,
    }


def statistics() -> dict[str, Any]:
    assessor = Assessor()
    by_framework: dict[str, list[Assessment]] = defaultdict(list)
    for assessment in assessor.assess(assessable_controls()):
        by_framework[assessment.control.framework_id].append(assessment)  # type: ignore[attr-defined]
    frameworks = {
        framework.id: {"name": framework.name, **_status_counts(by_framework[framework.id])}
        for framework in Framework.objects.all()
    }
    tally = assessor.tally()
    evidence_entries = sum(n for key, (n, _) in tally.items() if key.startswith("ctl:"))
    return {
        "frameworks": frameworks,
        "evidence": {
            "artifacts": EvidenceArtifact.objects.count(),
            "control_links": EvidenceControlLink.objects.count(),
            "attestations": Attestation.objects.count(),
            "attestations_valid": Attestation.objects.filter(
                expires_at__gt=assessor.ctx.now
            ).count(),
            "entries_naming_controls": evidence_entries,
            "entries_by_capability": {
                key[4:]: n for key, (n, _) in sorted(tally.items()) if key.startswith("cap:")
            },
        },
        "computed_at": _iso(assessor.ctx.now),
    }


def gaps(framework: Framework, *, include_partial: bool = False) -> dict[str, Any]:
    wanted = {NOT_IMPLEMENTED, NON_COMPLIANT} | ({PARTIAL} if include_partial else set())
    order = {NON_COMPLIANT: 0, PARTIAL: 1, NOT_IMPLEMENTED: 2}
    assessments = [
        a for a in Assessor().assess(assessable_controls(framework)) if a.status in wanted
    ]
    assessments.sort(key=lambda a: (order[a.status], a.control.position))
    return {
        "framework": framework.id,
        "gaps": [
            {
                **assessment_as_dict(a),
                "to_close": a.remedy,
                "typical_evidence": a.control.typical_evidence,
            }
            for a in assessments
        ],
    }


def mappings(*, source: Framework | None, target: Framework | None) -> dict[str, Any]:
    """Control pairs of two frameworks that evidence the same capability (DOMAIN B.7)."""
    rows = ControlMapping.objects.select_related("control", "capability").order_by(
        "capability__position", "control__framework__position", "control__position"
    )
    by_cap: dict[str, list[ControlMapping]] = defaultdict(list)
    for row in rows:
        by_cap[row.capability_id].append(row)  # type: ignore[attr-defined]
    pairs: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for cap_id, members in by_cap.items():
        left = [m for m in members if source is None or m.control.framework_id == source.id]  # type: ignore[attr-defined]
        right = [m for m in members if target is None or m.control.framework_id == target.id]  # type: ignore[attr-defined]
        for a in left:
            for b in right:
                fa, fb = a.control.framework_id, b.control.framework_id  # type: ignore[attr-defined]
                if fa == fb:
                    continue
                key = (fa, a.control.control_id, fb, b.control.control_id)
                pair = pairs.setdefault(
                    key,
                    {
                        "from": {
                            "framework": fa,
                            "control_id": a.control.control_id,
                            "title": a.control.title,
                        },
                        "to": {
                            "framework": fb,
                            "control_id": b.control.control_id,
                            "title": b.control.title,
                        },
                        "via": [],
                        "relationship": "equal",
                    },
                )
                pair["via"].append(cap_id)
                if a.relationship != "equal" or b.relationship != "equal":
                    pair["relationship"] = "intersect"
    return {
        "from": source.id if source else None,
        "to": target.id if target else None,
        "capabilities": [
            {"id": c.id, "title": c.title, "entry_types": c.entry_types}
            for c in Capability.objects.all()
        ],
        "mappings": list(pairs.values()),
    }


def control_detail(control: Control, *, offset: int = 0, limit: int = 50) -> dict[str, Any]:
    assessor = Assessor()
    (assessment,) = assessor.assess([control])
    direct = ControlEvidence.objects.filter(control=control).order_by("-ledger_seq")
    total = direct.count()
    items = [
        {
            "ledger_seq": row.ledger_seq,
            "entry_type": row.entry_type,
            "via": row.via,
            "at": row.at,
        }
        for row in direct[offset : offset + limit]
    ]
    artifacts = [
        {
            "artifact_id": str(link.artifact_id),  # type: ignore[attr-defined]
            "artifact_type": link.artifact.artifact_type,
            "title": link.artifact.title,
            "sha256": link.artifact.sha256,
            "linked_at_seq": link.ledger_seq,
        }
        for link in EvidenceControlLink.objects.filter(
            framework=control.framework_id, control_id=control.control_id
        )
        .select_related("artifact")
        .order_by("-ledger_seq")[:50]
    ]
    tally = assessor.tally()
    capability_evidence = []
    for cap in Capability.objects.filter(id__in=assessment.capabilities):
        n, last = tally.get(f"cap:{cap.id}", (0, None))
        newest = list(
            LedgerEntry.objects.filter(entry_type__in=cap.entry_types)
            .order_by("-seq")
            .values("seq", "entry_type", "timestamp")[:5]
        )
        capability_evidence.append(
            {
                "capability": cap.id,
                "title": cap.title,
                "entry_types": cap.entry_types,
                "count": n,
                "last_at": last,
                "newest": [
                    {"ledger_seq": e["seq"], "entry_type": e["entry_type"], "at": e["timestamp"]}
                    for e in newest
                ],
            }
        )
    attestations = [
        {
            "attestation_id": str(a.pk),
            "status": a.status,
            "justification": a.justification,
            "evidence_ids": a.evidence_ids,
            "attested_by": f"user:{a.attested_by_id}",  # type: ignore[attr-defined]
            "created_at": _iso(a.created_at),
            "expires_at": _iso(a.expires_at),
            "expired": a.expires_at <= assessor.ctx.now,
            "ledger_seq": a.ledger_seq,
        }
        for a in Attestation.objects.filter(control=control).order_by("-created_at", "-id")[:50]
    ]
    return {
        "framework": control.framework_id,
        **assessment_as_dict(assessment, detail=True),
        "attestations": attestations,
        "artifacts": artifacts,
        "evidence": {"total": total, "offset": offset, "limit": limit, "items": items},
        "capability_evidence": capability_evidence,
    }


def controls_evidenced_by(
    *, entry_types: list[str], framework: Framework | None = None
) -> list[dict[str, Any]]:
    """The controls (of ``framework``, or of every framework) that ledger entries of
    ``entry_types`` evidence through the crosswalk: capability → control, with the relationship."""
    wanted = set(entry_types)
    capabilities = [c for c in Capability.objects.all() if wanted & set(c.entry_types)]
    rows = ControlMapping.objects.filter(capability__in=capabilities).select_related(
        "control", "capability"
    )
    if framework is not None:
        rows = rows.filter(control__framework=framework)
    return [
        {
            "framework": row.control.framework_id,  # type: ignore[attr-defined]
            "control_id": row.control.control_id,
            "title": row.control.title,
            "capability": row.capability_id,  # type: ignore[attr-defined]
            "relationship": row.relationship,
        }
        for row in rows.order_by("control__framework__position", "control__position")
    ]


def frameworks_with_controls() -> list[Framework]:
    """Every loaded framework, in catalog order."""
    return list(Framework.objects.all())
