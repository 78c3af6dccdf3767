"""The transparency-dev/merkle proof vectors (T08): every file must give exactly its ``wantErr``.

The vectors (transparency-dev/merkle, Apache-2.0) are vendored in ``tests/vectors/merkle``. Each happy path
is paired with mutations (bit flips, index +-1, sizes x2 or /2, garbage before or after,
inserted or removed components, empty or random roots); the verifier must reject every mutation
and accept every happy path, and must answer rather than raise.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tools.verify_bundle import verify_consistency, verify_inclusion

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "merkle" / "testdata"
INCLUSION_FILES = sorted((VECTORS / "inclusion").rglob("*.json"))
CONSISTENCY_FILES = sorted((VECTORS / "consistency").rglob("*.json"))


def _bytes(value: str | None) -> bytes:
    """Vectors encode hashes in base64; a JSON null means Go's nil slice, i.e. no bytes."""
    return base64.b64decode(value) if value else b""


def _proof(values: list[str] | None) -> list[bytes]:
    """A null proof is Go's nil slice: an empty proof."""
    return [_bytes(value) for value in values or []]


def _label(path: Path) -> str:
    return str(path.relative_to(VECTORS))


def test_vector_corpus_is_present_and_complete():
    """Guard against an empty glob silently passing: the corpus has 196 files (commit 417fb0c)."""
    assert len(INCLUSION_FILES) == 98
    assert len(CONSISTENCY_FILES) == 98
    happy = [path for path in INCLUSION_FILES + CONSISTENCY_FILES if "happy-path" in path.name]
    assert len(happy) >= 10


@pytest.mark.parametrize("path", INCLUSION_FILES, ids=_label)
def test_inclusion_vector(path: Path):
    case = json.loads(path.read_text())

    verified = verify_inclusion(
        _bytes(case["leafHash"]),
        case["leafIdx"],
        case["treeSize"],
        _proof(case["proof"]),
        _bytes(case["root"]),
    )

    assert verified is (not case["wantErr"]), case["desc"]


@pytest.mark.parametrize("path", CONSISTENCY_FILES, ids=_label)
def test_consistency_vector(path: Path):
    case = json.loads(path.read_text())

    verified = verify_consistency(
        case["size1"],
        case["size2"],
        _proof(case["proof"]),
        _bytes(case["root1"]),
        _bytes(case["root2"]),
    )

    assert verified is (not case["wantErr"]), case["desc"]


def test_vectors_cover_both_outcomes():
    """Both accepting and rejecting cases exist, so a constant answer cannot pass the suite."""
    wanted = [json.loads(path.read_text())["wantErr"] for path in INCLUSION_FILES]
    wanted += [json.loads(path.read_text())["wantErr"] for path in CONSISTENCY_FILES]
    assert wanted.count(False) >= 10
    assert wanted.count(True) >= 150
