"""Policy API: list, detail, load, activate, and dry-run evaluation (no ledger entry)."""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.principals import actor_of
from apps.compat import base as compat_base
from apps.compat import policies as compat_policies
from apps.compat.errors import CompatError
from apps.core.api.permissions import ScopeOrPermission
from apps.core.exceptions import InvalidInput
from apps.decisions import simulation as replay
from apps.policies import selectors, services, tasks

CanRead = ScopeOrPermission.of("policies:read", "accounts.view_dashboard")
CanWrite = ScopeOrPermission.of("policies:write", "accounts.manage_policies")
ERRORS = {
    400: OpenApiResponse(description="invalid (error shape; details.errors lists every problem)"),
    401: OpenApiResponse(description="not authenticated"),
    403: OpenApiResponse(description="missing scope or permission"),
    404: OpenApiResponse(description="no such version"),
}


def version_summary(version, active_hash: str | None) -> dict:
    return {
        "policy_id": str(version.pk),
        "version_hash": version.version_hash,
        "name": version.name,
        "version": version.version,
        "mode": version.mode,
        "dialect": version.dialect,
        "relations": version.relation_count,
        "loaded_by": version.loaded_by,
        "loaded_at": version.created_at.isoformat().replace("+00:00", "Z"),
        "active": version.version_hash == active_hash,
        "ledger_seq": version.ledger_seq,
    }


Summary = inline_serializer(
    "PolicyVersionSummary",
    {
        "policy_id": serializers.UUIDField(),
        "version_hash": serializers.CharField(),
        "name": serializers.CharField(),
        "version": serializers.CharField(),
        "mode": serializers.CharField(),
        "dialect": serializers.CharField(),
        "relations": serializers.IntegerField(),
        "loaded_by": serializers.CharField(),
        "loaded_at": serializers.CharField(),
        "active": serializers.BooleanField(),
        "ledger_seq": serializers.IntegerField(allow_null=True),
    },
)


class PolicyListApi(APIView):
    permission_classes = [CanRead]

    @extend_schema(
        operation_id="policies_list",
        responses={
            200: inline_serializer(
                "PolicyList",
                {
                    "versions": Summary.__class__(many=True),
                    "active": serializers.CharField(allow_null=True),
                },
            ),
            **ERRORS,
        },
    )
    def get(self, request):
        active = selectors.active_version()
        active_hash = active.version_hash if active else None
        body = {
            "versions": [version_summary(v, active_hash) for v in selectors.versions_list()],
            "active": active_hash,
        }
        return Response(compat_policies.list_answer(body))  # + the original Lexecon's fields


class PolicyDetailApi(APIView):
    permission_classes = [CanRead]

    @extend_schema(operation_id="policies_get", responses={200: Summary, **ERRORS})
    def get(self, request, identifier: str):
        version = selectors.version_get(identifier=identifier)
        active = selectors.active_version()
        body = version_summary(version, active.version_hash if active else None)
        body["document"] = version.document
        return Response(body)


class PolicyLoadApi(APIView):
    permission_classes = [CanWrite]

    class PolicyLoadInput(serializers.Serializer):
        policy = serializers.JSONField()
        activate = serializers.BooleanField(default=False)

    def handle_exception(self, exc):
        if isinstance(exc, CompatError):
            return compat_base.detail_response(exc)
        return super().handle_exception(exc)

    @extend_schema(
        operation_id="policies_load",
        request=PolicyLoadInput,
        responses={
            201: inline_serializer(
                "PolicyLoaded",
                {
                    "policy_id": serializers.UUIDField(),
                    "version_hash": serializers.CharField(),
                    "active": serializers.BooleanField(),
                    "created": serializers.BooleanField(),
                },
            ),
            200: OpenApiResponse(description="the same document was loaded before"),
            **ERRORS,
        },
    )
    def post(self, request):
        if compat_policies.is_original_load(request.data):
            # The original Lexecon's bare document: loaded and activated (apps.compat.policies).
            return Response(
                compat_policies.load_original(
                    request.data, actor=actor_of(request.user), request_id=request.request_id
                )
            )
        data = self.PolicyLoadInput(data=request.data)
        data.is_valid(raise_exception=True)
        loaded = services.policy_load(
            document=data.validated_data["policy"],
            actor=actor_of(request.user),
            activate=data.validated_data["activate"],
        )
        body = {
            "policy_id": str(loaded.version.pk),
            "version_hash": loaded.version.version_hash,
            "active": loaded.active,
            "created": loaded.created,
        }
        return Response(
            compat_policies.load_answer(body, loaded.version),
            status=201 if loaded.created else 200,
        )


class PolicyActivateApi(APIView):
    permission_classes = [CanWrite]

    class PolicyActivateInput(serializers.Serializer):
        reason = serializers.CharField(
            max_length=services.MAX_REASON_LENGTH,
            required=False,
            help_text="Why (kept on the activation; the ledger entry holds its commitment).",
        )

    @extend_schema(
        operation_id="policies_activate",
        request=PolicyActivateInput,
        responses={200: Summary, **ERRORS},
    )
    def post(self, request, identifier: str):
        data = self.PolicyActivateInput(data=request.data)
        data.is_valid(raise_exception=True)
        version = selectors.version_get(identifier=identifier)
        services.policy_activate(
            version=version,
            actor=actor_of(request.user),
            reason=data.validated_data.get("reason"),
        )
        return Response(version_summary(version, version.version_hash))


