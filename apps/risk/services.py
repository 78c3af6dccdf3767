"""Write standalone risk assessments."""

from __future__ import annotations

from typing import Any

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
    result = scoring.assess(
        data_classes=data_classes or [],
        risk_level=risk_level,
        context=context or {},
        caller_dimensions=dimensions or {},
    )
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
