"""The original's request bodies (pydantic, so a misfit answers FastAPI's 422 ``detail`` list) and
the translation of our objects into its response shapes. No rule lives here: every check that
matters is the service's."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from apps.risk import scoring

Score = Field(default=None, ge=0, le=100)


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


# --- Risk ---------------------------------------------------------------------------------------


class RiskDimensionsIn(BaseModel):
    security: float | None = Score
    privacy: float | None = Score
    compliance: float | None = Score
    operational: float | None = Score
    reputational: float | None = Score
    financial: float | None = Score


class RiskAssessIn(BaseModel):
    decision_id: str = Field(min_length=1, max_length=255)
    dimensions: RiskDimensionsIn
    context: dict[str, Any] | None = None


def risk_out(
    *,
    risk_id: str,
    decision_id: str,
    score: float,
    level: str,
    dimensions: dict[str, float],
    at: datetime,
) -> dict[str, Any]:
    """The original's risk shape: all six dimensions (0 where nothing scored one) and one factor
    per dimension with its weight (``apps.risk.scoring.WEIGHTS``)."""
    six = {name: dimensions.get(name, 0) for name in scoring.DIMENSIONS}
    return {
        "risk_id": risk_id,
        "decision_id": decision_id,
        "overall_score": score,
        "risk_level": level,
        "dimensions": six,
        "timestamp": iso(at),
        "factors": [
            {"name": f"{name}_risk", "weight": scoring.WEIGHTS[name], "value": value}
            for name, value in six.items()
            if name in dimensions
        ],
    }


# --- Escalation ---------------------------------------------------------------------------------


class EscalationIn(BaseModel):
    decision_id: str = Field(min_length=1, max_length=255)
    trigger: str = Field(min_length=1, max_length=64)
    escalated_to: list[str] = Field(min_length=1)
    priority: Literal["critical", "high", "medium", "low"] | None = None
    context_summary: str | None = Field(default=None, max_length=500)
    metadata: dict[str, Any] | None = None


class EscalationResolveIn(BaseModel):
    resolved_by: str = Field(min_length=1, max_length=255)
    outcome: str = Field(min_length=1)
    notes: str = ""


def escalation_out(row: dict[str, Any]) -> dict[str, Any]:
    """Our escalation (``escalation_as_dict``) in the original's words; ours kept beside it."""
    resolution = None
    if row["status"] in ("resolved", "expired"):
        resolution = {
            "outcome": row["resolution"],
            "resolved_by": row["resolved_by"],
            "notes": row["note"],
        }
    return {
        "escalation_id": row["id"],
        "decision_id": row["decision_id"],
        "status": row["status"],
        "priority": row["priority"],
        "escalated_to": row["assignees"],
        "context_summary": row["reason"],
        "created_at": row["created_at"],
        "sla_deadline": row["sla_deadline"],
        "resolved_at": row["resolved_at"],
        "resolution": resolution,
        "outcome": row["resolution"],
    }


# --- Override -----------------------------------------------------------------------------------


class OverrideScopeIn(BaseModel):
    is_one_time: bool | None = None
    applies_to_policy: str | None = None
    applies_to_actor: str | None = None


class OverrideIn(BaseModel):
    decision_id: str = Field(min_length=1, max_length=255)
    override_type: str = Field(min_length=1, max_length=64)
    # Who authorised it is the signed-in officer; the original's name is only echoed.
    authorized_by: str = Field(min_length=1, max_length=255)
    justification: str = Field(min_length=20)
    original_outcome: str | None = None
    new_outcome: str | None = None
    expires_at: datetime | None = None
    scope: OverrideScopeIn | None = None
    metadata: dict[str, Any] | None = None


#: The original's outcome words → ours (an override allows or denies).
OUTCOMES = {
    "allowed": "allowed",
    "allow": "allowed",
    "approved": "allowed",
    "permit": "allowed",
    "permitted": "allowed",
    "denied": "denied",
    "deny": "denied",
    "rejected": "denied",
}