def simulation_body(simulation, principal) -> dict:
    """A simulation run as the API shows it (examples limited to decisions the caller sees)."""

    def when(value):
        return value.isoformat().replace("+00:00", "Z") if value else None

    return {
        "simulation_id": str(simulation.pk),
        "policy_id": str(simulation.version_id),
        "version_hash": simulation.version.version_hash,
        "baseline_hash": simulation.baseline.version_hash if simulation.baseline else None,
        "status": simulation.status,
        "requested": simulation.requested,
        "total": simulation.total,
        "processed": simulation.processed,
        "percent": simulation.percent,
        "requested_by": simulation.requested_by,
        "created_at": when(simulation.created_at),
        "started_at": when(simulation.started_at),
        "finished_at": when(simulation.finished_at),
        "error": simulation.error or None,
        "ledger_seq": simulation.ledger_seq,
        "result": replay.result_for(principal=principal, result=simulation.result),
        "status_url": reverse("policies-simulation", args=[simulation.pk]),
    }


SimulationSerializer = inline_serializer(
    "PolicySimulation",
    {
        "simulation_id": serializers.UUIDField(),
        "policy_id": serializers.UUIDField(),
        "version_hash": serializers.CharField(),
        "baseline_hash": serializers.CharField(allow_null=True),
        "status": serializers.ChoiceField(choices=["pending", "running", "done", "failed"]),
        "requested": serializers.IntegerField(),
        "total": serializers.IntegerField(help_text="decisions to replay (known once running)"),
        "processed": serializers.IntegerField(),
        "percent": serializers.IntegerField(),
        "requested_by": serializers.CharField(),
        "created_at": serializers.CharField(),
        "started_at": serializers.CharField(allow_null=True),
        "finished_at": serializers.CharField(allow_null=True),
        "error": serializers.CharField(allow_null=True),
        "ledger_seq": serializers.IntegerField(allow_null=True),
        "result": serializers.JSONField(
            allow_null=True,
            help_text="when done: replayed, skipped_erased, flipped, unchanged, outcomes_before, "
            "outcomes_after, flips {'allowed->denied': n}, rules [{rule_id, flips, message}], "
            "examples {'allowed->denied': [...]}, examples_hidden",
        ),
        "status_url": serializers.CharField(),
    },
)


class PolicySimulateApi(APIView):
    """Replay the last N decisions through a version as a Celery task (ADR 0030)."""

    permission_classes = [CanWrite]

    class PolicySimulateInput(serializers.Serializer):
        limit = serializers.IntegerField(
            min_value=1,
            max_value=services.SIMULATION_MAX,
            default=services.SIMULATION_DEFAULT,
            help_text="how many of the latest decisions to replay",
        )

    @extend_schema(
        operation_id="policies_simulate",
        request=PolicySimulateInput,
        responses={
            202: OpenApiResponse(
                SimulationSerializer,
                description="accepted: the run is queued; poll status_url for progress and result",
            ),
            **ERRORS,
        },
        examples=[OpenApiExample("last 5,000 decisions", value={"limit": 5000}, request_only=True)],
    )
    def post(self, request, identifier: str):
        data = self.PolicySimulateInput(data=request.data)
        data.is_valid(raise_exception=True)
        version = selectors.version_get(identifier=identifier)
        with transaction.atomic():
            simulation = services.simulation_request(
                version=version,
                requested=data.validated_data["limit"],
                actor=actor_of(request.user),
            )
            tasks.simulation_enqueue(str(simulation.pk))
        simulation = selectors.simulation_get(identifier=str(simulation.pk))
        body = simulation_body(simulation, request.user)
        return Response(body, status=202, headers={"Location": body["status_url"]})


class PolicySimulationApi(APIView):
    """A simulation's progress and, when done, its result."""

    permission_classes = [CanRead]

    @extend_schema(
        operation_id="policies_simulation_get", responses={200: SimulationSerializer, **ERRORS}
    )
    def get(self, request, simulation_id: str):
        simulation = selectors.simulation_get(identifier=simulation_id)
        return Response(simulation_body(simulation, request.user))


class EvaluationInput(serializers.Serializer):
    actor = serializers.CharField(max_length=200)
    action = serializers.CharField(max_length=200)
    resource = serializers.CharField(max_length=500, required=False, allow_null=True)
    data_classes = serializers.ListField(
        child=serializers.CharField(max_length=100), max_length=50, required=False
    )
    context = serializers.DictField(required=False)


class PolicyEvaluateApi(APIView):
    """Dry run: evaluate a request against the active (or a named) version. Writes nothing."""

    permission_classes = [CanRead]

    class PolicyEvaluateInput(EvaluationInput):
        policy_id = serializers.CharField(max_length=64, required=False)

    @extend_schema(
        operation_id="policies_evaluate",
        request=PolicyEvaluateInput,
        responses={200: OpenApiResponse(description="evaluation result"), **ERRORS},
    )
    def post(self, request):
        data = self.PolicyEvaluateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        identifier = values.pop("policy_id", None)
        if identifier:
            compiled = selectors.compiled_for(selectors.version_get(identifier=identifier))
        else:
            compiled = selectors.active_compiled()
            if compiled is None:
                raise InvalidInput("No policy is active; load one with activate=true.")
        return Response(compiled.evaluate(values).to_dict())
