"""The oversight API: escalations, overrides, responsibility chains and the agent stop.

Who may call what (docs/oversight.md has the full matrix):
- reading escalations: staff with ``accounts.view_dashboard`` or ``accounts.resolve_escalation`` (every
  role); the list and the detail are
  filtered by visibility — a reviewer gets 404 for an escalation not assigned to them;
- acknowledge / resolve: ``accounts.resolve_escalation`` (auditors: 403), plus visibility (404);
- assign: admins and compliance officers (``resolve_escalation`` + ``execute_override``);
- create: agents with scope ``decide`` (their own decisions) or staff with ``resolve_escalation``;
- overrides: ``accounts.execute_override``; stop: ``resolve_escalation`` and authority over the decision.
A refused request writes nothing.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.principals import actor_of
from apps.core.api.permissions import ScopeOrPermission
from apps.core.exceptions import NotFound
from apps.decisions import selectors as decision_selectors
from apps.escalations import selectors, services
from apps.escalations.api.serializers import (
    AgentStopInput,
    AgentStopOutput,
    EscalationAssignInput,
    EscalationCreateInput,
    EscalationListOutput,
    EscalationListQuery,
    EscalationOutput,
    EscalationResolveInput,
    EscalationResolveOutput,
    OverrideExecuteInput,
    OverrideOutput,
    ResponsibilityChainOutput,
)

ERRORS = {
    400: OpenApiResponse(description="invalid input (error shape)"),
    401: OpenApiResponse(description="not signed in / no agent key"),
    403: OpenApiResponse(description="role or scope does not allow this, or no verified OTP"),
    404: OpenApiResponse(description="no such object, or not visible to you"),
}
CONFLICT = {
    409: OpenApiResponse(
        description="state conflict: invalid_transition, sla_expired, duplicate_approval, "
        "already_escalated, not_escalatable, already_assigned, emergency_bypass_used, "
        "nothing_to_override"
    )
}

# Reviewers (resolve_escalation) and the dashboard roles (view_dashboard); what each sees is the
# visibility rule's (a reviewer: what is assigned to them).
CanView = ScopeOrPermission.of(
    None, "accounts.view_dashboard", also=("accounts.resolve_escalation",)
)
CanResolve = ScopeOrPermission.of(None, "accounts.resolve_escalation")
CanCreate = ScopeOrPermission.of("decide", "accounts.resolve_escalation")
CanOverride = ScopeOrPermission.of(None, "accounts.execute_override")


def _staff_decision(request, decision_id):
    """A decision the signed-in staff member may see on oversight pages (404 otherwise)."""
    if not selectors._is_human(request.user):
        raise NotFound("No such decision.")
    return decision_selectors.decision_get(principal=request.user, decision_id=decision_id)


class EscalationCreateApi(APIView):
    permission_classes = [CanCreate]

    @extend_schema(
        operation_id="escalations_create",
        request=EscalationCreateInput,
        responses={201: EscalationOutput, **ERRORS, **CONFLICT},
        examples=[
            OpenApiExample(
                "Second look",
                value={
                    "decision_id": "0b7e4b8e-8a59-4f0e-9c43-6a1d0f6d2f10",
                    "reason": "Customer disputes the refund amount; please check.",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request):
        data = EscalationCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        decision = decision_selectors.decision_get(
            principal=request.user, decision_id=values["decision_id"]
        )
        escalation = services.escalation_create(
            decision=decision,
            reason=values["reason"],
            actor=actor_of(request.user),
            priority=values.get("priority"),
        )
        return Response(selectors.escalation_as_dict(escalation), status=201)


class EscalationListApi(APIView):
    permission_classes = [CanView]

    @extend_schema(
        operation_id="escalations_list",
        parameters=[EscalationListQuery],
        responses={200: EscalationListOutput, **ERRORS},
    )
    def get(self, request):
        query = EscalationListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        queryset = selectors.escalation_list(
            user=request.user, status=params.get("status"), priority=params.get("priority")
        )
        offset, limit = params["offset"], params["limit"]
        return Response(
            {
                "escalations": [
                    selectors.escalation_as_dict(e) for e in queryset[offset : offset + limit]
                ],
                "total": queryset.count(),
            }
        )


class EscalationSlaViolationsApi(APIView):
    permission_classes = [CanView]

    @extend_schema(
        operation_id="escalations_sla_violations",
        responses={200: EscalationListOutput, **ERRORS},
    )
    def get(self, request):
        queryset = selectors.escalation_sla_violations(user=request.user)
        rows = [selectors.escalation_as_dict(e) for e in queryset[:500]]
        return Response({"escalations": rows, "total": queryset.count()})


class EscalationDetailApi(APIView):
    permission_classes = [CanView]

    @extend_schema(operation_id="escalations_get", responses={200: EscalationOutput, **ERRORS})
    def get(self, request, escalation_id):
        escalation = selectors.escalation_get(user=request.user, escalation_id=escalation_id)
        return Response(selectors.escalation_as_dict(escalation))


class EscalationAcknowledgeApi(APIView):
    permission_classes = [CanResolve]

    @extend_schema(
        operation_id="escalations_acknowledge",
        request=None,
        responses={200: EscalationOutput, **ERRORS, **CONFLICT},
    )
    def post(self, request, escalation_id):
        escalation = services.escalation_acknowledge(escalation_id=escalation_id, user=request.user)
        return Response(selectors.escalation_as_dict(escalation))


class EscalationResolveApi(APIView):
    permission_classes = [CanResolve]

    @extend_schema(
        operation_id="escalations_resolve",
        request=EscalationResolveInput,
        responses={200: EscalationResolveOutput, **ERRORS, **CONFLICT},
        examples=[
            OpenApiExample(
                "Approve",
                value={
                    "resolution": "approved",
                    "note": "Refund matches the invoice; customer verified by phone.",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request, escalation_id):
        data = EscalationResolveInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.escalation_resolve(
            escalation_id=escalation_id,
            user=request.user,
            resolution=data.validated_data["resolution"],
            note=data.validated_data["note"],
        )
        body = selectors.escalation_as_dict(result.escalation)
        body["resolved"] = result.resolved
        return Response(body)


class EscalationAssignApi(APIView):
    permission_classes = [CanResolve]  # plus officer authority, checked by the service

    @extend_schema(
        operation_id="escalations_assign",
        request=EscalationAssignInput,
        responses={200: EscalationOutput, **ERRORS, **CONFLICT},
    )
    def post(self, request, escalation_id):
        data = EscalationAssignInput(data=request.data)
        data.is_valid(raise_exception=True)
        assignment = services.escalation_assign(
            escalation_id=escalation_id,
            user=request.user,
            reviewer_username=data.validated_data["reviewer"],
        )
        escalation = selectors.escalation_get(
            user=request.user, escalation_id=assignment.escalation_id
        )
        return Response(selectors.escalation_as_dict(escalation))


def override_as_dict(override) -> dict:
    return {
        "id": str(override.pk),
        "decision_id": str(override.decision_id),
        "override_type": override.override_type,
        "outcome": override.outcome,
        "previous_outcome": override.previous_outcome,
        "executed_by": override.executed_by.get_username(),
        "expires_at": selectors.rfc3339(override.expires_at),
        "capability_token": override.capability_token,
        "ledger_entry_id": override.ledger_seq,
        "created_at": selectors.rfc3339(override.created_at),
    }


class OverrideExecuteApi(APIView):
    permission_classes = [CanOverride]

    @extend_schema(
        operation_id="overrides_execute",
        request=OverrideExecuteInput,
        responses={201: OverrideOutput, **ERRORS, **CONFLICT},
        examples=[
            OpenApiExample(
                "Emergency bypass",
                value={
                    "decision_id": "0b7e4b8e-8a59-4f0e-9c43-6a1d0f6d2f10",
                    "override_type": "emergency_bypass",
                    "justification": "Production outage; CFO approved by phone at 14:02 UTC.",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request):
        data = OverrideExecuteInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        decision = _staff_decision(request, values["decision_id"])
        override = services.override_execute(
            decision=decision,
            user=request.user,
            override_type=values["override_type"],
            justification=values["justification"],
            outcome=values["outcome"],
            expires_at=values.get("expires_at"),
        )
        return Response(override_as_dict(override), status=201)


class ResponsibilityChainApi(APIView):
    permission_classes = [CanView]

    @extend_schema(
        operation_id="responsibility_get",
        responses={200: ResponsibilityChainOutput, **ERRORS},
    )
    def get(self, request, decision_id):
        decision = _staff_decision(request, decision_id)
        return Response(
            {
                "decision_id": str(decision.pk),
                "chain": decision_selectors.responsibility_chain(decision=decision),
            }
        )


class AgentStopApi(APIView):
    permission_classes = [CanResolve]

    @extend_schema(
        operation_id="decisions_stop_agent",
        request=AgentStopInput,
        responses={201: AgentStopOutput, **ERRORS},
    )
    def post(self, request, decision_id):
        data = AgentStopInput(data=request.data)
        data.is_valid(raise_exception=True)
        decision = _staff_decision(request, decision_id)
        stop = services.agent_stop(
            decision=decision, user=request.user, reason=data.validated_data["reason"]
        )
        return Response(
            {
                "id": str(stop.pk),
                "decision_id": str(decision.pk),
                "revoked_jtis": stop.revoked_jtis,
                "ledger_entry_id": stop.ledger_seq,
            },
            status=201,
        )
