"""The EU AI Act monitoring API: Art. 9 summary, Art. 14 interventions and effectiveness,
Art. 72 plans and report (docs/api.md, "EU AI Act monitoring"; ADR 0022).

Who may call what:
- reads (summary, effectiveness, plans, report): agent scope ``compliance:read`` or staff with
  ``accounts.view_dashboard``;
- recording an intervention: staff with ``accounts.resolve_escalation`` or
  ``accounts.execute_override``, about a decision they may see (404 otherwise);
- creating, changing and deleting plans: staff with ``accounts.manage_policies``.
Writes go through ``apps.monitoring.services`` and are ledgered there; a refused request writes
nothing (no row, no ledger entry). Session writes need the CSRF token.
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import CanReadCompliance
from apps.aisystems.services import owner_from_ref
from apps.compat.base import OriginalFormMixin
from apps.compat.euaiact import article14 as original
from apps.core.api.inputs import parse
from apps.core.api.permissions import (
    IsVerifiedPrincipal,
    ScopeOrPermission,
    is_agent,
    is_verified_staff,
)
from apps.monitoring import selectors, services
from apps.monitoring.api.serializers import (
    InterventionInput,
    PeriodQuery,
    PlanCreateInput,
    PlanListQuery,
    PlanPatchInput,
    ReportQuery,
    metrics_as_dicts,
)
from apps.monitoring.constants import INTERVENTION_LEVEL, InterventionType
from apps.monitoring.periods import period, stamp

CanRead = CanReadCompliance
CanManagePlans = ScopeOrPermission.of(None, "accounts.manage_policies")
# Art. 9 and 14 figures look back this far by default; the Art. 72 report a quarter.
DEFAULT_DAYS = 30
REPORT_DEFAULT_DAYS = 90


class CanIntervene(BasePermission):
    """Staff who take part in oversight: ``resolve_escalation`` or ``execute_override``."""

    def has_permission(self, request, view) -> bool:
        if is_agent(request):
            self.message = (
                "This route is for staff with the resolve_escalation or execute_override "
                "permission; agent keys cannot use it."
            )
            return False
        if is_verified_staff(request):
            self.message = (
                "Your role grants neither resolve_escalation nor execute_override, one of which "
                "this needs."
            )
            return services.can_intervene(request.user)
        self.message = IsVerifiedPrincipal.message
        return False


ERRORS = {
    400: OpenApiResponse(description="invalid input (error shape)"),
    401: OpenApiResponse(description="no agent key / not signed in"),
    403: OpenApiResponse(description="scope or role does not allow this"),
}
JSON = OpenApiTypes.OBJECT


def _period(request, *, default_days: int, query_class=PeriodQuery):
    query = query_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    params = query.validated_data
    window = period(
        params.get("from"), params.get("to"), default_days=default_days, now=timezone.now()
    )
    return params.get("ai_system") or None, window


class Art9SummaryApi(APIView):
    """Risk management over a period (Art. 9)."""

    permission_classes = [CanRead]

    @extend_schema(
        operation_id="eu_ai_act_article_9_summary",
        parameters=[PeriodQuery],
        responses={200: JSON, **ERRORS},
    )
    def get(self, request):
        ai_system, window = _period(request, default_days=DEFAULT_DAYS)
        return Response(
            selectors.art9_summary(ai_system=ai_system, window=window, principal=request.user)
        )


class InterventionApi(OriginalFormMixin, APIView):
    """Record a human intervention on a decision (Art. 14): a ledger entry and a
    responsibility record; the decision's outcome is not changed. A body in the original
    Lexecon's form is translated by ``apps.compat`` (docs/compat.md)."""

    permission_classes = [CanIntervene]

    def is_original_form(self, request) -> bool:
        return original.is_original_intervention(request)

    @extend_schema(
        operation_id="eu_ai_act_article_14_intervention",
        request=InterventionInput,
        responses={201: JSON, **ERRORS, 404: OpenApiResponse(description="no such decision")},
        examples=[
            OpenApiExample(
                "A reviewer sets aside the AI's approval after a manual review",
                value={
                    "decision_id": "0190f4c2-6a1e-7c3b-9d2f-3b8e1a2c4d5e",
                    "intervention_type": "manual_review",
                    "ai_recommendation": "allowed",
                    "human_decision": "denied",
                    "role": "reviewer",
                    "reason": "The applicant's documents do not match the declared employer.",
                    "response_time_ms": 95000,
                },
                request_only=True,
            )
        ],
    )
    def post(self, request):
        if self.original_form:
            return original.intervention(request)
        body = parse(InterventionInput, request.data)
        intervention = services.intervention_record(user=request.user, **body.model_dump())
        return Response(
            {
                "intervention_id": str(intervention.pk),
                "decision_id": str(intervention.decision_id),
                "ai_system": intervention.ai_system or None,
                "intervention_type": intervention.intervention_type,
                "ai_recommendation": intervention.ai_recommendation,
                "human_decision": intervention.human_decision,
                "role": intervention.role,
                "response_time_ms": intervention.response_time_ms,
                "responsibility_level": INTERVENTION_LEVEL[
                    InterventionType(intervention.intervention_type)
                ],
                "recorded_by": f"user:{intervention.user_id}",
                "recorded_at": stamp(intervention.created_at),
                "ledger_entry_id": intervention.ledger_seq,
            },
            status=201,
        )


