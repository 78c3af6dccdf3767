"""Writes of audit exports: request one, run it, fail it, and delete files past retention.

Lifecycle (ADR 0026): ``export_request`` validates and stores a ``queued`` row and enqueues
``audit.export_run`` once the row is committed; ``export_run`` (the task) marks it ``running``,
streams the file to a temporary name in ``LEXECON_EXPORT_DIR``, and then — in one transaction
that locks the row — renames it atomically to its final name, appends the ``export.created``
ledger entry naming the file's SHA-256, and marks the row ``done``. A redelivered task finds the
row ``done`` and does nothing, or loses the race at the final lock and discards its temporary file,
so one export is one file and one ledger entry whatever happens to the worker. A failure other
than a transient database error is stored on the row as a readable ``error`` (``failed``).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import logging
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import IO, Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import AgentKey
from apps.accounts.principals import actor_of, agent_actor
from apps.audit import formats, report, selectors
from apps.audit.constants import (
    AI_SYSTEM_SCOPES,
    CSV_SINGLE,
    CSV_ZIPPED,
    FILE_TYPES,
    Format,
    Scope,
    Status,
)
from apps.audit.models import Export
from apps.audit.selectors import Selection
from apps.compliance import services as compliance
from apps.core.exceptions import ApplicationError, InvalidInput, NotFound
from apps.ledger import events
from apps.ledger import selectors as ledger_selectors
from apps.ledger import services as ledger
from apps.ledger.entry_types import EntryType

logger = logging.getLogger("lexecon.audit")

PACKAGE_MODULE = "apps.audit.package"
GENERATOR = "lexecon 0.1.0"


def export_dir() -> Path:
    return Path(settings.LEXECON_EXPORT_DIR)


def package_available() -> bool:
    """Whether this build has the evidence-package writer (``apps.audit.package``)."""
    return importlib.util.find_spec(PACKAGE_MODULE) is not None


# --- Request ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportRequest:
    """What a caller asks for (already parsed; ``framework`` and ``ai_system`` blank when absent)."""

    scope: str
    format: str
    period_from: datetime | None = None
    period_to: datetime | None = None
    ai_system: str = ""
    framework: str = ""


def _check(request: ExportRequest) -> str:
    """Raise ``InvalidInput`` for a request that cannot be run; the resolved framework id."""
    if request.scope not in Scope.values:
        raise InvalidInput(
            f"Unknown scope {request.scope!r}.", details={"scope": list(Scope.values)}
        )
    if request.format not in Format.values:
        raise InvalidInput(
            f"Unknown format {request.format!r}.", details={"format": list(Format.values)}
        )
    if request.period_from and request.period_to and request.period_from > request.period_to:
        raise InvalidInput(
            "'from' is after 'to': the period would be empty.",
            details={"from": ["Must not be after 'to'."]},
        )
    if request.scope == Scope.FRAMEWORK and not request.framework:
        raise InvalidInput(
            "The framework scope needs 'framework' (e.g. soc2).",
            details={"framework": ["This field is required with scope 'framework'."]},
        )
    if request.framework and request.scope != Scope.FRAMEWORK:
        raise InvalidInput(
            "'framework' applies only to the framework scope.",
            details={"framework": ["Only with scope 'framework'."]},
        )
    if request.ai_system and request.scope not in AI_SYSTEM_SCOPES:
        raise InvalidInput(
            f"'ai_system' does not apply to the {request.scope} scope.",
            details={"ai_system": [f"Only with scope {', '.join(sorted(AI_SYSTEM_SCOPES))}."]},
        )
    if request.format == Format.PACKAGE and not package_available():
        raise InvalidInput(
            "Evidence packages are not available in this build.",
            details={"format": ["package is not installed here."]},
        )
    if not request.framework:
        return ""
    try:
        return compliance.framework_resolve(request.framework).id
    except NotFound as exc:
        raise InvalidInput(exc.message, details={"framework": exc.details}) from exc


@transaction.atomic
def export_request(*, principal: Any, request: ExportRequest) -> Export:
    """Store a queued export for ``principal`` and enqueue its task after the commit.

    A refused request raises before anything is written or queued.
    """
    framework = _check(request)
    actor = actor_of(principal)
    key_id = getattr(principal, "key_id", None)
    export = Export(
        scope=request.scope,
        format=request.format,
        period_from=request.period_from,
        period_to=request.period_to,
        ai_system=request.ai_system,
        framework=framework,
        requested_by=str(actor["id"]),
        requested_by_key_id=key_id if key_id else None,
        requested_by_user=None if key_id else principal,
    )
    export.full_clean()
    export.save()
    # By the task's registered name (AuditConfig.ready imports the tasks): the task module calls
    # these services, so importing it here would make a loop.
    task = current_app.tasks["audit.export_run"]
    transaction.on_commit(partial(task.delay, str(export.pk)))
    return export


# --- Run --------------------------------------------------------------------------------------------


def _requester_actor(export: Export) -> dict[str, Any]:
    if export.requested_by_key_id:
        key = AgentKey.objects.get(pk=export.requested_by_key_id)
        return agent_actor(prefix=key.prefix, name=key.name)
    return actor_of(export.requested_by_user)


def header_of(export: Export, sel: Selection) -> dict[str, Any]:
    """The header every format starts with: what, for whom, when, and against which ledger."""
    return {
        "export_id": str(export.pk),
        "scope": export.scope,
        "format": export.format,
        "period": {
            "from": selectors.rfc3339(export.period_from),
            "to": selectors.rfc3339(export.period_to),
        },
        "filters": {"ai_system": export.ai_system or None, "framework": export.framework or None},
        "requested_by": export.requested_by,
        "generated_at": selectors.rfc3339(timezone.now()),
        "generator": GENERATOR,
        "record_types": list(sel.record_types),
        "ledger": report.ledger_state(sel.tree_size),
    }


class _Progress:
    """Writes the export's progress (0 to 1) at most once per percent, outside any transaction."""

    def __init__(self, export_id: Any, *, total: int, start: float = 0.0, end: float = 1.0):
        self.export_id, self.total, self.start, self.end = export_id, max(total, 1), start, end
        self.last = -1.0

    def set(self, fraction: float) -> None:
        fraction = min(max(fraction, 0.0), 0.99)
        if fraction - self.last >= 0.01:
            Export.objects.filter(pk=self.export_id).update(progress=round(fraction, 4))
            self.last = fraction

    def rows(self, written: int) -> None:
        self.set(self.start + (self.end - self.start) * written / self.total)


