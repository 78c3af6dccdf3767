"""The Art. 12/19 record-keeping API, under ``/compliance/eu-ai-act/article-12/``.

Who may call what (docs/api.md, "EU AI Act: record-keeping"):
- reads (status, regulatory package, holds): agent scope ``compliance:read`` or staff with
  ``accounts.view_dashboard``;
- writes (place or release a legal hold): staff with ``accounts.manage_policies`` (compliance
  officers, administrators), signed in with password and one-time code, with the CSRF token of
  their session; agent keys cannot.
Every write goes through ``apps.retention.services`` and is ledgered with it; a refused request
writes nothing (no row, no ledger entry).
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import CanReadCompliance
from apps.compat.base import OriginalFormMixin
from apps.compat.euaiact import article12 as original
from apps.core.api.inputs import parse
from apps.core.api.permissions import ScopeOrPermission
from apps.retention import reports, selectors, services
from apps.retention.api.serializers import (
    HoldsQuery,
    LegalHoldInput,
    LegalHoldReleaseInput,
    PackageQuery,
)

CanRead = CanReadCompliance
CanWrite = ScopeOrPermission.of(None, "accounts.manage_policies")

JSON = OpenApiTypes.OBJECT
ERRORS = {
    400: OpenApiResponse(description="invalid input (error shape); nothing written"),
    401: OpenApiResponse(description="no agent key / not signed in"),
    403: OpenApiResponse(description="scope, role or CSRF token does not allow this"),
}
NOT_FOUND = {404: OpenApiResponse(description="no legal hold with that id")}


class Article12StatusApi(APIView):
    """Counts per retention class and state, next expiry, holds, last sweep, ledger state; and
    the original Lexecon's fields beside them (docs/compat.md)."""

    permission_classes = [CanRead]

    @extend_schema(operation_id="eu_ai_act_article_12_status", responses={200: JSON, **ERRORS})
    def get(self, request):
        status = selectors.article_12_status()
        return Response({**status, **original.status_fields(status)})


class _FormatIsOurs(DefaultContentNegotiation):
    """``?format=`` names the package's format here, not a DRF renderer: answers (and errors)
    are rendered by the first renderer, JSON; CSV and Markdown bodies are built by the view."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class RegulatoryPackageApi(OriginalFormMixin, APIView):
    """What record-keeping did over a period, for an authority: JSON, CSV or Markdown. Without
    ``from``/``to`` it is the original Lexecon's query (``start_date``/``end_date``, docs/compat.md)."""

    permission_classes = [CanRead]
    content_negotiation_class = _FormatIsOurs

    def is_original_form(self, request) -> bool:
        return original.is_original_package_query(request)

    @extend_schema(
        operation_id="eu_ai_act_article_12_regulatory_package",
        parameters=[
            OpenApiParameter("from", str, required=True, description="YYYY-MM-DD or RFC 3339"),
            OpenApiParameter("to", str, required=True, description="YYYY-MM-DD or RFC 3339"),
            OpenApiParameter("format", str, enum=["json", "csv", "markdown"]),
        ],
        responses={200: JSON, **ERRORS},
    )
    def get(self, request):
        if self.original_form:
            return original.regulatory_package(request)
        params = request.query_params
        query = PackageQuery(
            data={
                name: value
                for name, value in (
                    ("period_from", params.get("from")),
                    ("period_to", params.get("to")),
                    ("format", params.get("format")),
                )
                if value is not None
            }
        )
        query.is_valid(raise_exception=True)
        values = query.validated_data
        package = reports.regulatory_package(
            period_from=values["period_from"], period_to=values["period_to"]
        )
        if values["format"] == "json":
            return Response(package)
        body, content_type, extension = (
            (reports.package_csv(package), "text/csv; charset=utf-8", "csv")
            if values["format"] == "csv"
            else (reports.package_markdown(package), "text/markdown; charset=utf-8", "md")
        )
        response = HttpResponse(body, content_type=content_type)
        name = reports.package_filename(package, extension)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class LegalHoldListApi(APIView):
    permission_classes = [CanRead]

    @extend_schema(
        operation_id="eu_ai_act_legal_holds",
        parameters=[HoldsQuery],
        responses={200: JSON, **ERRORS},
    )
    def get(self, request):
        query = HoldsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        values = query.validated_data
        holds = selectors.holds_list(status=values["status"])
        offset, limit = values["offset"], values["limit"]
        return Response(
            {
                "legal_holds": [
                    selectors.hold_as_dict(hold) for hold in holds[offset : offset + limit]
                ],
                "total": holds.count(),
            }
        )


class LegalHoldPlaceApi(OriginalFormMixin, APIView):
    """Place a hold from a JSON body, or from the original Lexecon's query parameters
    (``?reason=&requester=&entry_ids=``, no body; docs/compat.md)."""

    permission_classes = [CanWrite]

    def is_original_form(self, request) -> bool:
        return original.is_original_hold_request(request)

    @extend_schema(
        operation_id="eu_ai_act_legal_hold_place",
        request=LegalHoldInput,
        responses={201: JSON, **ERRORS},
    )
    def post(self, request):
        if self.original_form:
            return original.legal_hold(request)
        body = parse(LegalHoldInput, request.data)
        hold = services.legal_hold_place(
            user=request.user,
            scope=services.HoldScope(
                scope=body.scope,
                ai_system=body.ai_system or "",
                actor=body.actor or "",
                decision_ids=tuple(body.decision_ids or ()),
                period_from=body.period_from,
                period_to=body.period_to,
            ),
            reason=body.reason,
            requested_by=body.requested_by,
        )
        return Response(selectors.hold_as_dict(hold), status=201)


class LegalHoldDetailApi(APIView):
    """Read one hold, or release it (``DELETE`` with a reason; the hold stays, released)."""

    def get_permissions(self):
        allowed = CanRead if self.request.method in SAFE_METHODS else CanWrite
        return [allowed()]

    @extend_schema(
        operation_id="eu_ai_act_legal_hold_get", responses={200: JSON, **ERRORS, **NOT_FOUND}
    )
    def get(self, request, hold_id):
        return Response(selectors.hold_as_dict(selectors.hold_get(hold_id=hold_id)))

    @extend_schema(
        operation_id="eu_ai_act_legal_hold_release",
        request=LegalHoldReleaseInput,
        responses={
            200: JSON,
            **ERRORS,
            **NOT_FOUND,
            409: OpenApiResponse(description="the hold was already released"),
        },
    )
    def delete(self, request, hold_id):
        body = parse(LegalHoldReleaseInput, request.data)
        hold = services.legal_hold_release(user=request.user, hold_id=hold_id, reason=body.reason)
        return Response(selectors.hold_as_dict(hold))
