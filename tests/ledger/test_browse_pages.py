"""The ledger browser's staff pages: who may open them, keyset pages, filters (indexed and not yet
indexed entries alike), the entry page's bytes and proof, the proof download, the checkpoints list,
and 4xx on bad input. Browser-side verification is in tests/browser/test_ledger_browser.py."""

from __future__ import annotations

import base64
import io
import json
import re

import pytest
from django.db import transaction
from django.test import Client

from apps.ledger import browse, selectors, services
from apps.ledger.models import LedgerEntry, LedgerEntryFacet
from apps.ledger.services.facets import entry_facets, facets_high_water
from tests.conftest import verify_session
from tests.ledger.conftest import append_many
from tools.verify_bundle import (
    canonical_entry_bytes,
    parse_checkpoint,
    parse_signed_note,
    verify_inclusion,
)

pytestmark = pytest.mark.django_db

ENTRIES = "/ledger/browse/"
CHECKPOINTS = "/ledger/browse/checkpoints/"


def entry_url(seq: int) -> str:
    return f"/ledger/browse/entries/{seq}/"


def proof_url(seq: int) -> str:
    return f"/ledger/browse/entries/{seq}/inclusion-proof.json"


def envelope(actor: str, subject_type: str, subject_id: str, n: int) -> dict:
    kind = actor.split(":", 1)[0]
    return {
        "v": 2,
        "actor": {"kind": kind, "id": actor, "label": actor, "role": None},
        "subject": {"type": subject_type, "id": subject_id},
        "request_id": None,
        "reason": None,
        "n": n,
    }


def append(payload: dict) -> int:
    with transaction.atomic():
        return services.ledger_append(entry_type="test.event", payload=payload).seq


def seqs_of(response) -> list[int]:
    return [int(s) for s in re.findall(r'aria-label="Entry (\d+)"', response.content.decode())]


@pytest.fixture
def officer(verified_client):
    return verified_client("compliance_officer", "olivia")


# --- Who may open the pages ---------------------------------------------------------------------


@pytest.fixture
def small_ledger(db):
    append_many(5)
    return services.ledger_checkpoint_create()


@pytest.mark.parametrize("url", [ENTRIES, entry_url(1), proof_url(1), CHECKPOINTS])
def test_who_may_open_the_pages(url, small_ledger, client, make_user, verified_client):
    entries_before = LedgerEntry.objects.count()
    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")
    password_only = Client()
    password_only.force_login(make_user("pat", "auditor"))  # password step only, no OTP
    step = password_only.get(url)
    assert step.status_code == 302
    assert step["Location"].startswith("/accounts/otp/")
    assert verified_client("reviewer").get(url).status_code == 403
    for role in ("compliance_officer", "auditor", "admin"):
        assert verified_client(role).get(url).status_code == 200, role
    # Reading writes nothing.
    assert LedgerEntry.objects.count() == entries_before


def test_menu_offers_the_ledger_to_readers_only(small_ledger, make_user):
    reviewer = verify_session(Client(), make_user("rita", "reviewer"))
    auditor = verify_session(Client(), make_user("aude", "auditor"))
    link = '<a href="/ledger/browse/"'
    # "/" sends each to their home (the queue, the dashboard): the menu is on both.
    assert link not in reviewer.get("/", follow=True).content.decode()
    assert link in auditor.get("/", follow=True).content.decode()


# --- Keyset pages -------------------------------------------------------------------------------


def test_keyset_pages_walk_the_whole_ledger_both_ways(officer):
    append_many(119)  # with the genesis: seqs 0..119
    first = officer.get(ENTRIES)
    assert seqs_of(first) == list(range(119, 69, -1))
    assert "120 entries, newest first" in first.content.decode()
    seen, page = [], first
    while True:
        seen += seqs_of(page)
        match = re.search(r'href="\?before=(\d+)" rel="next"', page.content.decode())
        if not match:
            break
        page = officer.get(f"{ENTRIES}?before={match.group(1)}")
    assert seen == list(range(119, -1, -1))
    oldest = officer.get(f"{ENTRIES}?after=-1")
    assert seqs_of(oldest) == list(range(49, -1, -1))
    assert 'rel="next"' not in oldest.content.decode()
    newer = re.search(r'href="\?after=(\d+)" rel="prev"', oldest.content.decode())
    assert newer.group(1) == "49"
    assert seqs_of(officer.get(f"{ENTRIES}?after=49")) == list(range(99, 49, -1))
    # A cursor past the newest entry shows the newest page.
    assert seqs_of(officer.get(f"{ENTRIES}?after=500")) == list(range(119, 69, -1))


