"""Errors of the oversight workflow (all ``ApplicationError``; stable codes, documented in docs/oversight.md)."""

from __future__ import annotations

from apps.core.exceptions import Conflict


class InvalidTransition(Conflict):
    """The escalation is not in a state that allows this move (e.g. already resolved)."""

    code = "invalid_transition"
    default_message = "The escalation is not in a state that allows this action."


class SlaExpired(Conflict):
    """The SLA deadline has passed: the escalation fails closed and can no longer be acted on."""

    code = "sla_expired"
    default_message = "The SLA deadline has passed; the escalation is denied (fail closed)."


class DuplicateApproval(Conflict):
    """Four-eyes: the same person tried to approve twice."""

    code = "duplicate_approval"
    default_message = (
        "You already approved this escalation; a second, different approver is needed."
    )


class AlreadyEscalated(Conflict):
    code = "already_escalated"
    default_message = "This decision already has an escalation."


class EmergencyBypassUsed(Conflict):
    code = "emergency_bypass_used"
    default_message = "An emergency bypass was already executed for this decision (one-time only)."


class NothingToOverride(Conflict):
    code = "nothing_to_override"
    default_message = "The decision already has this outcome; there is nothing to override."


class NotEscalatable(Conflict):
    code = "not_escalatable"
    default_message = "A denied decision is changed by an override, not by an escalation."


class AlreadyAssigned(Conflict):
    code = "already_assigned"
    default_message = "This reviewer is already assigned to the escalation."
