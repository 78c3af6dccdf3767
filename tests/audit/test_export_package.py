"""``format: package`` end to end: the export task builds the spec (scope, period, requester, the
ascending ledger seqs and evidence ids in scope, report.html and report.pdf) and hands it to
``apps.audit.package.write_package`` (written beside this app); the package it produces verifies
offline with its own ``verify_bundle.py``. Skipped until that module is part of the build."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import subprocess
import sys
import zipfile

import pytest

from apps.audit import selectors
from apps.decisions.models import Decision
from tests.audit.conftest import download

package = pytest.importorskip("apps.audit.package")

pytestmark = pytest.mark.django_db


def test_the_task_hands_write_package_the_spec_of_its_scope(
    record, exporter, run_export, monkeypatch
):
    seen = {}
    real = package.write_package

    def capturing(out, spec):
        seen["seqs"] = list(spec.entry_seqs)
        seen["evidence"] = list(spec.evidence_ids)
        seen["spec"] = spec
        # The iterables were consumed here; the real writer gets the same values again.
        again = dataclasses.replace(
            spec, entry_seqs=iter(seen["seqs"]), evidence_ids=iter(seen["evidence"])
        )
        return real(out, again)

    monkeypatch.setattr(package, "write_package", capturing)
    export = run_export(exporter, {"scope": "decisions", "format": "package"})
    assert export.status == "done", export.error
    spec = seen["spec"]
    assert (spec.export_id, spec.scope) == (str(export.pk), "decisions")
    assert spec.requested_by == export.requested_by
    assert spec.report_pdf.startswith(b"%PDF-")
    assert "Lexecon audit export" in spec.report_html
    assert seen["seqs"] == sorted(Decision.objects.values_list("ledger_seq", flat=True))
    assert record.outsider_seq not in seen["seqs"]
    assert seen["evidence"] == [record.artifact_id]


def test_a_package_export_verifies_offline(record, exporter, run_export, tmp_path):
    export = run_export(exporter, {"scope": "all", "format": "package"})
    assert export.status == "done", export.error
    body = download(exporter, export)
    assert hashlib.sha256(body).hexdigest() == export.sha256
    archive = zipfile.ZipFile(io.BytesIO(body))
    names = set(archive.namelist())
    assert {"report.pdf", "report.html", "manifest.json", "verify_bundle.py"} <= names
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["scope"] == "all"
    root = tmp_path / "package"
    archive.extractall(root)
    result = subprocess.run(
        [sys.executable, "verify_bundle.py", "."], cwd=root, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Its ledger entry is among the in-scope seqs of a later export.
    later = selectors.Selection(scope="ledger", tree_size=export.ledger_seq + 1)
    assert export.ledger_seq in set(selectors.entry_seqs(later))
