"""The compliance API: frameworks, controls with computed status, gaps, statistics, mappings,
attestations.

Who may call what (docs/api.md, "Compliance"): reads need the agent scope ``compliance:read`` or
staff with ``accounts.view_dashboard``; attesting is for staff with ``accounts.attest_controls``
(compliance officers and administrators; auditors and reviewers read only). Framework ids are
case-insensitive and accept the catalogs' aliases (``SOC2``, ``ISO27001``, ``PCI-DSS``).
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import CanReadCompliance
from apps.compliance import selectors, services
from apps.compliance.api.serializers import (
    AttestInput,
    ControlDetailQuery,
    ControlsQuery,
    GapsQuery,
    MappingsQuery,
)
from apps.core.api.permissions import ScopeOrPermission

CanRead = CanReadCompliance
CanAttest = ScopeOrPermission.of(None, "accounts.attest_controls")

ERRORS = {
    400: OpenApiResponse(description="invalid input (error shape)"),
    401: OpenApiResponse(description="no agent key / not signed in"),
    403: OpenApiResponse(description="scope or role does not allow this"),
    404: OpenApiResponse(description="no such framework or control"),
}
JSON = OpenApiTypes.OBJECT


class FrameworksApi(APIView):
    permission_classes = [CanRead]

    @extend_schema(operation_id="compliance_frameworks", responses={200: JSON, **ERRORS})
    def get(self, request):
        return Response({"frameworks": selectors.frameworks_list()})


class StatisticsApi(APIView):
    permission_classes = [CanRead]

    @extend_schema(operation_id="compliance_statistics", responses={200: JSON, **ERRORS})
    def get(self, request):
        return Response(selectors.statistics())


class MappingsApi(APIView):
    permission_classes = [CanRead]

    @extend_schema(
        operation_id="compliance_mappings",
        parameters=[
            OpenApiParameter("from", str, description="framework id (any alias)"),
            OpenApiParameter("to", str, description="framework id (any alias)"),
        ],
        responses={200: JSON, **ERRORS},
    )
    def get(self, request):
        query = MappingsQuery(
            data={
                k: v
                for k, v in (
                    ("source", request.query_params.get("from")),
                    ("target", request.query_params.get("to")),
                )
                if v
            }
        )
        query.is_valid(raise_exception=True)
        params = query.validated_data
        source = services.framework_resolve(params["source"]) if params.get("source") else None
        target = services.framework_resolve(params["target"]) if params.get("target") else None
        return Response(selectors.mappings(source=source, target=target))


class FrameworkApi(APIView):
    permission_classes = [CanRead]

    @extend_schema(operation_id="compliance_framework", responses={200: JSON, **ERRORS})
    def get(self, request, framework):
        found = services.framework_resolve(framework)
        stats = selectors.statistics()["frameworks"][found.id]
        return Response({**selectors.framework_as_dict(found), "statistics": stats})


class ControlsApi(APIView):
    permission_classes = [CanRead]

    @extend_schema(
        operation_id="compliance_controls",
        parameters=[ControlsQuery],
        responses={200: JSON, **ERRORS},
    )
    def get(self, request, framework):
        query = ControlsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        found = services.framework_resolve(framework)
        return Response(selectors.controls_list(found, status=query.validated_data.get("status")))


class ControlApi(APIView):
    permission_classes = [CanRead]

    @extend_schema(
        operation_id="compliance_control",
        parameters=[ControlDetailQuery],
        responses={200: JSON, **ERRORS},
    )
    def get(self, request, framework, control_id):
        query = ControlDetailQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        control = services.control_resolve(services.framework_resolve(framework), control_id)
        return Response(selectors.control_detail(control, **query.validated_data))


class GapsApi(APIView):
    permission_classes = [CanRead]

    @extend_schema(
        operation_id="compliance_gaps", parameters=[GapsQuery], responses={200: JSON, **ERRORS}
    )
    def get(self, request, framework):
        query = GapsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        found = services.framework_resolve(framework)
        return Response(selectors.gaps(found, **query.validated_data))


class AttestApi(APIView):
    permission_classes = [CanAttest]

    @extend_schema(
        operation_id="compliance_attest",
        request=AttestInput,
        responses={201: JSON, **ERRORS},
    )
    def post(self, request, framework, control_id):
        data = AttestInput(data=request.data)
        data.is_valid(raise_exception=True)
        control = services.control_resolve(services.framework_resolve(framework), control_id)
        values = data.validated_data
        attestation = services.attestation_create(
            user=request.user,
            control=control,
            justification=values["justification"],
            expires_at=values.get("expires_at"),
            evidence_ids=[str(i) for i in values["evidence_ids"]],
            status=values["status"],
        )
        detail = selectors.control_detail(control, limit=1)
        return Response(
            {
                "attestation_id": str(attestation.pk),
                "framework": control.framework_id,
                "control_id": control.control_id,
                "status": attestation.status,
                "expires_at": attestation.expires_at.isoformat().replace("+00:00", "Z"),
                "ledger_entry_id": attestation.ledger_seq,
                "control_status": detail["status"],
            },
            status=201,
        )
