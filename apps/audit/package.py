"""Evidence packages (``format: package``): one ZIP a regulator verifies offline.

What: ``write_package`` writes, member by member, the reports, every ledger entry in scope in its
canonical form, an RFC 9162 inclusion proof for each against one signed checkpoint, a consistency
proof from that checkpoint to the latest, the checkpoint keys, the evidence artifacts in scope,
the standalone verifier and a ``manifest.json`` listing every file with its SHA-256 and size,
signed as a C2SP signed note (``manifest.sig``) with the ledger's own checkpoint keys. The format
is specified in ``docs/evidence-package.md``; ``tools/verify_bundle.py`` checks it (ADR 0027).

Why this shape:
- Entries outside the scope are absent: the inclusion proofs stand in for the rest of the tree,
  so a decisions-only package does not leak other records and stays small.
- Bounded memory: the seqs in scope are held as 8-byte integers, entries are read a few hundred at
  a time, proofs are built from the stored Merkle nodes (loaded once, ~1 per 128 entries) plus one
  256-leaf block at a time (seqs ascend, so each block is read once), and every file is streamed
  into the ZIP while it is hashed. Nothing recomputes the tree per proof.
- Fail closed: an entry whose stored hashes do not match its content, a stored tree whose root
  differs from the checkpoint, or evidence bytes that differ from their recorded hash stop the
  export with ``PackageError`` instead of producing a package that would not verify.
"""

from __future__ import annotations

import base64
import hashlib
import json
import tempfile
import zipfile
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, BinaryIO

from django.conf import settings

import tools.verify_bundle as verifier_module
from apps.core.exceptions import ApplicationError, NotFound
from apps.evidence import services as evidence_services
from apps.evidence.models import EvidenceArtifact
from apps.ledger import merkle, tree
from apps.ledger import selectors as ledger
from apps.ledger import services as ledger_services
from apps.ledger.models import Checkpoint
from apps.ledger.notes import sign_note
from tools.verify_bundle import (
    LEAF_PREFIX,
    PACKAGE_FORMAT,
    PACKAGE_NOTE_HEADER,
    manifest_note_text,
)

__all__ = ["PackageError", "PackageResult", "PackageSpec", "write_package"]

#: Entries read per query (the ``seq IN (...)`` list stays below SQLite's parameter limit).
ENTRY_BATCH = 500
CHUNK = 1 << merkle.STORED_MIN_LEVEL
COPY_CHUNK = 1 << 16
#: Proof lines are spooled in memory up to this size, then on disk, until entries are written.
SPOOL_BYTES = 8 << 20


class PackageError(ApplicationError):
    """The package cannot be produced truthfully (damaged ledger rows or evidence storage)."""

    code = "evidence_package_failed"
    status = 500


@dataclass(frozen=True)
class PackageSpec:
    """What to package; built by the export task (``apps.audit``) from the export's scope."""

    export_id: str
    scope: str
    period_from: datetime | None
    period_to: datetime | None
    requested_by: str  # "user:<id>" or "agent:<key id>"
    generator: str  # generator version string
    entry_seqs: Iterable[int]  # ascending ledger seqs in scope; may be a long iterator
    evidence_ids: Iterable[str]  # evidence artifact ids in scope
    report_html: str
    report_pdf: bytes


@dataclass(frozen=True)
class PackageResult:
    entries: int
    files: int


