"""``POST /risks/assess`` and ``GET /risks/{id}``: standalone six-dimension assessments."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import principals
from apps.core.api.permissions import ScopeOrPermission
from apps.core.exceptions import NotFound
from apps.risk import scoring, services
from apps.risk.models import RiskAssessment

CanAssess = ScopeOrPermission.of("decide", "accounts.view_dashboard")


class RiskOut(serializers.Serializer):
    id = serializers.UUIDField()
    score = serializers.FloatField()
    level = serializers.CharField()
    dimensions = serializers.DictField(child=serializers.FloatField())
    sources = serializers.DictField()
    subject = serializers.DictField()
    created_at = serializers.DateTimeField()


def principal_label(request) -> str:
    """Who made this request, pseudonymously (see ``apps.accounts.principals.principal_label``)."""
    return principals.principal_label(request.user)


class RiskAssessApi(APIView):
    permission_classes = [CanAssess]

    class RiskAssessInput(serializers.Serializer):
        dimensions = serializers.DictField(
            child=serializers.FloatField(min_value=0, max_value=100), required=False
        )
        data_classes = serializers.ListField(
            child=serializers.CharField(max_length=100), max_length=50, required=False
        )
        risk_level = serializers.IntegerField(min_value=1, max_value=5, required=False)
        context = serializers.DictField(required=False)
        actor = serializers.CharField(max_length=200, required=False)
        action = serializers.CharField(max_length=200, required=False)

        def validate_dimensions(self, value):
            unknown = sorted(set(value) - set(scoring.DIMENSIONS))
            if unknown:
                raise serializers.ValidationError(
                    f"unknown dimensions {unknown}; use {list(scoring.DIMENSIONS)}"
                )
            return value

        def validate(self, attrs):
            # An assessment is about something and scores something; without either the model
            # refused the row and the client got a 500 (issue 15 §4).
            problems = []
            if not any(attrs.get(name) for name in ("actor", "action", "data_classes")):
                problems.append("Say what is assessed: actor, action or data_classes.")
            context = attrs.get("context") or {}
            if not (
                attrs.get("dimensions")
                or attrs.get("data_classes")
                or "risk_level" in attrs
                or "data_sensitivity" in context
            ):
                problems.append(
                    "Give something to score: dimensions, data_classes, risk_level or "
                    "context.data_sensitivity."
                )
            if problems:
                raise serializers.ValidationError(problems)
            return attrs

    @extend_schema(
        operation_id="risks_assess",
        request=RiskAssessInput,
        responses={201: RiskOut, 400: OpenApiResponse(description="error shape")},
    )
    def post(self, request):
        data = self.RiskAssessInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        assessment = services.risk_assessment_create(
            assessed_by=principal_label(request),
            agent_key_id=getattr(request.user, "key_id", None),
            dimensions=values.get("dimensions"),
            data_classes=values.get("data_classes"),
            risk_level=values.get("risk_level"),
            context=values.get("context"),
            subject={k: values[k] for k in ("actor", "action", "data_classes") if k in values},
        )
        return Response(RiskOut(assessment).data, status=201)


class RiskDetailApi(APIView):
    permission_classes = [CanAssess]

    @extend_schema(operation_id="risks_get", responses={200: RiskOut, 404: OpenApiResponse()})
    def get(self, request, assessment_id):
        assessment = (
            RiskAssessment.objects.visible_to(request.user).filter(pk=assessment_id).first()
        )
        if assessment is None:
            raise NotFound("No such risk assessment.")
        return Response(RiskOut(assessment).data)
