"""The AI system registry API: ``GET``/``POST /compliance/ai-systems``,
``GET``/``PATCH /compliance/ai-systems/{id}``.

Who may call what (docs/api.md, "AI system registry"):
- reads: agent keys with scope ``compliance:read``, or staff with ``accounts.view_dashboard``;
- writes (register, change): agent keys with scope ``policies:write``, or staff with
  ``accounts.manage_policies``.
Every write goes through ``apps.aisystems.services`` and is ledgered with it; a refused request
writes nothing (no row, no ledger entry).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import CanReadCompliance
from apps.aisystems import selectors, services
from apps.aisystems.api.serializers import (
    AISystemListOutput,
    AISystemListQuery,
    AISystemOutput,
    AISystemPatchInput,
    AISystemRegisterInput,
    parse,
)
from apps.core.api.permissions import ScopeOrPermission

CanRead = CanReadCompliance
CanWrite = ScopeOrPermission.of("policies:write", "accounts.manage_policies")

ERRORS = {
    400: OpenApiResponse(description="invalid input or classification (error shape)"),
    401: OpenApiResponse(description="no agent key / not signed in"),
    403: OpenApiResponse(description="scope or role does not allow this"),
}
NOT_FOUND = {404: OpenApiResponse(description="no AI system with that id")}

_EXAMPLE = OpenApiExample(
    "A deployer's CV screening assistant (Annex III 4(a), high-risk)",
    value={
        "id": "cv-screening",
        "name": "CV screening assistant",
        "version": "2.1.0",
        "role": "deployer",
        "intended_purpose": "Ranks job applications against the published requirements.",
        "annex_iii_point": "4(a)",
        "risk_class": "high",
        "owner": "user:3",
        "status": "active",
    },
    request_only=True,
)


class _ReadOrWrite(APIView):
    """Reads need the read permission, every other method the write permission."""

    def get_permissions(self):
        allowed = CanRead if self.request.method in SAFE_METHODS else CanWrite
        return [allowed()]


class AISystemListApi(_ReadOrWrite):
    """The registry: list the systems (read) or register one (write, ledgered)."""

    @extend_schema(
        operation_id="ai_systems_list",
        parameters=[AISystemListQuery],
        responses={200: AISystemListOutput, **ERRORS},
    )
    def get(self, request):
        query = AISystemListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        queryset = selectors.ai_system_list(
            status=params.get("status"), risk_class=params.get("risk_class")
        )
        offset, limit = params["offset"], params["limit"]
        return Response(
            {
                "ai_systems": [
                    selectors.ai_system_as_dict(s) for s in queryset[offset : offset + limit]
                ],
                "total": queryset.count(),
            }
        )

    @extend_schema(
        operation_id="ai_systems_register",
        request=AISystemRegisterInput,
        responses={
            201: AISystemOutput,
            **ERRORS,
            409: OpenApiResponse(description="an AI system with this id is already registered"),
        },
        examples=[_EXAMPLE],
    )
    def post(self, request):
        body = parse(AISystemRegisterInput, request.data)
        values = body.model_dump()
        system = services.ai_system_register(
            principal=request.user,
            system_id=values.pop("id"),
            owner=services.owner_from_ref(values.pop("owner")),
            **values,
        )
        system = selectors.ai_system_get(system_id=system.pk)
        return Response(selectors.ai_system_as_dict(system), status=201)


class AISystemDetailApi(_ReadOrWrite):
    """One system: read it, or change some of its fields (write, ledgered when anything
    changes)."""

    @extend_schema(
        operation_id="ai_systems_get", responses={200: AISystemOutput, **ERRORS, **NOT_FOUND}
    )
    def get(self, request, system_id):
        return Response(selectors.ai_system_as_dict(selectors.ai_system_get(system_id=system_id)))

    @extend_schema(
        operation_id="ai_systems_update",
        request=AISystemPatchInput,
        responses={200: AISystemOutput, **ERRORS, **NOT_FOUND},
    )
    def patch(self, request, system_id):
        changes = parse(AISystemPatchInput, request.data).sent()
        if "owner" in changes:
            changes["owner"] = services.owner_from_ref(changes["owner"])
        services.ai_system_update(principal=request.user, system_id=system_id, changes=changes)
        return Response(selectors.ai_system_as_dict(selectors.ai_system_get(system_id=system_id)))