def _rfc3339(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


class _Member:
    """A ZIP member being written: counts and hashes every byte on its way in."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self._handle.write(data)
        self._hash.update(data)
        self.size += len(data)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


class _Archive:
    """The ZIP being written plus the ``{path, sha256, size}`` of every file, for the manifest."""

    def __init__(self, out: BinaryIO) -> None:
        self.zip = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)
        self.files: list[dict[str, Any]] = []

    def write_chunks(self, path: str, chunks: Iterable[bytes], *, compress: bool = True) -> str:
        info = zipfile.ZipInfo(path, date_time=datetime.now(UTC).timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        with self.zip.open(info, "w", force_zip64=True) as handle:
            member = _Member(handle)
            for chunk in chunks:
                member.write(chunk)
        self.files.append({"path": path, "sha256": member.sha256, "size": member.size})
        return member.sha256

    def write_bytes(self, path: str, data: bytes, *, compress: bool = True) -> str:
        return self.write_chunks(path, (data,), compress=compress)

    def close(self) -> None:
        self.zip.close()


class _ScopeProvider:
    """Perfect-subtree hashes of the tree of ``size`` entries for proofs asked in ascending order.

    Stored nodes (level >= 8) are loaded once; below that, the 256-leaf block of the entry being
    proven is read when the proofs reach it and dropped when they move on, and the last, partial
    block (which every right-edge sibling folds from) is kept. A stored node that is missing is
    folded from its block and remembered.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._nodes = ledger.merkle_nodes_within(size)
        self._tail_block = size // CHUNK
        tail_start = self._tail_block * CHUNK
        self._tail = (
            merkle.InMemoryProvider(tree.leaf_hashes(tail_start, size))
            if size > tail_start
            else None
        )
        self._block_index = -1
        self._block: merkle.InMemoryProvider | None = None

    def block(self, block: int) -> merkle.InMemoryProvider:
        """The perfect subtrees of 256-leaf block ``block`` (the partial last one included)."""
        if block == self._tail_block and self._tail is not None:
            return self._tail
        if block != self._block_index or self._block is None:
            start = block * CHUNK
            self._block = merkle.InMemoryProvider(tree.leaf_hashes(start, start + CHUNK))
            self._block_index = block
        return self._block

    def get_perfect(self, level: int, index: int) -> bytes:
        if (index + 1) << level > self.size:
            raise ValueError(f"subtree L{level}#{index} is not complete in a tree of {self.size}")
        base = merkle.STORED_MIN_LEVEL
        if level < base:
            block = (index << level) // CHUNK
            return self.block(block).get_perfect(level, index - (block << (base - level)))
        value = self._nodes.get((level, index))
        if value is None:
            if level == base:
                start = index * CHUNK
                value = merkle.InMemoryProvider(tree.leaf_hashes(start, start + CHUNK)).get_perfect(
                    base, 0
                )
            else:
                value = merkle.node_hash(
                    self.get_perfect(level - 1, 2 * index),
                    self.get_perfect(level - 1, 2 * index + 1),
                )
            self._nodes[(level, index)] = value
        return value


class _ProofText:
    """The JSON list body (quoted base64 hashes) of PATH(seq, D[size]), for ascending seqs.

    Why it is cheap: a complete 256-leaf block is a node of the RFC 9162 tree (every split above
    it falls on a multiple of 256), so the path of any leaf in it is the leaf's path inside the
    perfect block (the sibling at each level, ``(local >> level) ^ 1``) followed by the block's
    own path, which is the same for all 256 leaves and is computed once per block. Leaves of the
    last, partial block take the general ``merkle.inclusion_proof``.
    """

    def __init__(self, provider: _ScopeProvider) -> None:
        self._provider = provider
        self._block = -1
        self._upper = ""

    def __call__(self, seq: int) -> str:
        provider = self._provider
        size = provider.size
        block = seq // CHUNK
        if (block + 1) * CHUNK > size:
            return ",".join(f'"{_b64(h)}"' for h in merkle.inclusion_proof(seq, size, provider))
        levels = merkle.STORED_MIN_LEVEL
        if block != self._block:
            full = merkle.inclusion_proof(seq, size, provider)
            self._upper = "".join(f',"{_b64(h)}"' for h in full[levels:])
            self._block = block
        local = seq - block * CHUNK
        leaves = provider.block(block)
        lower = ",".join(
            f'"{_b64(leaves.get_perfect(level, (local >> level) ^ 1))}"' for level in range(levels)
        )
        return lower + self._upper


def _collect_seqs(seqs: Iterable[int]) -> array:
    """The seqs in scope as 8-byte integers; they must be non-negative and strictly ascending."""
    collected = array("q")
    last = -1
    for seq in seqs:
        if type(seq) is not int or seq <= last:
            raise PackageError(
                "entry_seqs must be strictly ascending non-negative integers.",
                details={"after": last, "got": repr(seq)},
            )
        collected.append(seq)
        last = seq
    return collected


def _package_checkpoints(highest_seq: int) -> tuple[Checkpoint, Checkpoint]:
    """The checkpoint the proofs are made against (the smallest that covers the scope, signed
    now if none does) and the latest checkpoint."""
    if highest_seq >= ledger.ledger_size():
        raise PackageError(
            "The scope names entries the ledger does not have.",
            details={"highest_seq": highest_seq, "ledger_size": ledger.ledger_size()},
        )
    checkpoint = (
        ledger.checkpoint_covering(seq=highest_seq)
        if highest_seq >= 0
        else ledger.checkpoint_latest()
    )
    if checkpoint is None:
        checkpoint = ledger_services.ledger_checkpoint_create()
    if checkpoint is None or checkpoint.tree_size <= highest_seq:
        raise PackageError(
            "No signed checkpoint covers the entries in scope.",
            details={"highest_seq": highest_seq},
        )
    latest = ledger.checkpoint_latest()
    assert latest is not None  # noqa: S101 - at least ``checkpoint`` exists
    return checkpoint, latest


def _checkpoint_summary(checkpoint: Checkpoint, path: str) -> dict[str, Any]:
    return {
        "file": path,
        "tree_size": checkpoint.tree_size,
        "root": bytes(checkpoint.root_hash).hex(),
    }


def _entry_batches(seqs: array) -> Iterator[list[ledger.EntryRow]]:
    for start in range(0, len(seqs), ENTRY_BATCH):
        wanted = seqs[start : start + ENTRY_BATCH].tolist()
        rows = ledger.entry_rows(wanted)
        if [row[0] for row in rows] != wanted:
            missing = sorted(set(wanted) - {row[0] for row in rows})
            raise PackageError(
                "Ledger entries in scope are missing.", details={"missing_seqs": missing[:20]}
            )
        yield rows


def _write_entries_and_proofs(
    archive: _Archive, seqs: array, checkpoint: Checkpoint, spool: IO[bytes]
) -> int:
    """Write ``entries.jsonl`` (canonical lines) and spool one proof line per entry."""
    size = checkpoint.tree_size
    provider = _ScopeProvider(size)
    if merkle.root(size, provider) != bytes(checkpoint.root_hash):
        raise PackageError(
            "The stored Merkle tree does not match the signed checkpoint; run verify_ledger.",
            details={"tree_size": size},
        )
    sha256 = hashlib.sha256
    proof_text = _ProofText(provider)

    def lines() -> Iterator[bytes]:
        for batch in _entry_batches(seqs):
            out: list[bytes] = []
            proofs: list[str] = []
            for seq, entry_type, timestamp, payload, prev_hash, entry_hash, leaf in batch:
                data = ledger_services.canonical_entry_text(
                    seq=seq,
                    entry_type=entry_type,
                    timestamp=timestamp,
                    payload_text=payload,
                    prev_hash=prev_hash,
                )
                if (
                    sha256(data).hexdigest() != entry_hash
                    or sha256(LEAF_PREFIX + data).digest() != leaf
                ):
                    raise PackageError(
                        f"Ledger entry {seq} does not match its stored hashes; run verify_ledger.",
                        details={"seq": seq},
                    )
                out.append(data + b"\n")
                proofs.append(f'{{"seq":{seq},"tree_size":{size},"proof":[{proof_text(seq)}]}}\n')
            spool.write("".join(proofs).encode("ascii"))
            yield b"".join(out)

    archive.write_chunks("entries.jsonl", lines())
    return len(seqs)


def _copy_spool(spool: IO[bytes]) -> Iterator[bytes]:
    spool.seek(0)
    while chunk := spool.read(COPY_CHUNK):
        yield chunk


def _evidence_chunks(artifact: EvidenceArtifact, handle: IO[bytes]) -> Iterator[bytes]:
    digest = hashlib.sha256()
    size = 0
    with handle:
        while chunk := handle.read(COPY_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            yield chunk
    if digest.hexdigest() != artifact.sha256 or size != artifact.size_bytes:
        raise PackageError(
            f"The stored bytes of evidence {artifact.pk} differ from its recorded hash.",
            details={"artifact_id": str(artifact.pk)},
        )


def _artifacts(evidence_ids: Iterable[str]) -> list[EvidenceArtifact]:
    """The artifacts in scope, in the order given, each once; an unknown id is an error."""
    ids = list(dict.fromkeys(str(value) for value in evidence_ids))
    artifacts: list[EvidenceArtifact] = []
    for start in range(0, len(ids), ENTRY_BATCH):
        wanted = ids[start : start + ENTRY_BATCH]
        found = {str(a.pk): a for a in EvidenceArtifact.objects.filter(pk__in=wanted)}
        missing = [artifact_id for artifact_id in wanted if artifact_id not in found]
        if missing:
            raise PackageError(
                "Evidence artifacts in scope do not exist.", details={"artifact_ids": missing[:20]}
            )
        artifacts.extend(found[artifact_id] for artifact_id in wanted)
    return artifacts


def _with_registrations(seqs: array, artifacts: list[EvidenceArtifact]) -> array:
    """Add the ``evidence.registered`` entry of every artifact in scope, so each artifact's hash
    is tied to an entry proven in the checkpoint."""
    extra = {artifact.ledger_seq for artifact in artifacts}
    if not extra or extra.issubset(seqs):
        return seqs
    return array("q", sorted(extra.union(seqs)))


def _write_evidence(archive: _Archive, artifacts: list[EvidenceArtifact]) -> dict[str, int]:
    """Each artifact's content (unless its retention ended) and an index of all of them."""
    index: list[dict[str, Any]] = []
    counts = {"included": 0, "expired": 0, "missing": 0}
    for artifact in artifacts:
        artifact_id = str(artifact.pk)
        item: dict[str, Any] = {
            "artifact_id": artifact_id,
            "artifact_type": artifact.artifact_type,
            "sha256": artifact.sha256,
            "size_bytes": artifact.size_bytes,
            "media_type": artifact.media_type,
            "ledger_seq": artifact.ledger_seq,
            "retention_until": _rfc3339(artifact.retention_until),
            "expired_at": _rfc3339(artifact.expired_at),
            "file": None,
        }
        try:
            handle = evidence_services.open_content(artifact)
        except evidence_services.ArtifactExpired:
            item["status"] = "expired"
        except NotFound:
            item["status"] = "missing"
        else:
            path = f"evidence/{artifact_id}"
            archive.write_chunks(path, _evidence_chunks(artifact, handle))
            item.update(status="included", file=path)
        counts[item["status"]] += 1
        index.append(item)
    document = {"artifacts": index}
    archive.write_bytes(
        "evidence/index.json", json.dumps(document, indent=2, sort_keys=True).encode() + b"\n"
    )
    return counts


README = """Lexecon evidence package {export_id}
{rule}

This archive holds ledger entries, signed checkpoints, Merkle proofs, evidence and reports for the
scope "{scope}" ({period}). Anyone can check it offline, without trusting Lexecon.

Three steps:

1. Unzip the archive into an empty directory and open a terminal there.
2. Run:   python verify_bundle.py .
   (Python 3.11 or later with the packages "cryptography" and "rfc8785":
    pip install cryptography rfc8785)
3. Read the verdict. "VALID" means: the manifest is signed by the ledger's key, every file has
   the hash and size the manifest lists, every ledger entry is included in the signed checkpoint
   (RFC 9162 inclusion proof), that checkpoint is consistent with the latest one, and the evidence
   matches the hashes the ledger recorded. Anything else names the file or entry that failed.

Important: the keys in keys/keys.json come from the package itself, so on their own they only
show that the package is self-consistent. Pin the ledger's key, obtained independently (from
GET /ledger/keys of the operator's system, the contract, or an earlier audit):

   python verify_bundle.py . --key '{note_key}'

Add --json for a machine-readable report. Exit code 0 = valid, 1 = invalid, 2 = unusable input.

Contents: report.pdf and report.html (the human-readable report), entries.jsonl (one canonical
ledger entry per line), proofs/ (inclusion and consistency proofs), checkpoints/ (signed notes),
keys/ (public keys), evidence/ (artifacts and their index), manifest.json and manifest.sig (the
signed list of every file), verify_bundle.py (this verifier). Format: docs/evidence-package.md of
the Lexecon source.
"""


def _readme(spec: PackageSpec, note_key: str) -> bytes:
    period = (
        f"{_rfc3339(spec.period_from) or 'the beginning'} to {_rfc3339(spec.period_to) or 'now'}"
    )
    title = f"Lexecon evidence package {spec.export_id}"
    return README.format(
        export_id=spec.export_id,
        rule="=" * len(title),
        scope=spec.scope,
        period=period,
        note_key=note_key,
    ).encode("utf-8")


def write_package(out: BinaryIO, spec: PackageSpec) -> PackageResult:
    """Write the evidence package for ``spec`` into ``out`` (a binary file) and return counts.

    Signs a fresh checkpoint first when no signed checkpoint covers the highest seq in scope.
    Raises ``PackageError`` when the ledger or the evidence storage would make it untruthful.
    """
    artifacts = _artifacts(spec.evidence_ids)
    seqs = _with_registrations(_collect_seqs(spec.entry_seqs), artifacts)
    checkpoint, latest = _package_checkpoints(seqs[-1] if seqs else -1)
    signers = ledger_services.checkpoint_signers()
    archive = _Archive(out)
    try:
        archive.write_bytes("report.html", spec.report_html.encode("utf-8"))
        archive.write_bytes("report.pdf", spec.report_pdf, compress=False)
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
            entries = _write_entries_and_proofs(archive, seqs, checkpoint, spool)
            archive.write_chunks("proofs/inclusion.jsonl", _copy_spool(spool))
        package_note = "checkpoints/package.note"
        archive.write_bytes(package_note, checkpoint.note.encode("utf-8"))
        latest_note = package_note
        if latest.tree_size != checkpoint.tree_size:
            latest_note = "checkpoints/latest.note"
            archive.write_bytes(latest_note, latest.note.encode("utf-8"))
        consistency = {
            "first": checkpoint.tree_size,
            "second": latest.tree_size,
            "proof": [
                _b64(value)
                for value in (
                    tree.consistency_proof(checkpoint.tree_size, latest.tree_size)
                    if latest.tree_size != checkpoint.tree_size
                    else []
                )
            ],
        }
        archive.write_bytes(
            "proofs/consistency.json", json.dumps(consistency, indent=2).encode() + b"\n"
        )
        keys = {"keys": [ledger.key_as_dict(key) for key in ledger.keys_list()]}
        archive.write_bytes("keys/keys.json", json.dumps(keys, indent=2).encode() + b"\n")
        evidence = _write_evidence(archive, artifacts)
        with Path(verifier_module.__file__).open("rb") as source:
            archive.write_chunks("verify_bundle.py", iter(lambda: source.read(COPY_CHUNK), b""))
        archive.write_bytes("README.txt", _readme(spec, signers[0].note_key))
        manifest = {
            "format": PACKAGE_FORMAT,
            "export_id": spec.export_id,
            "scope": spec.scope,
            "period": {"from": _rfc3339(spec.period_from), "to": _rfc3339(spec.period_to)},
            "requested_by": spec.requested_by,
            "generator": spec.generator,
            "created_at": _rfc3339(datetime.now(UTC)),
            "origin": settings.LEXECON_ORIGIN,
            "entries": entries,
            "evidence": evidence,
            "checkpoint": _checkpoint_summary(checkpoint, package_note),
            "latest_checkpoint": _checkpoint_summary(latest, latest_note),
            "files": list(archive.files),
        }
        manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
        text = manifest_note_text(
            export_id=spec.export_id, manifest_sha256=hashlib.sha256(manifest_bytes).hexdigest()
        )
        assert text.startswith(PACKAGE_NOTE_HEADER)  # noqa: S101 - one format, one definition
        signature = sign_note(text, signers).encode("utf-8")
        archive.zip.writestr("manifest.json", manifest_bytes)
        archive.zip.writestr("manifest.sig", signature)
        files = len(archive.files) + 2
    finally:
        archive.close()
    return PackageResult(entries=entries, files=files)
