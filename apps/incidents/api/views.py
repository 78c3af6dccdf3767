"""The serious-incident API (``/incidents...``) and the EU AI Act regulatory calendar
(``/compliance/eu-ai-act/calendar``).

Who may call what (docs/api.md, "Serious incidents"):
- reads: agent keys with scope ``compliance:read``, or staff with ``accounts.view_dashboard``;
- writes (open, change state, generate a report, accept or dismiss a suggestion): staff with
  ``accounts.manage_policies`` only (compliance officers, administrators), in a session that
  passed the one-time-code step, with a CSRF token. Agent keys cannot write.
Every write goes through ``apps.incidents.services`` and is ledgered with it; a refused request
writes nothing. Every answer about an incident shows its deadlines with the time left now.
"""

from __future__ import annotations

from django.http import FileResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import CanReadCompliance
from apps.core.api.inputs import parse
from apps.core.api.negotiation import JsonOnlyNegotiation
from apps.core.api.permissions import ScopeOrPermission
from apps.evidence import services as evidence
from apps.incidents import selectors, services, suggestions
from apps.incidents.api.serializers import (
    CalendarQuery,
    IncidentCreateInput,
    IncidentListQuery,
    IncidentPatchInput,
    ReportInput,
    ReportQuery,
    SuggestionAcceptInput,
    SuggestionDismissInput,
    SuggestionsQuery,
)

CanRead = CanReadCompliance
CanWrite = ScopeOrPermission.of(None, "accounts.manage_policies")
JSON = OpenApiTypes.OBJECT

ERRORS = {
    400: OpenApiResponse(description="invalid input (error shape)"),
    401: OpenApiResponse(description="not signed in / no agent key"),
    403: OpenApiResponse(description="scope or role does not allow this; CSRF token missing"),
}
NOT_FOUND = {404: OpenApiResponse(description="no such incident, report or suggestion")}
CONFLICT = {
    409: OpenApiResponse(
        description="the incident's state does not allow it (invalid_transition, "
        "report_missing), or a concurrent change (conflict, suggestion_decided)"
    )
}


class _ReadOrWrite(APIView):
    """Reads need the read permission, every other method the write permission."""

    def get_permissions(self):
        allowed = CanRead if self.request.method in SAFE_METHODS else CanWrite
        return [allowed()]


def _query(serializer_class, request):
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


class IncidentListApi(_ReadOrWrite):
    """List incidents (read) or open one (write, ``incident.opened``)."""

    @extend_schema(
        operation_id="incidents_list",
        parameters=[IncidentListQuery],
        responses={200: JSON, **ERRORS},
    )
    def get(self, request):
        params = _query(IncidentListQuery, request)
        queryset = selectors.incident_list(
            ai_system=params.get("ai_system"),
            status=params.get("status"),
            category=params.get("category"),
        )
        offset, limit = params["offset"], params["limit"]
        now = timezone.now()
        return Response(
            {
                "incidents": [
                    selectors.incident_as_dict(i, now=now)
                    for i in queryset[offset : offset + limit]
                ],
                "total": queryset.count(),
            }
        )

    @extend_schema(
        operation_id="incidents_open",
        request=IncidentCreateInput,
        responses={201: JSON, **ERRORS},
    )
    def post(self, request):
        body = parse(IncidentCreateInput, request.data)
        incident = services.incident_open(
            principal=request.user,
            ai_system_id=body.ai_system,
            category=body.category,
            aware_at=body.aware_at,
            description=body.description,
            personal_data_involved=body.personal_data_involved,
            decision_ids=body.decision_ids,
            evidence_ids=body.evidence_ids,
            member_state=body.member_state or "",
        )
        found = selectors.incident_get(incident_id=incident.pk)
        return Response(selectors.incident_as_dict(found), status=201)


class IncidentDetailApi(_ReadOrWrite):
    """One incident: read it with its clocks, or move it on (write, ledgered)."""

    @extend_schema(operation_id="incidents_get", responses={200: JSON, **ERRORS, **NOT_FOUND})
    def get(self, request, incident_id):
        return Response(selectors.incident_as_dict(selectors.incident_get(incident_id=incident_id)))

    @extend_schema(
        operation_id="incidents_update",
        request=IncidentPatchInput,
        responses={200: JSON, **ERRORS, **NOT_FOUND, **CONFLICT},
    )
    def patch(self, request, incident_id):
        body = parse(IncidentPatchInput, request.data)
        services.incident_update(
            principal=request.user,
            incident_id=incident_id,
            status=body.status,
            note=body.note,
            gdpr_notified=bool(body.gdpr_notified),
        )
        return Response(selectors.incident_as_dict(selectors.incident_get(incident_id=incident_id)))