@pytest.mark.parametrize(
    ("query", "field_case"),
    [
        ("before=-5", "negative_cursor"),
        ("after=abc", "not_a_number"),
        ("entry_type=nope.nothing", "unknown_type"),
        ("time_from=yesterday", "bad_time"),
        ("time_from=2026-12-02T10:00&time_to=2026-12-01T10:00", "reversed_range"),
        ("before=5&after=2", "both_cursors"),
        (f"actor={'x' * 201}", "actor_too_long"),
    ],
)
def test_bad_filters_are_400_with_the_reason(officer, small_ledger, query, field_case):
    response = officer.get(f"{ENTRIES}?{query}")
    assert response.status_code == 400, field_case
    assert 'role="alert"' in response.content.decode()


# --- Filters ------------------------------------------------------------------------------------


@pytest.fixture
def mixed_ledger(db):
    """Entries by two actors on three subjects, then a checkpoint (facets filled to there), then
    more entries that only the tail scan can find."""
    made = []
    for n in range(30):
        actor = "user:7" if n % 3 == 0 else "agent:bot1"
        subject = f"d-{n % 4}"
        made.append((append(envelope(actor, "decision", subject, n)), actor, subject))
    services.ledger_checkpoint_create()
    for n in range(30, 40):
        actor = "user:7" if n % 3 == 0 else "agent:bot1"
        subject = f"d-{n % 4}"
        made.append((append(envelope(actor, "decision", subject, n)), actor, subject))
    return made


def expected(made, *, actor=None, subject=None) -> list[int]:
    return sorted(
        (
            seq
            for seq, a, s in made
            if (actor is None or a == actor) and (subject is None or s == subject)
        ),
        reverse=True,
    )


def test_actor_and_subject_filters_find_indexed_and_recent_entries(officer, mixed_ledger):
    high_water = facets_high_water()
    assert 0 < high_water < mixed_ledger[-1][0]  # some entries are past the side table
    by_actor = seqs_of(officer.get(f"{ENTRIES}?actor=user:7"))
    assert by_actor == expected(mixed_ledger, actor="user:7")
    assert any(seq > high_water for seq in by_actor)
    by_subject = seqs_of(officer.get(f"{ENTRIES}?subject_id=d-1&subject_type=decision"))
    assert by_subject == expected(mixed_ledger, subject="d-1")
    both = seqs_of(officer.get(f"{ENTRIES}?actor=agent:bot1&subject_id=d-2"))
    assert both == expected(mixed_ledger, actor="agent:bot1", subject="d-2")
    assert seqs_of(officer.get(f"{ENTRIES}?subject_id=d-1&subject_type=escalation")) == []


def test_filtered_pages_continue_across_the_indexed_boundary(mixed_ledger):
    filters = browse.EntryFilters(actor="agent:bot1")
    want = expected(mixed_ledger, actor="agent:bot1")
    got, before = [], None
    while True:
        page = browse.entries_page(filters=filters, before=before, limit=4)
        got += [row.seq for row in page.rows]
        if page.older is None:
            break
        before = page.older
    assert got == want
    # And back up from the oldest.
    page = browse.entries_page(filters=filters, after=-1, limit=4)
    assert [row.seq for row in page.rows] == want[-4:]
    assert page.newer == want[-4]


def test_filters_match_the_same_entries_before_and_after_indexing(mixed_ledger):
    filters = browse.EntryFilters(actor="user:7")
    before_fill = [row.seq for row in browse.entries_page(filters=filters, limit=100).rows]
    services.ledger_facets_fill()
    assert facets_high_water() == mixed_ledger[-1][0]
    after_fill = [row.seq for row in browse.entries_page(filters=filters, limit=100).rows]
    assert before_fill == after_fill == expected(mixed_ledger, actor="user:7")


def test_entry_type_filter(officer, mixed_ledger):
    assert seqs_of(officer.get(f"{ENTRIES}?entry_type=ledger.genesis")) == [0]
    combined = seqs_of(officer.get(f"{ENTRIES}?entry_type=ledger.genesis&actor=user:7"))
    assert combined == []


