"""The audit export API (docs/audit-exports.md).

- ``POST /audit/export`` → 202 with ``Location`` (the status URL) and ``{export_id, status,
  status_url, download_url}``; the export runs in Celery (eagerly in the embedded default).
- ``GET /audit/status/{id}`` → the export's status and progress.
- ``GET /audit/download/{id}`` → the file, streamed, with ``Content-Disposition`` and
  ``ETag`` = its SHA-256 (the one its ``export.created`` ledger entry names).
- ``GET /audit/exports`` → the caller's exports, newest first.

Who: agent keys with the scope ``audit:export`` (each sees only the exports it requested) or staff
with ``accounts.export_evidence`` (all exports). An export the caller may not see answers 404.
A refused request writes and queues nothing.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.audit import selectors, services
from apps.audit.api.files import export_file_response
from apps.audit.api.serializers import ExportInput
from apps.core.api.inputs import parse
from apps.core.api.permissions import ScopeOrPermission
from apps.core.exceptions import InvalidInput

CanExport = ScopeOrPermission.of("audit:export", "accounts.export_evidence")

ERRORS = {
    400: OpenApiResponse(description="invalid request (error shape)"),
    401: OpenApiResponse(description="no agent key / not signed in"),
    403: OpenApiResponse(description="scope or role does not allow this"),
}
NOT_FOUND = {404: OpenApiResponse(description="no such export, or not yours")}
JSON = OpenApiTypes.OBJECT


class ExportCreateApi(APIView):
    permission_classes = [CanExport]

    @extend_schema(
        operation_id="audit_export",
        request=ExportInput,
        responses={202: JSON, **ERRORS},
        examples=[
            OpenApiExample("everything as JSON", value={"scope": "all", "format": "json"}),
            OpenApiExample(
                "a framework's evidence as PDF",
                value={"scope": "framework", "framework": "soc2", "format": "pdf"},
            ),
        ],
    )
    def post(self, request):
        body = parse(ExportInput, request.data)
        period_from, period_to = body.period()
        export = services.export_request(
            principal=request.user,
            request=services.ExportRequest(
                scope=body.scope,
                format=body.format,
                period_from=period_from,
                period_to=period_to,
                ai_system=body.ai_system or "",
                framework=body.framework or "",
            ),
        )
        export.refresh_from_db()  # eager Celery may have finished it already
        data = selectors.export_as_dict(export)
        answer = {key: data[key] for key in ("export_id", "status", "status_url", "download_url")}
        return Response(answer, status=202, headers={"Location": data["status_url"]})


class ExportStatusApi(APIView):
    permission_classes = [CanExport]

    @extend_schema(operation_id="audit_status", responses={200: JSON, **ERRORS, **NOT_FOUND})
    def get(self, request, export_id):
        export = selectors.export_get(principal=request.user, export_id=export_id)
        return Response(selectors.export_as_dict(export))


class ExportDownloadApi(APIView):
    permission_classes = [CanExport]

    @extend_schema(
        operation_id="audit_download",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="the file (ETag: its SHA-256)"
            ),
            **ERRORS,
            **NOT_FOUND,
            409: OpenApiResponse(description="not finished (or failed)"),
            410: OpenApiResponse(description="deleted after the retention period"),
        },
    )
    def get(self, request, export_id):
        export = selectors.export_get(principal=request.user, export_id=export_id)
        return export_file_response(export, if_none_match=request.headers.get("If-None-Match"))


class ExportListApi(APIView):
    permission_classes = [CanExport]

    @extend_schema(
        operation_id="audit_exports",
        parameters=[
            OpenApiParameter("limit", int, description="at most this many (1 to 500, default 100)"),
            OpenApiParameter("offset", int, description="skip this many (default 0)"),
        ],
        responses={200: JSON, **ERRORS},
    )
    def get(self, request):
        limit = _bounded(request.query_params.get("limit"), "limit", 100, 1, 500)
        offset = _bounded(request.query_params.get("offset"), "offset", 0, 0, 10**9)
        exports, total = selectors.export_list(principal=request.user, limit=limit, offset=offset)
        return Response(
            {
                "exports": [selectors.export_as_dict(e) for e in exports],
                "total": total,
                "limit": limit,
                "offset": offset,
            }
        )


def _bounded(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidInput(
            f"'{name}' must be an integer from {low} to {high}.",
            details={name: [f"An integer from {low} to {high}."]},
        )
    return int(raw)
