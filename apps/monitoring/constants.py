"""Vocabularies and limits of the EU AI Act monitoring app (docs/eu-ai-act/monitoring.md)."""

from __future__ import annotations

from django.db import models


class InterventionType(models.TextChoices):
    """The kinds of human intervention Art. 14 asks a deployer to be able to make."""

    APPROVAL = "approval", "Approval of the AI recommendation"
    OVERRIDE = "override", "Override of the AI recommendation"
    ESCALATION = "escalation", "Escalation to a higher authority"
    EMERGENCY_STOP = "emergency_stop", "Emergency stop"
    POLICY_EXCEPTION = "policy_exception", "Policy exception"
    MANUAL_REVIEW = "manual_review", "Manual review"


class Recommendation(models.TextChoices):
    ALLOWED = "allowed", "Allow"
    DENIED = "denied", "Deny"


class HumanDecision(models.TextChoices):
    ALLOWED = "allowed", "Allowed"
    DENIED = "denied", "Denied"
    ESCALATED = "escalated", "Escalated"
    STOPPED = "stopped", "Stopped"


# What an intervention of each type implies for the human decision (services.intervention_record):
# an escalation's decision is "escalated", an emergency stop's "stopped"; the others decide.
IMPLIED_DECISION = {
    InterventionType.ESCALATION: HumanDecision.ESCALATED,
    InterventionType.EMERGENCY_STOP: HumanDecision.STOPPED,
}
VERDICTS = (HumanDecision.ALLOWED, HumanDecision.DENIED)

# How much of the decision a person took on, per type (the responsibility record's level).
INTERVENTION_LEVEL = {
    InterventionType.APPROVAL: "supervised",
    InterventionType.MANUAL_REVIEW: "supervised",
    InterventionType.ESCALATION: "shared",
    InterventionType.OVERRIDE: "full",
    InterventionType.EMERGENCY_STOP: "full",
    InterventionType.POLICY_EXCEPTION: "full",
}

REASON_MIN_LENGTH = 10
REASON_MAX_LENGTH = 4000
# A response time above 30 days is a typo, not a measurement.
RESPONSE_TIME_MAX_MS = 30 * 24 * 3600 * 1000


class Metric(models.TextChoices):
    """What a post-market monitoring plan can watch, each computed per window from live data."""

    DECISIONS = "decisions", "Decisions (volume)"
    DENY_RATE = "deny_rate", "Share of decisions denied"
    ESCALATION_RATE = "escalation_rate", "Share of decisions escalated to a human"
    OVERRIDE_RATE = "override_rate", "Share of human verdicts that differ from the AI"
    HIGH_RISK_SHARE = "high_risk_share", "Share of decisions at high or critical risk"
    MEAN_RISK_SCORE = "mean_risk_score", "Mean risk score (0-100)"
    SLA_BREACHES = "sla_breaches", "Escalations that broke their SLA"
    INCIDENTS = "incidents", "Serious incidents (needs apps.incidents)"


class Direction(models.TextChoices):
    UP = "up", "Alert when it rises"
    DOWN = "down", "Alert when it falls"
    EITHER = "either", "Alert when it moves either way"


# Rates over decisions: compared only when both windows hold at least the plan's min_decisions.
DECISION_RATES = frozenset(
    {Metric.DENY_RATE, Metric.ESCALATION_RATE, Metric.HIGH_RISK_SHARE, Metric.MEAN_RISK_SCORE}
)

PLAN_WINDOW_DAYS_MAX = 365
PLAN_DESCRIPTION_MAX_LENGTH = 10_000
# An Art. 72 report lists at most this many windows (narrow the period or widen the window).
REPORT_MAX_WINDOWS = 366
# Art. 9 / 14 figures over at most this long a period.
PERIOD_MAX_DAYS = 3660
# How many rows each "top risk sources" list and the open-mitigation list show.
TOP_SOURCES = 10
MITIGATIONS_SHOWN = 100
