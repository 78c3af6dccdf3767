"""The one way an export's file is served: ``GET /audit/download/{id}`` and the original Lexecon's
download routes (apps.compat) both answer with ``export_file_response``."""

from __future__ import annotations

from django.http import FileResponse, HttpResponse

from apps.audit import services
from apps.audit.constants import Status
from apps.audit.models import Export
from apps.core.exceptions import ApplicationError


class ExportNotReady(ApplicationError):
    code = "export_not_ready"
    status = 409


class ExportGone(ApplicationError):
    code = "export_gone"
    status = 410


def export_file_response(export: Export, *, if_none_match: str | None = None) -> HttpResponse:
    """The finished export's file, streamed (``Content-Disposition``, ``ETag`` = its SHA-256, the
    one its ``export.created`` ledger entry names); 304 for a matching ``If-None-Match``.
    Not finished: ``ExportNotReady`` (409); deleted after retention: ``ExportGone`` (410)."""
    if export.status != Status.DONE:
        raise ExportNotReady(
            f"The export is {export.status}; download it once it is done.",
            details={"status": export.status, "error": export.error or None},
        )
    path = services.export_file_path(export)
    if path is None:
        raise ExportGone(
            "The export's file was deleted after the retention period; its ledger entry remains.",
            details={"ledger_seq": export.ledger_seq},
        )
    etag = f'"{export.sha256}"'
    if if_none_match == etag:
        response = HttpResponse(status=304)
        response["ETag"] = etag
        return response
    response = FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"lexecon-export-{export.scope}-{export.pk}{path.suffix}",
        content_type=export.media_type or "application/octet-stream",
    )
    response["ETag"] = etag
    response["X-Ledger-Entry-Id"] = str(export.ledger_seq)
    response["X-Content-Sha256"] = export.sha256
    return response
