"""The one registry of ledger entry types. Each code is documented in docs/audit-and-ledger.md.

A contract test fails on a duplicate or an undocumented code.
"""

from django.db import models


class EntryType(models.TextChoices):
    GENESIS = "ledger.genesis", "Ledger created"
    POLICY_LOADED = "policy.loaded", "Policy version loaded"
    POLICY_ACTIVATED = "policy.activated", "Policy version activated"
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
    LEGAL_HOLD_PLACED = "legal_hold.placed", "Legal hold placed"
    LEGAL_HOLD_RELEASED = "legal_hold.released", "Legal hold released"
    RETENTION_SWEEP_COMPLETED = (
        "retention.sweep_completed",
        "Retention sweep completed (personal data past retention erased)",
    )
    TEST_EVENT = "test.event", "Test event (tests and benchmarks only)"
