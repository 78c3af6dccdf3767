"""Write standalone risk assessments."""

from __future__ import annotations

from typing import Any

from apps.core.exceptions import InvalidInput
from apps.risk import scoring
from apps.risk.models import RiskAssessment


def risk_assessment_create(
    *,
    assessed_by: str,
    agent_key_id: str | None = None,
    dimensions: dict[str, Any] | None = None,
    data_classes: list[str] | None = None,
    risk_level: int | None = None,
    context: dict[str, Any] | None = None,
    subject: dict[str, Any] | None = None,
) -> RiskAssessment:
    """Score one standalone assessment and store it; refuse one that names no subject or scores nothing."""
    if not subject:
        message = "Say what is assessed: actor, action or data_classes."
        raise InvalidInput(message, details={"non_field_errors": [message]})
    result = scoring.assess(
        data_classes=data_classes or [],
        risk_level=risk_level,
        context=context or {},
        caller_dimensions=dimensions or {},
    )
    if not result.dimensions:
        message = (
            "Nothing here gives a risk dimension (unknown data classes or sensitivity?): "
            f"give dimensions from {list(scoring.DIMENSIONS)}, a known data class or a risk_level."
        )
        raise InvalidInput(message, details={"non_field_errors": [message]})
    assessment = RiskAssessment(
        score=result.score,
        level=result.level,
        dimensions=result.dimensions,
        sources=result.sources,
        subject=subject or {},
        assessed_by=assessed_by,
        agent_key_id=agent_key_id,
    )
    assessment.full_clean()
    assessment.save()
    return assessment
