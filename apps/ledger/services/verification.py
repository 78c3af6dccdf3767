"""Full verifications of the ledger, recorded so that readers (compliance status, the dashboard)
know when the ledger last verified and what was found, without re-verifying it themselves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils import timezone

from apps.ledger import selectors
from apps.ledger.models import VerificationRun


def ledger_verify_recorded(
    *, trigger: str, progress: Callable[[int], None] | None = None
) -> tuple[VerificationRun, dict[str, Any]]:
    """Verify the whole ledger (``selectors.ledger_verify``) and store the outcome as a run."""
    started = timezone.now()
    report = selectors.ledger_verify(progress=progress)
    run = VerificationRun.objects.create(
        started_at=started,
        finished_at=timezone.now(),
        valid=bool(report["valid"]),
        entries_checked=int(report.get("entries_checked") or 0),
        checkpoint_size=report.get("checkpoint_size"),
        error_code=report.get("error_code") or "",
        first_invalid_seq=report.get("first_invalid_seq"),
        message=str(report.get("message") or "")[:2000],
        trigger=trigger[:40],
    )
    return run, report
