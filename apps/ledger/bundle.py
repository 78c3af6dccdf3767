"""Export the ledger as an offline-verifiable bundle (format: docs/ledger-formats.md).

A bundle is a directory with ``entries.jsonl``, ``checkpoints.json``, ``keys.json`` (checkpoint keys
only, the ``GET /ledger/keys`` document) and a copy of the standalone verifier
``verify_bundle.py``; anyone can run ``python verify_bundle.py <dir>`` with nothing but our public keys.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from django.conf import settings

from apps.ledger import selectors
from apps.ledger.models import Checkpoint, LedgerEntry

VERIFIER = Path(settings.BASE_DIR) / "tools" / "verify_bundle.py"


def bundle_write(directory: Path, *, upto: int | None = None) -> dict[str, int]:
    """Write the bundle for entries ``[0, upto)`` (all by default) and return counts."""
    directory.mkdir(parents=True, exist_ok=True)
    entries = LedgerEntry.objects.order_by("seq")
    checkpoints = Checkpoint.objects.order_by("tree_size")
    if upto is not None:
        entries = entries.filter(seq__lt=upto)
        checkpoints = checkpoints.filter(tree_size__lte=upto)
    count = 0
    with (directory / "entries.jsonl").open("w", encoding="utf-8") as handle:
        for entry in entries.defer("leaf_hash").iterator(chunk_size=2000):
            handle.write(json.dumps(selectors.entry_as_dict(entry), ensure_ascii=False) + "\n")
            count += 1
    notes = [{"tree_size": cp.tree_size, "note": cp.note} for cp in checkpoints]
    (directory / "checkpoints.json").write_text(json.dumps({"checkpoints": notes}, indent=2))
    keys = [selectors.key_as_dict(key) for key in selectors.keys_list()]
    (directory / "keys.json").write_text(json.dumps({"keys": keys}, indent=2))
    shutil.copyfile(VERIFIER, directory / "verify_bundle.py")
    return {"entries": count, "checkpoints": len(notes), "keys": len(keys)}
