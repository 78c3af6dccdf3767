"""Each format read back: JSON against its schema, CSV with the csv module (formula cells
neutralised), Markdown, HTML without external URLs, PDF text through pdftotext."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from django.conf import settings

from apps.audit.formats import csv_cell, neutralise
from apps.compliance.models import Control
from tests.audit.conftest import download, pdf_text

pytestmark = pytest.mark.django_db

SCHEMA = Path(settings.BASE_DIR) / "apps" / "audit" / "schemas" / "export.schema.json"


def _validator():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def test_json_validates_against_its_schema_for_every_scope(record, exporter, run_export):
    validator = _validator()
    for body in (
        {"scope": "all", "format": "json"},
        {"scope": "escalations", "format": "json"},
        {"scope": "policies", "format": "json"},
        {"scope": "evidence", "format": "json"},
        {"scope": "framework", "framework": "SOC2", "format": "json"},
    ):
        export = run_export(exporter, body)
        assert export.status == "done", export.error
        document = json.loads(download(exporter, export))
        errors = sorted(validator.iter_errors(document), key=str)
        assert errors == [], (body, [e.message for e in errors[:3]])
        assert sum(document["totals"].values()) == export.rows
        for kind, rows in document["records"].items():
            assert len(rows) == document["totals"][kind]


def test_the_schema_rejects_a_broken_document(record, exporter, run_export):
    validator = _validator()
    document = json.loads(
        download(exporter, run_export(exporter, {"scope": "decisions", "format": "json"}))
    )
    document["records"]["decisions"][0]["outcome"] = "maybe"
    del document["header"]["ledger"]
    assert len(list(validator.iter_errors(document))) == 2


def test_json_header_names_the_ledger_it_was_made_against(record, exporter, run_export):
    export = run_export(exporter, {"scope": "all", "format": "json"})
    document = json.loads(download(exporter, export))
    header = document["header"]
    assert header["scope"] == "all"
    assert header["requested_by"] == export.requested_by
    ledger = header["ledger"]
    # Every entry exported is below the size the export was made against, and all are there.
    seqs = [row["seq"] for row in document["records"]["ledger"]]
    assert seqs == list(range(ledger["tree_size"]))
    assert re.fullmatch(r"[0-9a-f]{64}", ledger["root_hash_hex"])
    assert ledger["keys"]
    assert all(re.fullmatch(r"[0-9a-f]{64}", k["fingerprint"]) for k in ledger["keys"])
    # People's free text is not in the export, only its commitment.
    text = json.dumps(document)
    assert "CFO approved by phone" not in text
    assert "Checked the invoice" not in text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=SUM(A1:A2)", "'=SUM(A1:A2)"),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain", "plain"),
        ("a=b", "a=b"),
    ],
)
def test_formula_cells_are_neutralised(value, expected):
    assert neutralise(value) == expected
    assert csv_cell(value) == expected


def test_numbers_stay_numbers_and_nested_values_are_json():
    assert csv_cell(-3) == -3
    assert csv_cell(None) == ""
    assert csv_cell(True) == "true"
    assert csv_cell({"b": 1, "a": "=x"}) == '{"a":"=x","b":1}'


def test_csv_of_one_record_type_is_one_file(record, exporter, run_export):
    export = run_export(exporter, {"scope": "evidence", "format": "csv"})
    body = download(exporter, export).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 1 == export.rows
    # The artifact's title is a spreadsheet formula: it is written with a leading quote.
    assert rows[0]["title"] == '\'=HYPERLINK("http://evil.example")'
    assert rows[0]["artifact_id"] == record.artifact_id


def test_csv_of_several_record_types_is_a_zip_of_csv_files(record, exporter, run_export):
    export = run_export(exporter, {"scope": "all", "format": "csv"})
    response = exporter.get(f"/audit/download/{export.pk}")
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert sorted(archive.namelist()) == sorted(
        f"{kind}.csv"
        for kind in ("decisions", "escalations", "overrides", "policies", "evidence", "ledger")
    )
    total = 0
    for name in archive.namelist():
        rows = list(csv.reader(io.StringIO(archive.read(name).decode("utf-8"))))
        total += len(rows) - 1  # header row
        for row in rows[1:]:
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (name, cell)
    assert total == export.rows
    decisions = list(csv.DictReader(io.StringIO(archive.read("decisions.csv").decode())))
    assert {row["outcome"] for row in decisions} == {"allowed", "denied", "escalated"}
    ledger = list(csv.DictReader(io.StringIO(archive.read("ledger.csv").decode())))
    assert json.loads(ledger[1]["payload"])["v"] == 2


def test_markdown_report(record, exporter, run_export):
    export = run_export(exporter, {"scope": "all", "format": "markdown"})
    text = download(exporter, export).decode("utf-8")
    assert text.startswith("# Lexecon audit export")
    assert f"- Export: `{export.pk}`" in text
    for heading in (
        "## Summary",
        "## Evidence by framework control",
        "## Decisions",
        "## Integrity",
    ):
        assert heading in text
    assert "| CC6.1 |" in text
    assert str(record.escalated.pk) in text


def test_html_has_no_external_urls(record, exporter, run_export):
    export = run_export(exporter, {"scope": "all", "format": "html"})
    html = download(exporter, export).decode("utf-8")
    assert "<h2>Integrity</h2>" in html
    # No reference the browser would fetch: no src/href/url() at all, no script.
    assert not re.search(r"""(src|href)\s*=|url\(|@import|<script""", html, re.IGNORECASE)
    # The artifact's title is escaped text, not markup.
    assert "=HYPERLINK(&quot;http://evil.example&quot;)" in html


def test_pdf_has_cover_controls_tables_integrity_and_page_numbers(
    record, exporter, run_export, tmp_path
):
    export = run_export(exporter, {"scope": "all", "format": "pdf"})
    pdf = download(exporter, export)
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf, tmp_path)
    squashed = " ".join(text.split())
    # Cover: scope, period, requester, ledger root.
    assert "Lexecon audit export" in squashed
    assert str(export.pk) in squashed
    assert "Everything" in squashed
    assert f"Requested by {export.requested_by}" in squashed
    document_root = re.search(r"Ledger root (\S+)", squashed)
    assert document_root
    assert len(document_root[1]) >= 40
    # Evidence grouped by framework control.
    assert "Evidence by framework control" in squashed
    assert "CC6.1" in squashed
    soc2 = Control.objects.filter(framework_id="soc2").exists()
    assert soc2
    # Tables and the integrity section with key fingerprints and how to verify.
    for heading in ("Decisions", "Escalations", "Overrides", "Integrity", "How to verify"):
        assert heading in squashed
    assert "verify_bundle.py" in squashed
    assert re.search(r"Page 1 of \d+", squashed)


def test_report_tables_are_bounded_and_say_what_was_left_out(
    record, exporter, run_export, settings, tmp_path
):
    settings.LEXECON_EXPORT_REPORT_ROWS = 1
    export = run_export(exporter, {"scope": "decisions", "format": "pdf"})
    squashed = " ".join(pdf_text(download(exporter, export), tmp_path).split())
    assert "3 more rows left out: the first 1 of 4 are shown" in squashed
    # JSON still carries every row.
    document = json.loads(
        download(exporter, run_export(exporter, {"scope": "decisions", "format": "json"}))
    )
    assert len(document["records"]["decisions"]) == 4