def _write(export: Export, sel: Selection, out: IO[bytes]) -> tuple[int, tuple[str, str]]:
    """Write the export's file to ``out``; its row count and (extension, media type)."""
    header = header_of(export, sel)
    if export.format in (Format.JSON, Format.CSV):
        total = sum(selectors.row_count(sel, kind) for kind in sel.record_types)
        progress = _Progress(export.pk, total=total)
        if export.format == Format.JSON:
            return formats.write_json(out, sel, header, progress.rows), FILE_TYPES[Format.JSON]
        single = len(sel.record_types) == 1
        return formats.write_csv(out, sel, progress.rows), CSV_SINGLE if single else CSV_ZIPPED
    progress = _Progress(export.pk, total=1)
    context = report.report_context(sel, header=header)
    rows = sum(context["totals"].values())
    progress.set(0.3)
    if export.format == Format.MARKDOWN:
        out.write(report.render_markdown(context).encode("utf-8"))
    elif export.format == Format.HTML:
        out.write(report.render_html(context).encode("utf-8"))
    elif export.format == Format.PDF:
        out.write(report.render_pdf(context))
    else:  # Format.PACKAGE
        html = report.render_html(context)
        pdf = report.render_pdf(context)
        progress.set(0.5)
        package = importlib.import_module(PACKAGE_MODULE)
        spec = package.PackageSpec(
            export_id=str(export.pk),
            scope=export.scope,
            period_from=export.period_from,
            period_to=export.period_to,
            requested_by=export.requested_by,
            generator=GENERATOR,
            entry_seqs=selectors.entry_seqs(sel),
            evidence_ids=selectors.evidence_ids(sel),
            report_html=html,
            report_pdf=pdf,
        )
        package.write_package(out, spec)
    return rows, FILE_TYPES[Format(export.format)]