def test_time_range_matches_the_stored_timestamps(mixed_ledger):
    rows = list(LedgerEntry.objects.order_by("seq").values_list("seq", "timestamp"))
    start, end = rows[10][1], rows[25][1]
    want = sorted((seq for seq, ts in rows if start <= ts < end), reverse=True)
    page = browse.entries_page(filters=browse.EntryFilters(time_from=start, time_to=end), limit=100)
    assert [row.seq for row in page.rows] == want
    with_actor = browse.entries_page(
        filters=browse.EntryFilters(time_from=start, time_to=end, actor="user:7"), limit=100
    )
    assert [row.seq for row in with_actor.rows] == [
        seq for seq in want if seq in expected(mixed_ledger, actor="user:7")
    ]


def test_time_bisection_agrees_with_a_scan(mixed_ledger):
    rows = list(LedgerEntry.objects.order_by("seq").values_list("seq", "timestamp"))
    size = len(rows)
    probes = {"0000", "9999"}
    for _, timestamp in rows:
        probes |= {timestamp, timestamp[:-2] + "0Z", timestamp[:-1] + "1Z"}
    for probe in sorted(probes):
        want = next((seq for seq, ts in rows if ts >= probe), size)
        assert browse._first_seq_at_or_after(probe, size) == want, probe
    assert browse._first_seq_at_or_after("0000", 0) == 0


def test_time_filter_through_the_form(officer, mixed_ledger):
    everything = seqs_of(officer.get(f"{ENTRIES}?time_from=2000-01-01T00:00"))
    assert everything == list(range(40, -1, -1))[:50]
    assert seqs_of(officer.get(f"{ENTRIES}?time_from=2999-01-01T00:00")) == []
    assert seqs_of(officer.get(f"{ENTRIES}?time_to=2000-01-01T00:00")) == []


def test_unsearched_tail_is_said_not_hidden(officer, mixed_ledger, monkeypatch):
    monkeypatch.setattr(browse, "TAIL_SCAN_MAX", 4)
    high_water = facets_high_water()
    size = selectors.ledger_size()
    response = officer.get(f"{ENTRIES}?actor=user:7")
    text = response.content.decode()
    assert f"Entries #{high_water + 1} to #{size - 5} are not indexed" in text
    shown = seqs_of(response)
    assert shown == [
        s for s in expected(mixed_ledger, actor="user:7") if s <= high_water or s >= size - 4
    ]


def test_tail_prefilter_neither_hides_nor_invents(db):
    odd = 'Straße "7" \\ x'
    plain = append(envelope("user:7", "decision", "Case-1", 1))
    escaped = append(envelope("user:7", "decision", odd, 2))
    assert facets_high_water() == -1  # both in the tail
    assert [
        r.seq for r in browse.entries_page(filters=browse.EntryFilters(subject_id=odd)).rows
    ] == [escaped]
    case_1 = browse.entries_page(filters=browse.EntryFilters(subject_id="Case-1")).rows
    assert [r.seq for r in case_1] == [plain]
    assert browse.entries_page(filters=browse.EntryFilters(subject_id="case-1")).rows == []


# --- The side table -----------------------------------------------------------------------------


def test_facets_fill_is_incremental_and_idempotent(db):
    append(envelope("user:3", "escalation", "e-9", 1))
    append({"actor_label": "user:alice", "subject_type": "policy_version", "subject_id": "p1"})
    assert services.ledger_facets_fill() == 3  # genesis + 2
    assert services.ledger_facets_fill() == 0
    append(envelope("system:pmm", "drift_alert", "a-1", 2))
    assert services.ledger_facets_fill(limit=10) == 1
    rows = list(
        LedgerEntryFacet.objects.order_by("seq").values_list(
            "seq", "entry_type", "actor", "subject_type", "subject_id"
        )
    )
    assert rows == [
        (0, "ledger.genesis", "", "", ""),
        (1, "test.event", "user:3", "escalation", "e-9"),
        (2, "test.event", "user:alice", "policy_version", "p1"),  # a version-1 payload, lifted
        (3, "test.event", "system:pmm", "drift_alert", "a-1"),
    ]


def test_checkpoint_fills_the_facets(db):
    append_many(3)
    assert facets_high_water() == -1
    services.ledger_checkpoint_create()
    assert facets_high_water() == 3


def test_real_entry_types_give_their_envelope(db, demo_policy):
    entry = LedgerEntry.objects.get(entry_type="policy.loaded")
    actor, subject_type, subject_id = entry_facets(entry.entry_type, json.loads(entry.payload))
    assert (actor, subject_type) == ("system:test", "policy_version")
    assert subject_id == json.loads(entry.payload)["subject"]["id"]


# --- One entry ----------------------------------------------------------------------------------


