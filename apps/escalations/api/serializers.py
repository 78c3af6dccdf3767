"""Input and output shapes of the oversight API. Class names are globally unique (they become OpenAPI
component names)."""

from __future__ import annotations

from rest_framework import serializers

from apps.decisions.models import ResponsibilityRecord
from apps.escalations.constants import (
    JUSTIFICATION_MIN_LENGTH,
    NOTE_MAX_LENGTH,
    NOTE_MIN_LENGTH,
    REASON_MIN_LENGTH,
)
from apps.escalations.models import Escalation, Override, Priority


class EscalationCreateInput(serializers.Serializer):
    decision_id = serializers.UUIDField()
    reason = serializers.CharField(min_length=REASON_MIN_LENGTH, max_length=500)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)


class EscalationListQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=Escalation.Status.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    offset = serializers.IntegerField(min_value=0, max_value=10**9, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=500, default=50)


class EscalationResolveInput(serializers.Serializer):
    resolution = serializers.ChoiceField(choices=Escalation.Resolution.choices)
    note = serializers.CharField(min_length=NOTE_MIN_LENGTH, max_length=NOTE_MAX_LENGTH)


class EscalationAssignInput(serializers.Serializer):
    reviewer = serializers.CharField(max_length=150, help_text="username of the reviewer")


class OverrideExecuteInput(serializers.Serializer):
    decision_id = serializers.UUIDField()
    override_type = serializers.ChoiceField(choices=Override.Type.choices)
    justification = serializers.CharField(
        min_length=JUSTIFICATION_MIN_LENGTH, max_length=NOTE_MAX_LENGTH
    )
    outcome = serializers.ChoiceField(
        choices=Override.Outcome.choices,
        default=Override.Outcome.ALLOWED,
        help_text="allowed (default) or denied; only executive_override may deny",
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class AgentStopInput(serializers.Serializer):
    reason = serializers.CharField(min_length=REASON_MIN_LENGTH, max_length=NOTE_MAX_LENGTH)


class EscalationDecisionOutput(serializers.Serializer):
    id = serializers.UUIDField()
    actor = serializers.CharField()
    action = serializers.CharField()
    resource = serializers.CharField(allow_null=True)
    data_classes = serializers.ListField(child=serializers.CharField())
    outcome = serializers.CharField(help_text="the engine's original outcome")
    risk_score = serializers.FloatField()
    risk_level = serializers.CharField()


class EscalationApprovalOutput(serializers.Serializer):
    approver = serializers.CharField()
    at = serializers.DateTimeField()


class EscalationOutput(serializers.Serializer):
    id = serializers.UUIDField()
    decision_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Escalation.Status.choices)
    resolution = serializers.CharField(allow_null=True)
    priority = serializers.ChoiceField(choices=Priority.choices)
    sla_deadline = serializers.DateTimeField()
    seconds_left = serializers.IntegerField(help_text="negative when the deadline has passed")
    overdue = serializers.BooleanField()
    reason = serializers.CharField()
    escalated_by = serializers.CharField(help_text="empty: the policy engine")
    created_at = serializers.DateTimeField()
    assignees = serializers.ListField(child=serializers.CharField())
    acknowledged_by = serializers.CharField(allow_null=True)
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    resolved_by = serializers.CharField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    note = serializers.CharField(allow_null=True)
    approvals = EscalationApprovalOutput(many=True)
    approvals_required = serializers.IntegerField()
    capability_token = serializers.CharField(allow_null=True)
    decision = EscalationDecisionOutput()


class EscalationListOutput(serializers.Serializer):
    escalations = EscalationOutput(many=True)
    total = serializers.IntegerField()


class EscalationResolveOutput(EscalationOutput):
    resolved = serializers.BooleanField(
        help_text="false when a four-eyes approval was recorded and a second approver is needed"
    )


class OverrideOutput(serializers.Serializer):
    id = serializers.UUIDField()
    decision_id = serializers.UUIDField()
    override_type = serializers.ChoiceField(choices=Override.Type.choices)
    outcome = serializers.ChoiceField(choices=Override.Outcome.choices)
    previous_outcome = serializers.CharField()
    executed_by = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)
    capability_token = serializers.CharField(allow_null=True)
    ledger_entry_id = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class ResponsibilityEntryOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ResponsibilityRecord.Kind.choices)
    level = serializers.ChoiceField(choices=ResponsibilityRecord.Level.choices)
    who = serializers.CharField()
    role = serializers.CharField()
    why = serializers.CharField()
    ai_recommendation = serializers.CharField()
    human_decision = serializers.CharField(allow_null=True)
    at = serializers.CharField()
    ledger_seq = serializers.IntegerField()
    escalation_id = serializers.UUIDField(allow_null=True)
    override_id = serializers.UUIDField(allow_null=True)


class ResponsibilityChainOutput(serializers.Serializer):
    decision_id = serializers.UUIDField()
    chain = ResponsibilityEntryOutput(many=True)


class AgentStopOutput(serializers.Serializer):
    id = serializers.UUIDField()
    decision_id = serializers.UUIDField()
    revoked_jtis = serializers.ListField(child=serializers.CharField())
    ledger_entry_id = serializers.IntegerField()
