"""Reads of stored risk assessments, always through ``RiskAssessment.objects.visible_to``."""

from __future__ import annotations

from typing import Any

from apps.risk.models import RiskAssessment


def assessment_get(*, principal: Any, assessment_id: Any) -> RiskAssessment | None:
    """One assessment ``principal`` may see, or None."""
    return RiskAssessment.objects.visible_to(principal).filter(pk=assessment_id).first()


def assessment_about_decision(*, principal: Any, decision_id: Any) -> RiskAssessment | None:
    """The newest visible standalone assessment whose subject names ``decision_id``, or None."""
    return (
        RiskAssessment.objects.visible_to(principal)
        .filter(subject__decision_id=str(decision_id))
        .order_by("-created_at")
        .first()
    )