def test_entry_page_shows_the_hashed_bytes_and_a_proof_that_verifies(officer, small_ledger):
    entry = LedgerEntry.objects.get(seq=3)
    response = officer.get(entry_url(3))
    assert response.status_code == 200
    context = response.context
    expected_bytes = canonical_entry_bytes(selectors.entry_as_dict(entry))
    assert context["canonical"].encode() == expected_bytes
    assert context["entry_hash_matches"] is True
    proof = context["proof"]
    checkpoint = parse_checkpoint(parse_signed_note(small_ledger.note).text)
    assert proof["tree_size"] == checkpoint.size == small_ledger.tree_size
    leaf = base64.b64decode(proof["leaf_hash"])
    path = [base64.b64decode(p) for p in proof["proof"]]
    assert verify_inclusion(leaf, 3, proof["tree_size"], path, checkpoint.root)
    assert leaf.hex() == context["leaf_hash_hex"]
    # The page carries what verify.js needs.
    html = response.content.decode()
    assert 'id="ledger-proof"' in html
    assert 'id="ledger-checkpoint-note"' in html
    assert 'data-keys-url="/ledger/keys"' in html
    assert "/static/ledger/verify.js" in html


def test_entry_page_links_its_neighbours(officer, small_ledger):
    last = selectors.ledger_size() - 1
    middle = officer.get(entry_url(2)).content.decode()
    assert 'href="/ledger/browse/entries/1/" rel="prev"' in middle
    assert 'href="/ledger/browse/entries/3/" rel="next"' in middle
    newest = officer.get(entry_url(last)).content.decode()
    assert 'rel="next"' not in newest


def test_facets_command_indexes_every_entry(db):
    from django.core.management import call_command

    append_many(12)
    out = io.StringIO()
    call_command("ledger_facets_fill", stdout=out)
    assert out.getvalue().strip() == "Indexed 13 entries."
    assert facets_high_water() == 12
    out = io.StringIO()
    call_command("ledger_facets_fill", stdout=out)
    assert out.getvalue().strip() == "Indexed 0 entries."


def test_entry_page_names_the_first_covering_checkpoint(officer, small_ledger):
    append_many(4)
    later = services.ledger_checkpoint_create()
    assert later.tree_size > small_ledger.tree_size
    assert officer.get(entry_url(2)).context["checkpoint"].tree_size == small_ledger.tree_size
    newest = selectors.ledger_size() - 1
    assert officer.get(entry_url(newest)).context["checkpoint"].tree_size == later.tree_size


def test_proof_download_is_the_api_shape(officer, small_ledger, agent_client):
    response = officer.get(proof_url(2))
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="ledger-entry-2-inclusion-proof-{small_ledger.tree_size}.json"'
    )
    api = agent_client("ledger:read").get(
        f"/ledger/proof/inclusion?seq=2&tree_size={small_ledger.tree_size}"
    )
    assert response.json() == api.json()


def test_entry_without_a_checkpoint_has_no_proof_yet(officer, db):
    append_many(2)
    page = officer.get(entry_url(1))
    assert page.status_code == 200
    assert "No signed checkpoint covers this entry yet" in page.content.decode()
    assert 'id="verify-button"' not in page.content.decode()
    download = officer.get(proof_url(1))
    assert download.status_code == 404
    assert download.json()["error"]["code"] == "not_found"


def test_unknown_entry_is_404(officer, small_ledger):
    assert officer.get(entry_url(999)).status_code == 404
    missing = officer.get(proof_url(999))
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


# --- Checkpoints --------------------------------------------------------------------------------


def test_checkpoints_list_both_signatures_verified(officer, small_ledger):
    append_many(3)
    services.ledger_checkpoint_create()
    response = officer.get(CHECKPOINTS)
    assert response.status_code == 200
    rows = response.context["page"].rows
    assert [row.tree_size for row in rows] == [9, 6]
    for row in rows:
        assert row.trusted
        assert [(line.algorithm, line.verified) for line in row.signatures] == [
            ("Ed25519", True),
            ("RSA-PSS-4096", True),
        ]
        assert len(base64.b64decode(row.signatures[0].signature)) == 64
        assert len(base64.b64decode(row.signatures[1].signature)) == 512
    smaller = officer.get(f"{CHECKPOINTS}?before=9").context["page"]
    assert [row.tree_size for row in smaller.rows] == [6]
    assert officer.get(f"{CHECKPOINTS}?before=zero").status_code == 400
