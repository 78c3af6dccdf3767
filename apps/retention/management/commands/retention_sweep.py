"""``manage.py retention_sweep [--dry-run] [--as-of DATE]`` — run the retention sweep now.

IRREVERSIBLE without ``--dry-run``: see ``apps.retention.services``. ``--as-of`` sweeps as if it
were that date (a date ``YYYY-MM-DD`` = its end, or an RFC 3339 time): for planning with
``--dry-run``; production settings refuse it without (``LEXECON_RETENTION_AS_OF_WRITES``).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.principals import system_actor
from apps.retention import services


def parse_moment(value: str) -> datetime:
    """``2026-03-31`` → the end of that day (UTC); an RFC 3339 time with an offset as it is."""
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time.max, tzinfo=UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise CommandError(
            f"--as-of: {value!r} is neither YYYY-MM-DD nor an RFC 3339 time"
        ) from exc
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise CommandError("--as-of: give the time with its offset (Z or +hh:mm)")
    return moment


class Command(BaseCommand):
    help = (
        "Anonymise the decisions past their retention class and not under a legal hold (context, "
        "its salt, people's words), expire evidence past its retention, and ledger the run. "
        "Irreversible; --dry-run only reports what would happen."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="write nothing; report what would be done"
        )
        parser.add_argument(
            "--as-of",
            help="sweep as if it were this date (YYYY-MM-DD: its end, UTC) or RFC 3339 time",
        )
        parser.add_argument("--batch-size", type=int, help="decisions per transaction")
        parser.add_argument(
            "--max-seconds", type=float, help="stop anonymising after this long (default: none)"
        )
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        as_of = parse_moment(options["as_of"]) if options["as_of"] else None
        writes_as_of = as_of is not None and not options["dry_run"]
        if writes_as_of and not settings.LEXECON_RETENTION_AS_OF_WRITES:
            raise CommandError(
                "--as-of without --dry-run is refused by these settings: a sweep as of "
                "another date is for planning only (add --dry-run)."
            )
        if options["batch_size"] is not None and options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        if options["dry_run"]:
            result = services.retention_plan(as_of=as_of)
        else:
            verbose = options["verbosity"] >= 2

            def progress(partial: services.SweepResult) -> None:
                if verbose:
                    self.stdout.write(f"batch: {partial.decisions_anonymised} anonymised so far")
                    self.stdout.flush()

            result = services.retention_sweep(
                as_of=as_of,
                actor=system_actor("cli", "manage.py retention_sweep"),
                trigger="command",
                batch_size=options["batch_size"],
                max_seconds=options["max_seconds"],
                progress=progress,
            )
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), sort_keys=True))
            return
        self.stdout.write(self._summary(result))

    def _summary(self, result: services.SweepResult) -> str:
        if result.skipped:
            return "Another retention sweep is running; this one did nothing."
        verb = "Would anonymise" if result.dry_run else "Anonymised"
        by_class = ", ".join(f"{name} {count}" for name, count in result.anonymised.items())
        lines = [
            f"{verb} {result.decisions_anonymised} decision(s) ({by_class}) as of "
            f"{result.as_of.isoformat() if result.as_of else '-'}; "
            f"{result.decisions_held} kept by a legal hold.",
            f"{'Would expire' if result.dry_run else 'Expired'} {result.artifacts_expired} "
            f"evidence artifact(s); {result.artifacts_held} kept by a legal hold.",
        ]
        if not result.dry_run:
            lines.append(
                f"Erased {result.texts_erased} oversight text(s); deleted the content of "
                f"{result.artifact_contents_deleted} artifact(s). Run {result.run_id}, ledger "
                f"entry {result.ledger_seq}."
            )
            if result.resumed:
                lines.append(f"Finished the work of {len(result.resumed)} interrupted run(s).")
            if result.time_limited:
                lines.append("Stopped at the time limit; the next run does the rest.")
        return "\n".join(lines)