class Art14EffectivenessApi(OriginalFormMixin, APIView):
    """How human oversight worked over a period (Art. 14). With the original Lexecon's
    ``time_period_days`` its fields are added (docs/compat.md)."""

    permission_classes = [CanRead]

    def is_original_form(self, request) -> bool:
        return original.is_original_effectiveness(request)

    @extend_schema(
        operation_id="eu_ai_act_article_14_effectiveness",
        parameters=[PeriodQuery],
        responses={200: JSON, **ERRORS},
    )
    def get(self, request):
        if self.original_form:
            return original.effectiveness(request)
        ai_system, window = _period(request, default_days=DEFAULT_DAYS)
        return Response(selectors.art14_effectiveness(ai_system=ai_system, window=window))


class _ReadOrManage(APIView):
    def get_permissions(self):
        allowed = CanRead if self.request.method in SAFE_METHODS else CanManagePlans
        return [allowed()]


class PlanListApi(_ReadOrManage):
    """The post-market monitoring plans (Art. 72): list them, or create one."""

    @extend_schema(
        operation_id="eu_ai_act_pmm_plans_list",
        parameters=[PlanListQuery],
        responses={200: JSON, **ERRORS},
    )
    def get(self, request):
        query = PlanListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        plans = selectors.pmm_plan_list(ai_system=query.validated_data.get("ai_system"))
        return Response({"plans": [selectors.pmm_plan_as_dict(plan) for plan in plans]})

    @extend_schema(
        operation_id="eu_ai_act_pmm_plans_create",
        request=PlanCreateInput,
        responses={
            201: JSON,
            **ERRORS,
            409: OpenApiResponse(description="the system has a live plan already"),
        },
        examples=[
            OpenApiExample(
                "Watch denials, overrides and SLA breaches weekly",
                value={
                    "ai_system": "cv-screening",
                    "owner": "user:3",
                    "window_days": 7,
                    "min_decisions": 50,
                    "metrics": [
                        {"metric": "deny_rate", "threshold": 0.05, "direction": "up"},
                        {"metric": "override_rate", "threshold": 0.1},
                        {"metric": "sla_breaches", "threshold": 2, "direction": "up"},
                    ],
                    "description": "Weekly review by the HR compliance lead.",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request):
        body = parse(PlanCreateInput, request.data)
        plan = services.pmm_plan_create(
            principal=request.user,
            ai_system_id=body.ai_system,
            owner=owner_from_ref(body.owner),
            metrics=metrics_as_dicts(body.metrics),
            window_days=body.window_days,
            min_decisions=body.min_decisions,
            description=body.description,
        )
        return Response(
            selectors.pmm_plan_as_dict(selectors.pmm_plan_get(plan_id=plan.pk)), status=201
        )


class PlanDetailApi(_ReadOrManage):
    """One live plan: read, change (ledgered when anything changes) or delete (withdraw)."""

    @extend_schema(
        operation_id="eu_ai_act_pmm_plan_get",
        responses={200: JSON, **ERRORS, 404: OpenApiResponse(description="no such live plan")},
    )
    def get(self, request, plan_id):
        return Response(selectors.pmm_plan_as_dict(selectors.pmm_plan_get(plan_id=plan_id)))

    @extend_schema(
        operation_id="eu_ai_act_pmm_plan_update",
        request=PlanPatchInput,
        responses={200: JSON, **ERRORS, 404: OpenApiResponse(description="no such live plan")},
    )
    def patch(self, request, plan_id):
        changes = parse(PlanPatchInput, request.data).sent()
        if "owner" in changes:
            changes["owner"] = owner_from_ref(changes["owner"])
        if "metrics" in changes:
            changes["metrics"] = metrics_as_dicts(changes["metrics"])
        services.pmm_plan_update(principal=request.user, plan_id=plan_id, changes=changes)
        return Response(selectors.pmm_plan_as_dict(selectors.pmm_plan_get(plan_id=plan_id)))

    @extend_schema(
        operation_id="eu_ai_act_pmm_plan_delete",
        responses={
            204: OpenApiResponse(description="withdrawn"),
            **ERRORS,
            404: OpenApiResponse(description="no such live plan"),
        },
    )
    def delete(self, request, plan_id):
        services.pmm_plan_delete(principal=request.user, plan_id=plan_id)
        return Response(status=204)


class Art72ReportApi(APIView):
    """The post-market monitoring report of one AI system (Art. 72)."""

    permission_classes = [CanRead]

    @extend_schema(
        operation_id="eu_ai_act_article_72_report",
        parameters=[ReportQuery],
        responses={
            200: JSON,
            **ERRORS,
            404: OpenApiResponse(description="no such AI system, or it has no plan"),
        },
    )
    def get(self, request):
        ai_system, window = _period(
            request, default_days=REPORT_DEFAULT_DAYS, query_class=ReportQuery
        )
        return Response(selectors.art72_report(ai_system=ai_system, window=window))
