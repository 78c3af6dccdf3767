"""The original Lexecon's audit-export routes (LEXECON_API.md §1.8 "Audit export", §1.9), over our
audit exports (apps.audit, docs/audit-exports.md).

The original never produced an export: its request route always answered 400 (it upper-cased a
lower-case scope) and its list, requests and statistics routes were shadowed by ``/{export_id}``.
Here every route works, with the original's request shape and its intended answer fields:

- ``POST /api/governance/audit-export/request`` and its alias ``POST /api/v1/audit/export``:
  ``{requester, purpose (≥ 10 characters), scope="all", format="json", start_date?, end_date?,
  include_deleted=false, metadata?}`` → our export request (the same service as ``POST
  /audit/export``: the same checks, the same Celery task, one ``export.created`` ledger entry).
  ``scope`` is one of ours in any letter case; ``requester``, ``purpose`` and ``metadata`` are
  checked and echoed in the answer's ``request`` but not stored: who asked is the authenticated
  caller, on the export and its ledger entry. ``include_deleted`` changes nothing: we delete no
  records (erased context is exported as erased).
- ``POST .../{export_id}/generate``: exports start when requested; this answers the export as it
  stands (idempotent).
- ``GET .../{export_id}[?include_content=true]``: the export; with ``include_content`` the file's
  text for the text formats (json, markdown, html; csv when it is one file).
- ``GET .../{export_id}/download`` and ``GET /api/v1/audit/exports/{id}/download``: the file, as
  ``GET /audit/download/{id}`` serves it.
- ``GET .../list``, ``.../requests`` and ``GET /api/v1/audit/exports?status&limit&offset``: the
  caller's exports; ``GET .../statistics``: counts.

Who: agent keys with the scope ``audit:export`` or staff with ``export_evidence``, as on our
routes; an agent sees only its own exports.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from drf_spectacular.utils import extend_schema, extend_schema_view
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from rest_framework.response import Response

from apps.audit import selectors, services
from apps.audit.api.files import export_file_response
from apps.audit.api.views import CanExport
from apps.compat.base import CompatApi, compat_schema
from apps.compat.errors import CompatError, parse_or_422

#: Files larger than this are not inlined by ``include_content`` (download them instead).
MAX_INLINE_BYTES = 5 * 1024 * 1024
TEXT_MEDIA = ("application/json", "text/")


class ExportRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requester: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    purpose: Annotated[str, StringConstraints(min_length=10, max_length=2000)]
    scope: Annotated[str, StringConstraints(min_length=1, max_length=32)] = "all"
    format: Annotated[str, StringConstraints(min_length=1, max_length=16)] = "json"
    start_date: datetime | None = None
    end_date: datetime | None = None
    include_deleted: bool = False
    metadata: dict[str, Any] | None = None
    # Our own filters, for clients moving to the native API at their own pace.
    ai_system: Annotated[str, StringConstraints(max_length=200)] | None = None
    framework: Annotated[str, StringConstraints(max_length=32)] | None = None


class ExportListQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["queued", "running", "done", "failed"] | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 50
    offset: Annotated[int, Field(ge=0, le=10**9)] = 0


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def export_document(export: Any) -> dict[str, Any]:
    """Our status document plus the original's intended export fields."""
    data = selectors.export_as_dict(export)
    return {
        **data,
        "generated_at": data["finished_at"],
        "size_bytes": data["bytes"],
        "record_count": data["rows"],
        "checksum": data["sha256"],
        # Integrity is the ledger's: the ``export.created`` entry names the file's SHA-256.
        "signature": None,
        "ledger_entry_id": data["ledger_seq"],
        "statistics": {"rows": data["rows"], "bytes": data["bytes"]},
    }


