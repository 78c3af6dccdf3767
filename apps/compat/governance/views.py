"""``/api/governance/*`` (risk, escalation, override, evidence, compliance): the original's routes as
thin adapters over our services and selectors (docs/compat.md, "1.8 Governance API").

Each view admits exactly who the native route it wraps admits (the same permission class), calls
the same service, and translates shapes. Ids are ours (UUIDs), returned as-is.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlsplit

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from rest_framework.response import Response

from apps.accounts.permissions import CanReadCompliance
from apps.accounts.principals import actor_of, principal_label
from apps.compat.base import CompatView, as_uuid
from apps.compat.errors import CompatError, parse_or_422
from apps.compat.governance import serializers as shapes
from apps.compliance import selectors as compliance_selectors
from apps.compliance import services as compliance
from apps.compliance.api.views import CanAttest
from apps.decisions import selectors as decision_selectors
from apps.escalations import selectors as escalation_selectors
from apps.escalations import services as escalations
from apps.escalations.api.views import CanCreate, CanOverride, CanResolve, CanView
from apps.evidence import selectors as evidence_selectors
from apps.evidence import services as evidence
from apps.evidence.api.views import CanRead as CanReadEvidence
from apps.evidence.api.views import CanWrite as CanWriteEvidence
from apps.risk import selectors as risk_selectors
from apps.risk import services as risk
from apps.risk.api.views import CanAssess


def _decision(request, decision_id: str):
    """A decision the caller may see (agents: their own), by our id."""
    return decision_selectors.decision_get(principal=request.user, decision_id=as_uuid(decision_id))


# --- Risk ---------------------------------------------------------------------------------------


def _assessment_out(assessment) -> dict[str, Any]:
    return shapes.risk_out(
        risk_id=str(assessment.pk),
        decision_id=str(assessment.subject.get("decision_id", "")),
        score=assessment.score,
        level=assessment.level,
        dimensions=assessment.dimensions,
        at=assessment.created_at,
    )


def _decision_risk_out(decision) -> dict[str, Any]:
    """The assessment ``/decide`` made of the decision itself (its id is the decision's)."""
    return shapes.risk_out(
        risk_id=str(decision.pk),
        decision_id=str(decision.pk),
        score=decision.risk_score,
        level=decision.risk_level,
        dimensions=decision.risk_dimensions,
        at=decision.created_at,
    )


class RiskAssessView(CompatView):
    permission_classes = [CanAssess]

    def post(self, request):
        body = parse_or_422(shapes.RiskAssessIn, request.data)
        decision = _decision(request, body.decision_id)
        if risk_selectors.assessment_about_decision(
            principal=request.user, decision_id=decision.pk
        ):
            raise CompatError(400, f"Decision {decision.pk} already has risk assessment")
        assessment = risk.risk_assessment_create(
            assessed_by=principal_label(request.user),
            agent_key_id=getattr(request.user, "key_id", None),
            dimensions=body.dimensions.model_dump(exclude_none=True),
            context=body.context,
            subject={
                "decision_id": str(decision.pk),
                "actor": decision.actor,
                "action": decision.action,
            },
        )
        return Response(_assessment_out(assessment))


class RiskDetailView(CompatView):
    permission_classes = [CanAssess]

    def get(self, request, risk_id):
        key = as_uuid(risk_id, what="Risk assessment")
        assessment = risk_selectors.assessment_get(principal=request.user, assessment_id=key)
        if assessment is not None:
            return Response(_assessment_out(assessment))
        found = decision_selectors.visible_decisions(principal=request.user).filter(pk=key).first()
        if found is None:
            raise CompatError(404, f"Risk assessment {risk_id} not found")
        return Response(_decision_risk_out(found))


class RiskByDecisionView(CompatView):
    permission_classes = [CanAssess]

    def get(self, request, decision_id):
        decision = _decision(request, decision_id)
        assessment = risk_selectors.assessment_about_decision(
            principal=request.user, decision_id=decision.pk
        )
        if assessment is not None:
            return Response(_assessment_out(assessment))
        return Response(_decision_risk_out(decision))


# --- Escalation ---------------------------------------------------------------------------------


class EscalationCreateView(CompatView):
    permission_classes = [CanCreate]

    def post(self, request):
        body = parse_or_422(shapes.EscalationIn, request.data)
        decision = _decision(request, body.decision_id)
        reason = body.context_summary or f"Escalated ({body.trigger}) through the original API"
        # One request, one outcome: an assignment refused undoes the escalation too.
        with transaction.atomic():
            escalation = escalations.escalation_create(
                decision=decision,
                reason=reason,
                actor=actor_of(request.user),
                priority=body.priority,
            )
            if escalation_selectors.escalation_can_assign(user=request.user):
                for username in body.escalated_to:
                    escalations.escalation_assign(
                        escalation_id=escalation.pk, user=request.user, reviewer_username=username
                    )
        row = escalation_selectors.escalation_as_dict(
            escalation_selectors.escalation_queryset().get(pk=escalation.pk)
        )
        return Response({**shapes.escalation_out(row), "trigger": body.trigger})


class EscalationDetailView(CompatView):
    permission_classes = [CanView]

    def get(self, request, escalation_id):
        escalation = escalation_selectors.escalation_get(
            user=request.user, escalation_id=as_uuid(escalation_id, what="Escalation")
        )
        return Response(shapes.escalation_out(escalation_selectors.escalation_as_dict(escalation)))


RESOLUTIONS = {"approved": "approved", "denied": "denied"}


class EscalationResolveView(CompatView):
    permission_classes = [CanResolve]

    def post(self, request, escalation_id):
        body = parse_or_422(shapes.EscalationResolveIn, request.data)
        key = as_uuid(escalation_id, what="Escalation")
        resolution = RESOLUTIONS.get(body.outcome)
        if resolution is None:
            raise CompatError(
                400,
                f"'{body.outcome}' is not a valid outcome here: approved or denied "
                "(an escalation left open stays pending; there is no 'deferred').",
            )
        escalation = escalation_selectors.escalation_get(user=request.user, escalation_id=key)
        # The original had no acknowledge step; our resolve follows one, so take the case first,
        # in the same transaction: a refused resolution leaves the escalation as it was.
        with transaction.atomic():
            if escalation.status == "pending":
                escalations.escalation_acknowledge(escalation_id=key, user=request.user)
            result = escalations.escalation_resolve(
                escalation_id=key, user=request.user, resolution=resolution, note=body.notes
            )
        row = escalation_selectors.escalation_as_dict(result.escalation)
        out = shapes.escalation_out(row)
        return Response(
            {
                key: out[key]
                for key in ("escalation_id", "decision_id", "status", "priority", "resolved_at")
            }
            | {"outcome": row["resolution"], "resolved": result.resolved}
        )


class EscalationByDecisionView(CompatView):
    permission_classes = [CanView]

    def get(self, request, decision_id):
        decision = _decision(request, decision_id)
        rows = escalation_selectors.escalation_list(user=request.user).filter(decision=decision)
        return Response(
            {
                "decision_id": str(decision.pk),
                "count": len(rows),
                "escalations": [
                    {
                        key: shapes.escalation_out(escalation_selectors.escalation_as_dict(e))[key]
                        for key in (
                            "escalation_id",
                            "status",
                            "priority",
                            "created_at",
                            "resolved_at",
                        )
                    }
                    for e in rows
                ],
            }
        )


class EscalationSlaViolationsView(CompatView):
    permission_classes = [CanView]

    def get(self, request):
        queryset = escalation_selectors.escalation_sla_violations(user=request.user)
        rows = [
            shapes.escalation_out(escalation_selectors.escalation_as_dict(e))
            for e in queryset[:500]
        ]
        return Response({"count": queryset.count(), "violations": rows})


# --- Override -----------------------------------------------------------------------------------


class OverrideCreateView(CompatView):
    permission_classes = [CanOverride]

    def post(self, request):
        body = parse_or_422(shapes.OverrideIn, request.data)
        outcome = shapes.OUTCOMES.get((body.new_outcome or "allowed").lower())
        if outcome is None:
            raise CompatError(400, f"new_outcome '{body.new_outcome}' is neither allow nor deny")
        decision = _decision(request, body.decision_id)
        override = escalations.override_execute(
            decision=decision,
            user=request.user,
            override_type=body.override_type,
            justification=body.justification,
            outcome=outcome,
            expires_at=body.expires_at,
        )
        return Response(shapes.override_out(override))


class OverrideDetailView(CompatView):
    permission_classes = [CanView]

    def get(self, request, override_id):
        override = escalation_selectors.override_get(
            user=request.user, override_id=as_uuid(override_id, what="Override")
        )
        return Response(shapes.override_out(override))


class OverrideByDecisionView(CompatView):
    permission_classes = [CanView]

    def get(self, request, decision_id):
        decision = _decision(request, decision_id)
        overrides = list(decision_selectors.decision_overrides(decision=decision))
        return Response(
            {
                "decision_id": str(decision.pk),
                "count": len(overrides),
                "overrides": [shapes.override_out(o) for o in overrides],
            }
        )


class OverrideActiveView(CompatView):
    permission_classes = [CanView]

    def get(self, request, decision_id):
        decision = _decision(request, decision_id)
        override = escalation_selectors.override_in_force(decision=decision)
        body: dict[str, Any] = {"decision_id": str(decision.pk), "is_overridden": bool(override)}
        if override is not None:
            body["override"] = shapes.override_out(override)
        return Response(body)


class OverrideStatusView(CompatView):
    permission_classes = [CanView]

    def get(self, request, decision_id):
        decision = _decision(request, decision_id)
        state = escalation_selectors.decision_effective_state(decision)
        override = state["override"]
        return Response(
            {
                "decision_id": str(decision.pk),
                "override_status": {
                    "is_overridden": override is not None,
                    "active_override_id": str(override.pk) if override else None,
                    "override_type": override.override_type if override else None,
                    "original_outcome": decision.outcome,
                    "effective_outcome": state["outcome"],
                    "total_overrides": len(
                        decision_selectors.decision_overrides(decision=decision)
                    ),
                },
            }
        )


# --- Evidence -----------------------------------------------------------------------------------


def _artifact(request, artifact_id: str):
    return evidence_selectors.evidence_get(
        principal=request.user, artifact_id=as_uuid(artifact_id, what="Artifact")
    )


class EvidenceStoreView(CompatView):
    permission_classes = [CanWriteEvidence]

    def post(self, request):
        body = parse_or_422(shapes.EvidenceIn, request.data)
        metadata = dict(body.metadata or {})
        if body.storage_uri is not None:
            parts = urlsplit(body.storage_uri)
            if not (parts.scheme and parts.netloc):
                raise CompatError(400, "Invalid storage_uri: must be a URL")
            metadata["storage_uri"] = body.storage_uri
        raw = body.content.encode("utf-8")
        if len(raw) > evidence.max_bytes():
            raise CompatError(413, f"Artifact larger than {evidence.max_bytes()} bytes")
        artifact = evidence.evidence_register(
            principal=request.user,
            artifact_type=body.artifact_type,
            title=f"{body.artifact_type} from {body.source}"[:200],
            content=ContentFile(raw),
            media_type=body.content_type or "text/plain; charset=utf-8",
            source=body.source,
            decision_ids=[as_uuid(i) for i in body.related_decision_ids],
            control_ids=compliance.control_refs_resolve(body.related_control_ids),
            retention_days=body.retention_days,
            metadata=metadata,
        )
        stored = evidence_selectors.evidence_get(principal=request.user, artifact_id=artifact.pk)
        return Response(shapes.evidence_out(evidence_selectors.evidence_as_dict(stored)))


class EvidenceStatisticsView(CompatView):
    permission_classes = [CanReadEvidence]

    def get(self, request):
        stats = evidence_selectors.evidence_statistics(principal=request.user)
        return Response(
            {
                "total_artifacts": stats["total"],
                "total_size_bytes": stats["total_size_bytes"],
                "artifact_types": stats["by_type"],
                "signed_artifacts": 0,
                "decisions_with_evidence": stats["decisions_linked"],
                "controls_with_evidence": stats["controls_linked"],
            }
        )


class EvidenceDetailView(CompatView):
    permission_classes = [CanReadEvidence]

    def get(self, request, artifact_id):
        artifact = _artifact(request, artifact_id)
        return Response(
            shapes.evidence_out(evidence_selectors.evidence_as_dict(artifact), full=True)
        )


class EvidenceVerifyView(CompatView):
    permission_classes = [CanReadEvidence]

    def post(self, request, artifact_id):
        body = parse_or_422(shapes.EvidenceVerifyIn, request.data)
        artifact = _artifact(request, artifact_id)
        result = evidence_selectors.evidence_verify(
            artifact=artifact, chunks=[body.content.encode("utf-8")]
        )
        return Response(
            {
                "artifact_id": str(artifact.pk),
                "is_valid": result["valid"],
                "stored_hash": result["stored_sha256"],
            }
        )


class EvidenceSignView(CompatView):
    """The original stored any string as a signature. We hold no registry of signers' public
    keys to check one against, so a signature is refused rather than recorded unverified."""

    permission_classes = [CanWriteEvidence]

    def post(self, request, artifact_id):
        body = parse_or_422(shapes.EvidenceSignIn, request.data)
        _artifact(request, artifact_id)
        raise CompatError(
            400,
            f"Signer '{body.signer_id}' has no registered public key, so the signature cannot be "
            "verified; unverified signatures are not recorded.",
        )


class EvidenceByDecisionView(CompatView):
    permission_classes = [CanReadEvidence]

    def get(self, request, decision_id):
        decision = _decision(request, decision_id)
        artifacts = evidence_selectors.evidence_list(
            principal=request.user, decision_id=decision.pk
        )
        rows = [shapes.evidence_out(evidence_selectors.evidence_as_dict(a)) for a in artifacts]
        return Response({"decision_id": str(decision.pk), "count": len(rows), "artifacts": rows})


class EvidenceLineageView(CompatView):
    permission_classes = [CanReadEvidence]

    def get(self, request, artifact_id):
        artifact = evidence_selectors.evidence_as_dict(_artifact(request, artifact_id))
        return Response(
            {
                "artifact_id": artifact["artifact_id"],
                "sha256_hash": artifact["sha256"],
                "created_at": artifact["created_at"],
                "registered_by": artifact["registered_by"],
                "ledger_entry_id": artifact["ledger_entry_id"],
                "related_decision_ids": artifact["decision_ids"],
                "related_control_ids": artifact["control_ids"],
            }
        )


# --- Compliance ---------------------------------------------------------------------------------


class ComplianceStatisticsView(CompatView):
    permission_classes = [CanReadCompliance]

    def get(self, request):
        stats = compliance_selectors.statistics()
        frameworks = stats["frameworks"]
        total = sum(f["total"] for f in frameworks.values())
        implemented = sum(f["implemented"] for f in frameworks.values())
        return Response(
            {
                "total_mappings": stats["evidence"]["control_links"],
                "frameworks_tracked": len(frameworks),
                "total_controls": total,
                "verified_controls": implemented,
                "frameworks": sorted(frameworks),
                "overall_verification_rate": round(implemented / total, 4) if total else 0.0,
                "computed_at": stats["computed_at"],
            }
        )


class ControlsView(CompatView):
    permission_classes = [CanReadCompliance]

    def get(self, request, framework):
        found = compliance.framework_resolve(framework)
        status = request.query_params.get("status") or None
        category = request.query_params.get("category") or None
        listed = compliance_selectors.controls_list(found, status=status)
        controls = [
            shapes.control_out(c)
            for c in listed["controls"]
            if category is None or c["category"] == category
        ]
        return Response(
            {
                "framework": found.id,
                "count": len(controls),
                "filters": {"status": status, "category": category},
                "controls": controls,
            }
        )


class ControlDetailView(CompatView):
    permission_classes = [CanReadCompliance]

    def get(self, request, framework, control_id):
        control = compliance.control_resolve(compliance.framework_resolve(framework), control_id)
        detail = compliance_selectors.control_detail(control)
        return Response({"framework": control.framework_id, **shapes.control_out(detail), **detail})


class ControlVerifyView(CompatView):
    """The original set a control to ``verified`` on request; ours records an officer's
    attestation (ledgered, with an expiry) and answers the status computed after it."""

    permission_classes = [CanAttest]

    def post(self, request, framework, control_id):
        body = parse_or_422(shapes.ControlVerifyIn, request.data or {})
        control = compliance.control_resolve(compliance.framework_resolve(framework), control_id)
        attestation = compliance.attestation_create(
            user=request.user, control=control, justification=body.notes or "", evidence_ids=[]
        )
        detail = compliance_selectors.control_detail(control, limit=1)
        return Response(
            {
                "framework": control.framework_id,
                "control_id": control.control_id,
                "status": detail["status"],
                "attestation_id": str(attestation.pk),
                "verified_at": shapes.iso(attestation.created_at),
                "expires_at": shapes.iso(attestation.expires_at),
            }
        )


class ControlLinkEvidenceView(CompatView):
    permission_classes = [CanWriteEvidence]

    def post(self, request, framework, control_id):
        body = parse_or_422(shapes.LinkEvidenceIn, request.data)
        control = compliance.control_resolve(compliance.framework_resolve(framework), control_id)
        result = evidence.evidence_link_control(
            principal=request.user,
            artifact_id=as_uuid(body.evidence_artifact_id, what="Artifact"),
            framework=control.framework_id,
            control_id=control.control_id,
        )
        return Response(
            {
                "framework": control.framework_id,
                "control_id": control.control_id,
                "evidence_artifact_id": str(result.link.artifact_id),
                "linked": True,
                "already_linked": not result.created,
                "ledger_entry_id": result.link.ledger_seq,
            }
        )


class GapsView(CompatView):
    permission_classes = [CanReadCompliance]

    def get(self, request, framework):
        found = compliance.framework_resolve(framework)
        gaps = compliance_selectors.gaps(found, include_partial=True)["gaps"]
        return Response(
            {
                "framework": found.id,
                "gap_count": len(gaps),
                "gaps": [{**shapes.control_out(g), "to_close": g["to_close"]} for g in gaps],
            }
        )


def _coverage(found) -> dict[str, Any]:
    counts = compliance_selectors.statistics()["frameworks"][found.id]
    return {
        "framework": found.id,
        "total_controls": counts["total"],
        "coverage_percent": counts["coverage_percent"],
        "implemented_percent": counts["implemented_percent"],
        "by_status": {
            k: v
            for k, v in counts.items()
            if k not in ("name", "total", "coverage_percent", "implemented_percent")
        },
    }


class CoverageView(CompatView):
    permission_classes = [CanReadCompliance]

    def get(self, request, framework):
        return Response(_coverage(compliance.framework_resolve(framework)))


class ReportView(CompatView):
    permission_classes = [CanReadCompliance]

    def get(self, request, framework):
        found = compliance.framework_resolve(framework)
        listed = compliance_selectors.controls_list(found)
        return Response(
            {
                **_coverage(found),
                "framework_name": found.name,
                "controls": [shapes.control_out(c) for c in listed["controls"]],
                "gaps": [
                    g["control_id"]
                    for g in compliance_selectors.gaps(found, include_partial=True)["gaps"]
                ],
            }
        )


# --- Primitive → control mappings ---------------------------------------------------------------


def _primitive_exists(request, primitive_type: str, primitive_id: str) -> None:
    """A decision or evidence artifact must be one the caller may see (404 otherwise)."""
    if primitive_type in ("decision", "risk_assessment"):
        _decision(request, primitive_id)
    elif primitive_type in ("evidence", "evidence_artifact"):
        _artifact(request, primitive_id)
    else:
        as_uuid(primitive_id, what=primitive_type.capitalize())


def _mapping(primitive_type: str, primitive_id: str, framework) -> dict[str, Any]:
    """Computed, never stored: the framework's controls that the primitive's ledger entries
    evidence (crosswalk), with each control's computed status."""
    controls = compliance_selectors.controls_evidenced_by(
        entry_types=shapes.PRIMITIVE_ENTRY_TYPES[primitive_type], framework=framework
    )
    ids = list(dict.fromkeys(c["control_id"] for c in controls))
    statuses = {
        c["control_id"]: c["status"]
        for c in compliance_selectors.controls_list(framework)["controls"]
        if c["control_id"] in ids
    }
    implemented = [i for i in ids if statuses.get(i) == "implemented"]
    if ids and len(implemented) == len(ids):
        verification = "verified"
    elif implemented:
        verification = "partial"
    else:
        verification = "pending"
    digest = hashlib.sha256(f"{primitive_type}:{primitive_id}".encode()).hexdigest()[:8]
    return {
        "mapping_id": f"map_{framework.id}_{digest}",
        "primitive_type": primitive_type,
        "primitive_id": primitive_id,
        "framework": framework.id,
        "control_ids": ids,
        "control_statuses": statuses,
        "verification_status": verification,
        "via": controls,
    }


class ComplianceMapView(CompatView):
    """The original stored a mapping; ours is computed from the crosswalk each time, so this
    writes nothing and the same request always answers the same ``mapping_id``."""

    permission_classes = [CanReadCompliance]

    def post(self, request):
        body = parse_or_422(shapes.MapIn, request.data)
        if body.primitive_type not in shapes.PRIMITIVE_ENTRY_TYPES:
            raise CompatError(
                400,
                f"Unknown primitive_type '{body.primitive_type}': one of "
                f"{sorted(shapes.PRIMITIVE_ENTRY_TYPES)}",
            )
        framework = compliance.framework_resolve(body.framework)
        _primitive_exists(request, body.primitive_type, body.primitive_id)
        mapping = _mapping(body.primitive_type, body.primitive_id, framework)
        return Response(
            {**mapping, "mapped_at": shapes.iso(timezone.now()), "metadata": body.metadata or {}}
        )


class PrimitiveMappingsView(CompatView):
    """Every framework's controls for a decision or an evidence artifact (found by id among
    those the caller may see), plus an artifact's explicit control links."""

    permission_classes = [CanReadCompliance]

    def get(self, request, primitive_id):
        key = as_uuid(primitive_id, what="Primitive")
        if decision_selectors.visible_decisions(principal=request.user).filter(pk=key).exists():
            kind, links = "decision", []
        else:
            artifact = evidence_selectors.evidence_as_dict(
                evidence_selectors.evidence_get(principal=request.user, artifact_id=key)
            )
            kind, links = "evidence_artifact", artifact["control_ids"]
        mappings = [
            _mapping(kind, str(key), framework)
            for framework in compliance_selectors.frameworks_with_controls()
        ]
        mappings = [m for m in mappings if m["control_ids"]]
        return Response(
            {
                "primitive_id": str(key),
                "primitive_type": kind,
                "count": len(mappings),
                "mappings": mappings,
                "linked_controls": links,
            }
        )
