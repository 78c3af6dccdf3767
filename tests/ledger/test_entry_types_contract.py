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


FORMATS = DOC.parent / "ledger-formats.md"


def test_every_payload_shape_is_documented_field_by_field():
    """docs/ledger-formats.md §1.1 lists each type's subject and own fields exactly as declared."""
    from apps.ledger import events

    envelope = set(events.fields_of(EntryType.TOKEN_REVOKED)) - {"jti"}
    assert envelope == {"v", "actor", "subject", "request_id", "reason"}
    rows = {
        code: (subject, re.findall(r"`([a-z0-9_]+)`", fields))
        for code, subject, fields in re.findall(
            r"^\| `([a-z_.]+)` \| `([a-z_]+)` \| (.+) \|$", FORMATS.read_text(), flags=re.MULTILINE
        )
    }
    declared = {
        code: (model.SUBJECT, [name for name in events.fields_of(code) if name not in envelope])
        for code, model in events.REGISTRY.items()
        if code != EntryType.TEST_EVENT
    }
    assert rows == declared
