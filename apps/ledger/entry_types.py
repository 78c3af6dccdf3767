"""The one registry of ledger entry types. Each code is documented in docs/audit-and-ledger.md.

A contract test fails on a duplicate or an undocumented code.
"""

from django.db import models


class EntryType(models.TextChoices):
    GENESIS = "ledger.genesis", "Ledger created"
    POLICY_LOADED = "policy.loaded", "Policy version loaded"
    POLICY_ACTIVATED = "policy.activated", "Policy version activated"
    POLICY_SIMULATED = (
        "policy.simulated",
        "Policy version simulated against recent decisions (nothing else written)",
    )
    DECISION_MADE = "decision.made", "Decision made"
    DECISION_RESPONSE_UNCONFIRMED = (
        "decision.response_unconfirmed",
        "Decision's answer not confirmed as sent",
    )
    ESCALATION_CREATED = "escalation.created", "Escalation created"
    ESCALATION_ACKNOWLEDGED = "escalation.acknowledged", "Escalation acknowledged"
    ESCALATION_ASSIGNED = "escalation.assigned", "Escalation assigned to a reviewer"
    ESCALATION_APPROVAL_RECORDED = "escalation.approval_recorded", "Four-eyes approval recorded"
    ESCALATION_RESOLVED = "escalation.resolved", "Escalation resolved"
    ESCALATION_EXPIRED = "escalation.expired", "Escalation expired"
    OVERRIDE_EXECUTED = "override.executed", "Override executed"
    TOKEN_REVOKED = "token.revoked", "Capability token revoked"
    AGENT_STOPPED = "agent.stopped", "Agent stopped by a human (tokens revoked)"
    KEYS_ROTATED = "keys.rotated", "Signing keys rotated"
    EXPORT_CREATED = "export.created", "Audit export created"
    EVIDENCE_REGISTERED = "evidence.registered", "Evidence artifact registered"
    EVIDENCE_LINKED = "evidence.linked", "Evidence artifact linked to a decision or control"
    COMPLIANCE_ATTESTED = "compliance.attested", "Compliance control attested by an officer"
    EVIDENCE_EXPIRED = "evidence.expired", "Evidence artifact expired (retention ended)"
    AI_SYSTEM_REGISTERED = "ai_system.registered", "AI system registered"
    AI_SYSTEM_UPDATED = "ai_system.updated", "AI system changed"
    TECHDOC_NARRATIVE_SAVED = (
        "techdoc.narrative_saved",
        "Technical documentation narrative saved (new version)",
    )
    TECHDOC_GENERATED = "techdoc.generated", "Annex IV technical documentation generated"
    INTERVENTION_RECORDED = "intervention.recorded", "Human intervention recorded (Art. 14)"
    PMM_PLAN_CREATED = "pmm_plan.created", "Post-market monitoring plan created (Art. 72)"
    PMM_PLAN_UPDATED = "pmm_plan.updated", "Post-market monitoring plan changed"
    PMM_PLAN_DELETED = "pmm_plan.deleted", "Post-market monitoring plan deleted"
    DRIFT_ALERT_FIRED = "drift_alert.fired", "Monitoring drift alert fired (Art. 72)"
    DRIFT_ALERT_CLEARED = "drift_alert.cleared", "Monitoring drift alert cleared"
    INCIDENT_OPENED = "incident.opened", "Serious incident opened (EU AI Act Art. 73)"
    INCIDENT_TRANSITIONED = "incident.transitioned", "Serious incident moved to another state"
    INCIDENT_GDPR_NOTIFIED = (
        "incident.gdpr_notified",
        "Supervisory authority notified of an incident's personal-data breach (GDPR Art. 33)",
    )
    INCIDENT_REPORT_GENERATED = "incident.report_generated", "Serious-incident report generated"
    INCIDENT_DEADLINE_WARNING = "incident.deadline_warning", "Serious-incident deadline warning"
    INCIDENT_SUGGESTION_DISMISSED = (
        "incident.suggestion_dismissed",
        "Suggested serious incident dismissed",
    )
    LEGAL_HOLD_PLACED = "legal_hold.placed", "Legal hold placed"
    LEGAL_HOLD_RELEASED = "legal_hold.released", "Legal hold released"
    RETENTION_SWEEP_COMPLETED = (
        "retention.sweep_completed",
        "Retention sweep completed (personal data past retention erased)",
    )
    TEST_EVENT = "test.event", "Test event (tests and benchmarks only)"