def _sha256_of(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _start(export_id: Any) -> Export | None:
    """Mark the export running (one more attempt); None when it is already finished."""
    with transaction.atomic():
        export = Export.objects.select_for_update().filter(pk=export_id).first()
        if export is None:
            raise NotFound(f"No export {export_id!r}.")
        if export.status in (Status.DONE, Status.FAILED):
            return None
        export.status = Status.RUNNING
        export.attempts += 1
        export.started_at = timezone.now()
        export.progress = 0.0
        export.save(update_fields=["status", "attempts", "started_at", "progress"])
        return export


def export_run(*, export_id: Any) -> Export:
    """Produce the export's file and its ledger entry; idempotent by ``export_id``.

    A finished export (done or failed) is returned unchanged. Transient database errors
    propagate (the task retries them); every other error propagates too, for the task to store
    with ``export_mark_failed``.
    """
    export = _start(export_id)
    if export is None:
        return Export.objects.get(pk=export_id)
    sel = Selection.of(export, tree_size=ledger_selectors.ledger_size())
    directory = export_dir()
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f".{export.pk}.{uuid.uuid4().hex}.part"
    try:
        with temporary.open("wb") as out:
            rows, (extension, media_type) = _write(export, sel, out)
            out.flush()
            os.fsync(out.fileno())
        sha256, size = _sha256_of(temporary)
        return _finish(
            export.pk,
            temporary=temporary,
            final=directory / f"{export.pk}.{extension}",
            rows=rows,
            size=size,
            sha256=sha256,
            media_type=media_type,
        )
    finally:
        temporary.unlink(missing_ok=True)


def _finish(
    export_id: Any,
    *,
    temporary: Path,
    final: Path,
    rows: int,
    size: int,
    sha256: str,
    media_type: str,
) -> Export:
    with transaction.atomic():
        export = Export.objects.select_for_update().get(pk=export_id)
        if export.status == Status.DONE:  # another delivery finished first: keep its file
            return export
        payload = {
            **events.envelope(
                actor=_requester_actor(export), subject_type="export", subject_id=str(export.pk)
            ),
            "export_id": str(export.pk),
            "scope": export.scope,
            "format": export.format,
            "from": selectors.rfc3339(export.period_from),
            "to": selectors.rfc3339(export.period_to),
            "rows": rows,
            "sha256": sha256,
            "requested_by": export.requested_by,
        }
        entry = ledger.ledger_append(entry_type=EntryType.EXPORT_CREATED, payload=payload)
        os.replace(temporary, final)  # atomic on one file system; the rename is the publication
        export.status = Status.DONE
        export.progress = 1.0
        export.rows = rows
        export.bytes = size
        export.sha256 = sha256
        export.file_name = final.name
        export.media_type = media_type
        export.ledger_seq = entry.seq
        export.error = ""
        export.finished_at = timezone.now()
        export.save()
    return export


def readable_error(exc: BaseException) -> str:
    """What the status answer shows of a failure: the application's own message, or the kind of
    error and its text (bounded)."""
    if isinstance(exc, ApplicationError):
        return exc.message[:1000]
    text = str(exc).strip() or "no detail"
    return f"The export failed ({type(exc).__name__}): {text}"[:1000]


def export_mark_failed(*, export_id: Any, error: str) -> None:
    """Store the reason a run ended for good; a finished export is left as it is."""
    with transaction.atomic():
        export = Export.objects.select_for_update().filter(pk=export_id).first()
        if export is None or export.status == Status.DONE:
            return
        export.status = Status.FAILED
        export.error = error
        export.finished_at = timezone.now()
        export.save(update_fields=["status", "error", "finished_at"])
    logger.warning("audit export failed", extra={"export_id": str(export_id), "error": error})


# --- Files -------------------------------------------------------------------------------------------


def export_file_path(export: Export) -> Path | None:
    """The export's file on disk, or None when it has none (yet, or any more)."""
    if export.status != Status.DONE or not export.file_name or export.file_deleted_at:
        return None
    path = export_dir() / export.file_name
    return path if path.is_file() else None


def export_files_purge(*, now: datetime | None = None) -> dict[str, int]:
    """Delete the files of exports finished more than ``LEXECON_EXPORT_RETENTION_DAYS`` ago and
    temporary files older than a day (a worker killed mid-export leaves one). Rows and ledger
    entries stay. Idempotent."""
    now = now or timezone.now()
    before = now - timedelta(days=settings.LEXECON_EXPORT_RETENTION_DAYS)
    deleted = 0
    for export in selectors.exports_due_for_deletion(before=before).iterator(chunk_size=500):
        (export_dir() / export.file_name).unlink(missing_ok=True)
        Export.objects.filter(pk=export.pk).update(file_deleted_at=now)
        deleted += 1
    stale = 0
    directory = export_dir()
    if directory.is_dir():
        limit = (now - timedelta(days=1)).timestamp()
        for part in directory.glob(".*.part"):
            if part.stat().st_mtime < limit:
                part.unlink(missing_ok=True)
                stale += 1
    return {"files_deleted": deleted, "temporary_deleted": stale}
