"""The machine-readable formats: one JSON document, or CSV (one file per record type).

Both stream: each row is written as it comes off the database cursor, so memory stays bounded
whatever the size of the export. ``progress`` is called with the number of rows written so far.

CSV cells that a spreadsheet would read as a formula — text starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return — are prefixed with a single quote (OWASP's "CSV injection"
advice), so opening an export never runs anything. Numbers are written as numbers.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from typing import IO, Any

from apps.audit import selectors
from apps.audit.constants import JSON_FORMAT_ID, RecordType
from apps.audit.selectors import Selection

Progress = Callable[[int], None]
PROGRESS_EVERY = 1000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    """``=SUM(A1)`` → ``'=SUM(A1)``; anything else unchanged."""
    return f"'{value}" if value.startswith(FORMULA_START) else value


def csv_cell(value: Any) -> Any:
    """One CSV cell: empty for null, JSON for nested values, neutralised text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return neutralise(str(value))


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _json_lines(sel: Selection, kind: str) -> Iterator[str]:
    """Each row of ``kind`` as one line of JSON. Ledger entries are composed from their stored
    canonical payload text, which is valid JSON already (no parse and re-encode per entry)."""
    if kind != RecordType.LEDGER:
        for row in selectors.rows(sel, kind):
            yield _dump(row)
        return
    for seq, entry_type, timestamp, payload, prev_hash, entry_hash in selectors.ledger_entries(sel):
        yield (
            f'{{"seq":{seq},"entry_type":{_dump(entry_type)},"timestamp":{_dump(timestamp)},'
            f'"payload":{payload},"prev_hash":"{prev_hash}","entry_hash":"{entry_hash}"}}'
        )


def write_json(out: IO[bytes], sel: Selection, header: dict[str, Any], progress: Progress) -> int:
    """One JSON document ``{format, header, records: {type: [rows]}, totals}``; the row count.

    The layout is ``apps/audit/schemas/export.schema.json``; ``totals`` comes last because the
    counts are known only once the rows are written.
    """
    text = io.TextIOWrapper(out, encoding="utf-8", newline="\n")
    written = 0
    totals: dict[str, int] = {}
    text.write(f'{{"format":{_dump(JSON_FORMAT_ID)},\n"header":{_dump(header)},\n"records":{{')
    for index, kind in enumerate(sel.record_types):
        text.write(("," if index else "") + f"\n{_dump(kind)}:[")
        count = 0
        for line in _json_lines(sel, kind):
            text.write(("," if count else "") + "\n" + line)
            count += 1
            written += 1
            if written % PROGRESS_EVERY == 0:
                progress(written)
        text.write("]")
        totals[kind] = count
    text.write(f'}},\n"totals":{_dump(totals)}}}\n')
    text.flush()
    text.detach()
    progress(written)
    return written


def _write_csv_rows(
    handle: IO[str], sel: Selection, kind: str, progress: Progress, start: int
) -> int:
    writer = csv.writer(handle, lineterminator="\r\n")
    columns = selectors.COLUMNS[kind]
    writer.writerow(columns)
    written = start
    if kind == RecordType.LEDGER:  # the stored canonical payload text is the payload cell
        cells: Iterator[Any] = selectors.ledger_entries(sel)
    else:
        cells = ([row[column] for column in columns] for row in selectors.rows(sel, kind))
    for values in cells:
        writer.writerow([csv_cell(value) for value in values])
        written += 1
        if written % PROGRESS_EVERY == 0:
            progress(written)
    return written - start


def write_csv(out: IO[bytes], sel: Selection, progress: Progress) -> int:
    """One CSV file (RFC 4180, UTF-8, header row) when the scope has one record type, else a ZIP
    with ``<record type>.csv`` for each; the row count."""
    kinds = sel.record_types
    written = 0
    if len(kinds) == 1:
        text = io.TextIOWrapper(out, encoding="utf-8", newline="")
        written = _write_csv_rows(text, sel, kinds[0], progress, 0)
        text.flush()
        text.detach()
    else:
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for kind in kinds:
                with archive.open(f"{kind}.csv", "w", force_zip64=True) as member:
                    text = io.TextIOWrapper(member, encoding="utf-8", newline="")
                    written += _write_csv_rows(text, sel, kind, progress, written)
                    text.flush()
                    text.detach()
    progress(written)
    return written