def override_out(override: Any) -> dict[str, Any]:
    now_active = override.expires_at is None or override.expires_at > datetime.now(
        tz=override.created_at.tzinfo
    )
    return {
        "override_id": str(override.pk),
        "decision_id": str(override.decision_id),
        "override_type": override.override_type,
        "authorized_by": override.executed_by.get_username(),
        "justification": override.justification,
        "original_outcome": override.previous_outcome,
        "new_outcome": override.outcome,
        "timestamp": iso(override.created_at),
        "expires_at": iso(override.expires_at),
        "is_active": now_active,
        "ledger_entry_id": override.ledger_seq,
    }


# --- Evidence -----------------------------------------------------------------------------------


class EvidenceIn(BaseModel):
    artifact_type: str = Field(min_length=1, max_length=64)
    content: str
    source: str = Field(min_length=1, max_length=200)
    related_decision_ids: list[str] = Field(default_factory=list)
    related_control_ids: list[str] = Field(default_factory=list)
    content_type: str | None = Field(default=None, max_length=100)
    storage_uri: str | None = Field(default=None, max_length=2000)
    retention_days: int | None = Field(default=None, ge=1)
    metadata: dict[str, Any] | None = None


class EvidenceVerifyIn(BaseModel):
    content: str


class EvidenceSignIn(BaseModel):
    signer_id: str = Field(min_length=1, max_length=255)
    signature: str = Field(min_length=1)
    algorithm: str = "RSA-SHA256"


def evidence_out(artifact: dict[str, Any], *, full: bool = False) -> dict[str, Any]:
    """Our artifact (``evidence_as_dict``) in the original's shape."""
    body = {
        "artifact_id": artifact["artifact_id"],
        "artifact_type": artifact["artifact_type"],
        "sha256_hash": artifact["sha256"],
        "created_at": artifact["created_at"],
        "source": artifact["source"],
        "size_bytes": artifact["size_bytes"],
        "retention_until": artifact["retention_until"],
        "is_immutable": True,
    }
    if full:
        body.update(
            content_type=artifact["media_type"],
            storage_uri=(artifact["metadata"] or {}).get("storage_uri"),
            related_decision_ids=artifact["decision_ids"],
            related_control_ids=artifact["control_ids"],
            has_signature=False,
            metadata=artifact["metadata"],
        )
    return body


# --- Compliance ---------------------------------------------------------------------------------


class ControlVerifyIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    notes: str | None = None


class LinkEvidenceIn(BaseModel):
    evidence_artifact_id: str = Field(min_length=1)


def control_out(assessment: dict[str, Any]) -> dict[str, Any]:
    """One control with our computed status, in the original's field names."""
    return {
        "control_id": assessment["control_id"],
        "title": assessment["title"],
        "description": assessment.get("summary") or assessment.get("status_reason"),
        "category": assessment["category"],
        "status": assessment["status"],
        "status_reason": assessment["status_reason"],
        "required_evidence_types": assessment.get("typical_evidence", []),
        "mapped_primitives": assessment["mapped_capabilities"],
        "last_verified": assessment["last_evidence_at"],
        "evidence_count": assessment["evidence_count"],
    }


class MapIn(BaseModel):
    primitive_type: str = Field(min_length=1, max_length=64)
    primitive_id: str = Field(min_length=1, max_length=255)
    framework: str = Field(min_length=1, max_length=64)
    metadata: dict[str, Any] | None = None


#: The original's governance primitives → the ledger entry types that record them here; the
#: crosswalk (``apps.compliance``) says which controls entries of those types evidence.
PRIMITIVE_ENTRY_TYPES: dict[str, list[str]] = {
    "decision": ["decision.made"],
    "risk_assessment": ["decision.made"],
    "escalation": ["escalation.created", "escalation.resolved"],
    "override": ["override.executed"],
    "evidence": ["evidence.registered", "evidence.linked"],
    "evidence_artifact": ["evidence.registered", "evidence.linked"],
}