class IncidentReportsApi(_ReadOrWrite):
    """Generate the next report version (write, ``incident.report_generated``)."""

    @extend_schema(
        operation_id="incidents_report_generate",
        request=ReportInput,
        responses={201: JSON, **ERRORS, **NOT_FOUND, **CONFLICT},
    )
    def post(self, request, incident_id):
        body = parse(ReportInput, request.data)
        report = services.incident_report_generate(
            principal=request.user, incident_id=incident_id, kind=body.kind
        )
        report = selectors.report_get(incident_id=incident_id, version=report.version)
        return Response(selectors.report_as_dict(report), status=201)


class IncidentReportContentApi(APIView):
    """A stored report version's bytes (PDF by default, or the HTML it was rendered from), to
    whoever may see that evidence artifact (the evidence visibility rule)."""

    permission_classes = [CanRead]
    # ``format`` names the stored rendering here, not a DRF renderer: answers are the stored
    # bytes, errors JSON.
    content_negotiation_class = JsonOnlyNegotiation

    @extend_schema(
        operation_id="incidents_report_content",
        parameters=[ReportQuery],
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            (200, "text/html"): OpenApiTypes.STR,
            **ERRORS,
            **NOT_FOUND,
            410: OpenApiResponse(description="the artifact's retention ended"),
        },
    )
    def get(self, request, incident_id, version):
        params = _query(ReportQuery, request)
        report = selectors.report_get(incident_id=incident_id, version=version)
        artifact = selectors.report_artifact(
            principal=request.user, report=report, fmt=params["format"]
        )
        response = FileResponse(
            evidence.open_content(artifact),
            content_type=artifact.media_type,
            as_attachment=params["format"] == "pdf",
            filename=f"incident-{incident_id}-{report.kind}-v{version}.{params['format']}",
        )
        response["X-Content-SHA256"] = artifact.sha256
        return response


class SuggestionsApi(APIView):
    """The suggestion queue: incidents proposed from runtime signals, computed now."""

    permission_classes = [CanRead]

    @extend_schema(
        operation_id="incidents_suggestions",
        parameters=[SuggestionsQuery],
        responses={200: JSON, **ERRORS},
    )
    def get(self, request):
        params = _query(SuggestionsQuery, request)
        found = suggestions.suggestions_list(ai_system=params.get("ai_system"))
        return Response(
            {
                "suggestions": [suggestions.suggestion_as_dict(s) for s in found],
                "deny_spike": {
                    "threshold_points": suggestions.spike_threshold_points(),
                    "min_decisions": suggestions.spike_min_decisions(),
                },
            }
        )


class SuggestionAcceptApi(APIView):
    """Accept a suggestion: the incident it proposes is opened (``incident.opened``)."""

    permission_classes = [CanWrite]

    @extend_schema(
        operation_id="incidents_suggestion_accept",
        request=SuggestionAcceptInput,
        responses={201: JSON, **ERRORS, **NOT_FOUND, **CONFLICT},
    )
    def post(self, request, key):
        body = parse(SuggestionAcceptInput, request.data)
        incident = services.suggestion_accept(
            principal=request.user,
            key=key,
            category=body.category,
            aware_at=body.aware_at,
            description=body.description,
            ai_system_id=body.ai_system,
            personal_data_involved=body.personal_data_involved,
            member_state=body.member_state or "",
            decision_ids=body.decision_ids,
            evidence_ids=body.evidence_ids,
        )
        found = selectors.incident_get(incident_id=incident.pk)
        return Response(selectors.incident_as_dict(found), status=201)


class SuggestionDismissApi(APIView):
    """Dismiss a suggestion with a reason (``incident.suggestion_dismissed``)."""

    permission_classes = [CanWrite]

    @extend_schema(
        operation_id="incidents_suggestion_dismiss",
        request=SuggestionDismissInput,
        responses={200: JSON, **ERRORS, **NOT_FOUND, **CONFLICT},
    )
    def post(self, request, key):
        body = parse(SuggestionDismissInput, request.data)
        decided = services.suggestion_dismiss(principal=request.user, key=key, reason=body.reason)
        return Response(
            {
                "key": decided.key,
                "source": decided.source,
                "outcome": decided.outcome,
                "actor": decided.actor,
                "ledger_entry_id": decided.ledger_seq,
            }
        )


class CalendarApi(APIView):
    """Which EU AI Act obligations apply to each registered AI system today (or ``as_of``)."""

    permission_classes = [CanRead]

    @extend_schema(
        operation_id="eu_ai_act_calendar",
        parameters=[CalendarQuery],
        responses={200: JSON, **ERRORS, 404: OpenApiResponse(description="unknown ai_system")},
    )
    def get(self, request):
        params = _query(CalendarQuery, request)
        return Response(
            selectors.calendar_answer(
                ai_system=params.get("ai_system"),
                as_of=params.get("as_of") or timezone.now().date(),
                regime=params.get("regime"),
            )
        )
