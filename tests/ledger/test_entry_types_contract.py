"""Contract: every ledger entry type is unique and documented in docs/audit-and-ledger.md."""

import re
from pathlib import Path

from apps.ledger.entry_types import EntryType

DOC = Path(__file__).resolve().parents[2] / "docs" / "audit-and-ledger.md"


def test_codes_are_unique_and_namespaced():
    codes = [member.value for member in EntryType]
    assert len(codes) == len(set(codes))
    for code in codes:
        assert re.fullmatch(r"[a-z_]+\.[a-z_]+", code), code


def test_every_code_is_documented_once():
    text = DOC.read_text()
    documented = re.findall(r"^\| `([a-z_.]+)` \|", text, flags=re.MULTILINE)
    assert sorted(documented) == sorted(member.value for member in EntryType)