class AuditExportRequestApi(CompatApi):
    permission_classes = [CanExport]

    @compat_schema
    def post(self, request):
        body = parse_or_422(ExportRequestBody, request.data)
        export = services.export_request(
            principal=request.user,
            request=services.ExportRequest(
                scope=body.scope.lower(),
                format=body.format.lower(),
                period_from=_aware(body.start_date),
                period_to=_aware(body.end_date),
                ai_system=body.ai_system or "",
                framework=body.framework or "",
            ),
        )
        export.refresh_from_db()  # eager Celery may have finished it already
        answer = export_document(export)
        answer["request"] = {
            "requester": body.requester,
            "purpose": body.purpose,
            "scope": body.scope,
            "format": body.format,
            "start_date": selectors.rfc3339(_aware(body.start_date)),
            "end_date": selectors.rfc3339(_aware(body.end_date)),
            "include_deleted": body.include_deleted,
            "metadata": body.metadata or {},
        }
        return Response(answer)


class AuditExportApi(CompatApi):
    permission_classes = [CanExport]

    @compat_schema
    def get(self, request, export_id):
        export = selectors.export_get(principal=request.user, export_id=export_id)
        answer = export_document(export)
        include = request.query_params.get("include_content", "false").lower()
        if include not in {"true", "false", "1", "0"}:
            raise CompatError(422, [_query_error("include_content", "Input should be a boolean")])
        if include in {"true", "1"}:
            answer["content"] = _content(export)
        return Response(answer)


class AuditExportGenerateApi(CompatApi):
    permission_classes = [CanExport]

    @compat_schema
    def post(self, request, export_id):
        export = selectors.export_get(principal=request.user, export_id=export_id)
        return Response(export_document(export))


class AuditExportDownloadApi(CompatApi):
    permission_classes = [CanExport]

    @compat_schema
    def get(self, request, export_id):
        export = selectors.export_get(principal=request.user, export_id=export_id)
        return export_file_response(export, if_none_match=request.headers.get("If-None-Match"))


class AuditExportListApi(CompatApi):
    permission_classes = [CanExport]

    @compat_schema
    def get(self, request):
        query = parse_or_422(ExportListQuery, dict(request.query_params.items()))
        exports, total = selectors.export_list(
            principal=request.user, limit=query.limit, offset=query.offset, status=query.status
        )
        return Response(
            {
                "exports": [export_document(e) for e in exports],
                "count": len(exports),
                "total": total,
                "offset": query.offset,
                "limit": query.limit,
            }
        )


class AuditExportStatisticsApi(CompatApi):
    permission_classes = [CanExport]

    @compat_schema
    def get(self, request):
        stats = selectors.export_statistics(principal=request.user)
        return Response(
            {
                **stats,
                "total_exports": stats["total"],
                "completed_exports": stats["by_status"]["done"],
                "failed_exports": stats["by_status"]["failed"],
            }
        )


def _query_error(name: str, message: str) -> dict[str, Any]:
    return {"loc": ["query", name], "msg": message, "type": "invalid"}


def _content(export: Any) -> str:
    """The finished file's text, for the text formats; a 400 otherwise."""
    if export.status != "done":
        raise CompatError(409, f"The export is {export.status}; its content comes once it is done.")
    path = services.export_file_path(export)
    if path is None:
        raise CompatError(410, "The export's file was deleted after the retention period.")
    if not (export.media_type or "").startswith(TEXT_MEDIA):
        raise CompatError(
            400,
            f"A {export.format} export is not text ({export.media_type}); "
            f"download it from /api/governance/audit-export/{export.pk}/download.",
        )
    if (export.bytes or 0) > MAX_INLINE_BYTES:
        raise CompatError(
            400,
            f"The export is larger than {MAX_INLINE_BYTES} bytes; download it from "
            f"/api/governance/audit-export/{export.pk}/download.",
        )
    return path.read_text(encoding="utf-8")


# The same operations under the original's second paths: one schema entry each is enough.
_ALIAS = extend_schema(exclude=True)


@extend_schema_view(post=_ALIAS)
class AuditExportRequestAlias(AuditExportRequestApi):
    """``POST /api/v1/audit/export``."""


@extend_schema_view(get=_ALIAS)
class AuditExportListAlias(AuditExportListApi):
    """``GET /api/governance/audit-export/requests`` and ``GET /api/v1/audit/exports``."""


@extend_schema_view(get=_ALIAS)
class AuditExportDownloadAlias(AuditExportDownloadApi):
    """``GET /api/v1/audit/exports/{id}/download``."""
