"""Evidence packages (``format: package``) against the standalone verifier (issue 18, ADR 0027).

Ledger entries come from the real services (decisions through ``POST /decide``, evidence through
``evidence_register``), the package is written by ``apps.audit.package.write_package`` with the
ledger's real keys, and ``tools/verify_bundle.py`` checks it — in this process, as a subprocess,
and in a throwaway virtual environment holding nothing but ``cryptography`` and ``rfc8785``.
Nothing cryptographic is mocked.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from apps.audit.package import PackageError, PackageSpec, write_package
from apps.evidence import services as evidence
from apps.ledger import selectors as ledger_selectors
from apps.ledger import services as ledger
from apps.ledger.models import Checkpoint, LedgerEntry
from tools.verify_bundle import verify_package

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {"actor": "ai_agent:customer_service", "action": "read_ticket"}


@pytest.fixture(autouse=True)
def evidence_dir(settings, tmp_path):
    """Evidence bytes of each test in its own directory."""
    settings.STORAGES = {
        **settings.STORAGES,
        "evidence": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "evidence")},
        },
    }


def decide(agent, n: int) -> list[str]:
    ids = []
    for index in range(n):
        body = {**ALLOWED, "context": {"ticket": f"T-{index}"}}
        response = agent.post("/decide", body, format="json")
        assert response.status_code == 200, response.content
        ids.append(response.json()["decision_id"])
    return ids


@pytest.fixture
def ledger_world(agent, staff):
    """Decisions, two artifacts (one later past its retention) and a few non-decision entries."""
    officer = staff("olga", "compliance_officer")
    decisions = decide(agent, 5)
    kept = evidence.evidence_register(
        principal=officer,
        artifact_type="policy_snapshot",
        title="policy as applied",
        content=ContentFile(b"policy bytes \x00\x01 kept"),
        media_type="application/octet-stream",
        decision_ids=[decisions[0]],
    )
    gone = evidence.evidence_register(
        principal=officer,
        artifact_type="screenshot",
        title="short-lived",
        content=ContentFile(b"screenshot bytes"),
        media_type="image/png",
    )
    expiry = evidence.evidence_expire_due(now=gone.retention_until + timedelta(seconds=1))
    assert expiry.expired >= 1
    decisions += decide(agent, 4)
    return {"decisions": decisions, "kept": kept, "gone": gone}


def decision_seqs() -> list[int]:
    return list(
        LedgerEntry.objects.filter(entry_type="decision.made")
        .order_by("seq")
        .values_list("seq", flat=True)
    )


def spec(seqs, evidence_ids=(), **overrides) -> PackageSpec:
    values = {
        "export_id": "0193a5f0-0000-7000-8000-000000000018",
        "scope": "decisions",
        "period_from": timezone.now() - timedelta(days=1),
        "period_to": timezone.now() + timedelta(days=1),
        "requested_by": "user:1",
        "generator": "lexecon test",
        "entry_seqs": iter(seqs),
        "evidence_ids": evidence_ids,
        "report_html": "<html><body><h1>Report</h1></body></html>",
        "report_pdf": b"%PDF-1.7\n% not a real PDF, only bytes to hash\n%%EOF\n",
    }
    values.update(overrides)
    return PackageSpec(**values)


def build(path: Path, package_spec: PackageSpec) -> Path:
    with path.open("wb") as out:
        result = write_package(out, package_spec)
    assert result.files == len(zipfile.ZipFile(path).namelist())
    return path


def unpack(archive: Path, directory: Path) -> Path:
    with zipfile.ZipFile(archive) as handle:
        handle.extractall(directory)
    return directory


def run_verifier(python: str, script: Path, target: Path, *extra: str, env=None):
    return subprocess.run(
        [python, str(script), str(target), *extra],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


@pytest.fixture
def package(ledger_world, tmp_path):
    seqs = decision_seqs()
    kept, gone = ledger_world["kept"], ledger_world["gone"]
    archive = build(tmp_path / "package.zip", spec(seqs, [str(kept.pk), str(gone.pk)]))
    # The scope's decisions plus the registration entry of each artifact in scope.
    return archive, sorted([*seqs, kept.ledger_seq, gone.ledger_seq])


def test_fresh_package_verifies_as_zip_directory_and_with_pinned_key(package, tmp_path):
    archive, seqs = package
    report = verify_package(archive)
    assert report["valid"], report["errors"]
    assert report["entries_checked"] == len(seqs) == 9 + 2
    assert report["evidence"] == {"included": 1, "expired": 1, "missing": 0, "cross_checked": 2}
    assert report["trust"] == "keys/keys.json"
    assert report["manifest_signed_by"] == [
        "lexecon.example/ledger/Ed25519",
        "lexecon.example/ledger/RSA-PSS-4096",
    ]
    directory = unpack(archive, tmp_path / "unpacked")
    assert verify_package(directory)["valid"]
    # The regulator pins the Ed25519 key that GET /ledger/keys publishes.
    published = [
        k["note_key"] for k in json.loads((directory / "keys/keys.json").read_text())["keys"]
    ]
    pinned = verify_package(directory, pinned_keys=[published[0]])
    assert pinned["valid"]
    assert pinned["trust"] == "pinned"
    # The shipped copy of the verifier, run as the README says, exits 0 with a readable verdict.
    done = run_verifier(sys.executable, directory / "verify_bundle.py", directory)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Lexecon evidence package: VALID" in done.stdout
    assert (directory / "verify_bundle.py").read_bytes() == (
        ROOT / "tools" / "verify_bundle.py"
    ).read_bytes()


def test_package_contents_are_the_scope_only(package, ledger_world, tmp_path):
    archive, seqs = package
    directory = unpack(archive, tmp_path / "unpacked")
    lines = (directory / "entries.jsonl").read_bytes().splitlines()
    entries = [json.loads(line) for line in lines]
    assert [entry["seq"] for entry in entries] == seqs
    assert {entry["entry_type"] for entry in entries} == {"decision.made", "evidence.registered"}
    # Entries out of scope (genesis, policy, the expiry, ...) exist in the ledger but not here.
    others = LedgerEntry.objects.exclude(seq__in=seqs).values_list("seq", flat=True)
    assert set(others)
    assert not set(others) & {entry["seq"] for entry in entries}
    # Each line is exactly the stored canonical bytes (what the ledger hashed).
    for line, entry in zip(lines, entries, strict=True):
        stored = LedgerEntry.objects.get(seq=entry["seq"])
        assert hashlib.sha256(line).hexdigest() == stored.entry_hash
    manifest = json.loads((directory / "manifest.json").read_text())
    listed = {item["path"] for item in manifest["files"]}
    on_disk = {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()} - {
        "manifest.json",
        "manifest.sig",
    }
    assert listed == on_disk
    kept, gone = str(ledger_world["kept"].pk), str(ledger_world["gone"].pk)
    assert (directory / "evidence" / kept).read_bytes() == b"policy bytes \x00\x01 kept"
    assert not (directory / "evidence" / gone).exists()
    index = {
        a["artifact_id"]: a
        for a in json.loads((directory / "evidence/index.json").read_text())["artifacts"]
    }
    assert index[gone]["status"] == "expired"
    assert index[gone]["file"] is None
    assert index[gone]["sha256"] == ledger_world["gone"].sha256
    assert manifest["scope"] == "decisions"
    assert manifest["entries"] == len(seqs)
    assert manifest["requested_by"] == "user:1"
    assert manifest["generator"] == "lexecon test"
    assert manifest["export_id"] == "0193a5f0-0000-7000-8000-000000000018"


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_flipping_one_byte_in_any_file_fails_naming_that_file(package, tmp_path):
    archive, _ = package
    pristine = unpack(archive, tmp_path / "pristine")
    names = sorted(p.relative_to(pristine).as_posix() for p in pristine.rglob("*") if p.is_file())
    assert {"manifest.json", "manifest.sig", "entries.jsonl", "verify_bundle.py"} <= set(names)
    for number, name in enumerate(names):
        directory = unpack(archive, tmp_path / f"copy{number}")
        _flip(directory / name)
        report = verify_package(directory)
        assert not report["valid"], name
        assert name in report["failed_files"], (name, report["errors"])


def test_a_changed_member_of_the_zip_names_it(package, tmp_path):
    archive, _ = package
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(tampered, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "entries.jsonl":
                data = data.replace(b'"outcome":"allowed"', b'"outcome":"denied"', 1)
            target.writestr(info, data)
    report = verify_package(tampered)
    assert not report["valid"]
    assert "entries.jsonl" in report["failed_files"]
    codes = {error["code"] for error in report["errors"]}
    assert {"file_mismatch", "bad_proof"} <= codes  # the hash and the inclusion proof both fail
    done = run_verifier(sys.executable, ROOT / "tools/verify_bundle.py", tampered)
    assert done.returncode == 1
    assert "INVALID" in done.stdout
    assert "entries.jsonl" in done.stdout


def test_a_forged_manifest_signature_fails(package, tmp_path):
    """A manifest rewritten to hide a change and signed with another key is refused, with the
    keys in the package (it carries the real ones) and with the pinned key."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from apps.ledger.notes import NoteSigner, sign_note
    from tools.verify_bundle import manifest_note_text

    archive, _ = package
    directory = unpack(archive, tmp_path / "forged")
    (directory / "report.html").write_text("<html><body>a different report</body></html>")
    manifest = json.loads((directory / "manifest.json").read_text())
    for item in manifest["files"]:
        if item["path"] == "report.html":
            data = (directory / "report.html").read_bytes()
            item.update(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
    (directory / "manifest.json").write_bytes(manifest_bytes)
    forger = NoteSigner("lexecon.example/ledger", ed25519.Ed25519PrivateKey.generate())
    text = manifest_note_text(
        export_id=manifest["export_id"],
        manifest_sha256=hashlib.sha256(manifest_bytes).hexdigest(),
    )
    (directory / "manifest.sig").write_text(sign_note(text, [forger]))
    report = verify_package(directory)
    assert not report["valid"]
    assert report["error_code"] == "bad_manifest_signature"
    assert "manifest.sig" in report["failed_files"]
    # With the forger's key pinned the signature verifies, but the checkpoints do not: the
    # entries cannot be anchored, so a forger's package never reads VALID.
    forged_trust = verify_package(directory, pinned_keys=[forger.note_key])
    assert not forged_trust["valid"]
    assert {"bad_signature", "unanchored_proof"} <= {e["code"] for e in forged_trust["errors"]}


def test_unlisted_and_missing_files_fail(package, tmp_path):
    archive, _ = package
    directory = unpack(archive, tmp_path / "extra")
    (directory / "evidence" / "planted").write_bytes(b"not from the operator")
    report = verify_package(directory)
    assert not report["valid"]
    assert "evidence/planted" in report["failed_files"]
    directory = unpack(archive, tmp_path / "missing")
    (directory / "proofs" / "consistency.json").unlink()
    report = verify_package(directory)
    assert not report["valid"]
    assert "proofs/consistency.json" in report["failed_files"]


def test_package_signs_a_fresh_checkpoint_and_proves_consistency_with_the_latest(agent, tmp_path):
    decide(agent, 3)
    assert not Checkpoint.objects.exists()
    seqs = decision_seqs()
    first = build(tmp_path / "first.zip", spec(seqs))
    checkpoint = Checkpoint.objects.get()
    assert checkpoint.tree_size == ledger_selectors.ledger_size()
    report = verify_package(first)
    assert report["valid"], report["errors"]
    assert (
        report["checkpoint"]["size"] == report["latest_checkpoint"]["size"] == checkpoint.tree_size
    )
    # Later entries and a later checkpoint: the same scope is proven against the first
    # checkpoint, and a consistency proof links it to the latest.
    decide(agent, 4)
    ledger.ledger_checkpoint_create()
    second = build(tmp_path / "second.zip", spec(seqs))
    report = verify_package(second)
    assert report["valid"], report["errors"]
    assert report["checkpoint"]["size"] == checkpoint.tree_size
    assert report["latest_checkpoint"]["size"] == ledger_selectors.ledger_size()
    with zipfile.ZipFile(second) as handle:
        consistency = json.loads(handle.read("proofs/consistency.json"))
        assert consistency["proof"]  # a real, non-empty proof between different sizes
        assert "checkpoints/latest.note" in handle.namelist()
    # A proof element changed (and the manifest re-signed would be needed): the file fails.
    directory = unpack(second, tmp_path / "second")
    document = json.loads((directory / "proofs/consistency.json").read_text())
    document["proof"][0] = document["proof"][-1] if len(document["proof"]) > 1 else "A" * 43 + "="
    (directory / "proofs/consistency.json").write_text(json.dumps(document))
    report = verify_package(directory)
    assert "proofs/consistency.json" in report["failed_files"]
    assert "bad_proof" in {e["code"] for e in report["errors"]}


def test_bad_scope_input_is_refused_before_anything_is_written(agent, tmp_path):
    decide(agent, 2)
    seqs = decision_seqs()
    before = (LedgerEntry.objects.count(), Checkpoint.objects.count())
    out = io.BytesIO()
    with pytest.raises(PackageError):
        write_package(out, spec(list(reversed(seqs))))
    with pytest.raises(PackageError):
        write_package(out, spec([ledger_selectors.ledger_size() + 5]))
    assert out.getvalue() == b""
    assert (LedgerEntry.objects.count(), Checkpoint.objects.count()) == before


def _bare_python(tmp_path: Path) -> Path:
    """A venv without pip whose only third-party packages are cryptography (+ cffi) and rfc8785,
    linked from our environment."""
    venv = tmp_path / "bare"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    python = venv / "bin" / "python"
    target = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    ours = Path(sysconfig.get_paths()["purelib"])
    wanted = ["cryptography", "cffi", "rfc8785"]
    wanted += [p.name for p in ours.glob("_cffi_backend*")]
    for name in wanted:
        os.symlink(ours / name, target / name)
    return python


def test_package_verifies_with_only_cryptography_and_rfc8785(package, tmp_path):
    archive, _ = package
    directory = unpack(archive, tmp_path / "regulator")
    python = _bare_python(tmp_path)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    probe = subprocess.run(
        [str(python), "-c", "import django"], capture_output=True, env=env, check=False
    )
    assert probe.returncode != 0
    assert b"No module named 'django'" in probe.stderr
    done = run_verifier(str(python), directory / "verify_bundle.py", directory, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Lexecon evidence package: VALID" in done.stdout
    # The ZIP itself, with --json.
    done = run_verifier(str(python), directory / "verify_bundle.py", archive, "--json", env=env)
    assert done.returncode == 0
    assert json.loads(done.stdout)["valid"] is True
    _flip(directory / "report.pdf")
    done = run_verifier(str(python), directory / "verify_bundle.py", directory, env=env)
    assert done.returncode == 1
    assert "report.pdf" in done.stdout


def test_proofs_across_complete_blocks_equal_the_ledgers_own(db, tmp_path):
    """Past 256 entries the writer reuses each block's upper path; every proof line must equal
    what GET /ledger/proof/inclusion serves, for leaves in complete blocks and in the tail."""
    from django.db import transaction

    with transaction.atomic():
        for index in range(700):
            ledger.ledger_append(entry_type="test.event", payload={"n": index})
    ledger.ledger_checkpoint_create()
    size = ledger_selectors.ledger_size()
    assert size > 2 * 256
    seqs = [0, 1, 2, 255, 256, 257, 300, 511, 512, 513, *range(600, size, 7), size - 1]
    seqs = sorted(set(seqs))
    archive = build(tmp_path / "blocks.zip", spec(seqs))
    report = verify_package(archive)
    assert report["valid"], report["errors"]
    assert report["entries_checked"] == len(seqs)
    with zipfile.ZipFile(archive) as handle:
        lines = handle.read("proofs/inclusion.jsonl").splitlines()
    for line in lines:
        proof = json.loads(line)
        served = ledger_selectors.inclusion_proof(seq=proof["seq"], tree_size=size)
        assert proof["proof"] == served["proof"], proof["seq"]


def test_duplicate_zip_member_and_unusable_input(package, tmp_path):
    archive, _ = package
    doubled = tmp_path / "doubled.zip"
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(doubled, "w") as target:
        for info in source.infolist():
            target.writestr(info, source.read(info.filename))
        with pytest.warns(UserWarning, match="Duplicate name"):
            target.writestr("report.html", b"<html>a second report under the same name</html>")
    report = verify_package(doubled)
    assert not report["valid"]
    assert "report.html" in report["failed_files"]
    assert "duplicate_file" in {error["code"] for error in report["errors"]}
    script = ROOT / "tools/verify_bundle.py"
    bad_key = run_verifier(sys.executable, script, archive, "--key", "not-a-key")
    assert bad_key.returncode == 2
    assert "pinned key unusable" in bad_key.stderr
    not_zip = tmp_path / "notes.zip"
    not_zip.write_bytes(b"PK\x03\x04 truncated")
    assert run_verifier(sys.executable, script, not_zip).returncode == 2
