"""The Annex IV document: all nine items in JSON, HTML and PDF; the validator; the INCOMPLETE
stamp on the first page; the document hash and latest checkpoint on the last; the stored artifact
and its ledger entry; live figures that follow the data."""

from __future__ import annotations

import hashlib
import json

import pytest

from apps.aisystems import services as registry
from apps.evidence import services as evidence
from apps.evidence.models import EvidenceArtifact, EvidenceControlLink
from apps.techdoc import selectors
from apps.techdoc.annex_iv import ANNEX_IV_ITEMS
from apps.techdoc.models import GeneratedDocument
from tests.conftest import load_demo_policy
from tests.techdoc.conftest import (
    OPTIONAL,
    REQUIRED,
    SYSTEM_ID,
    URL,
    counts,
    entry,
    label,
    pdf_pages,
    pdf_text,
    seal_ledger,
    write_narratives,
)
from tools.verify_bundle import canonical_bytes

pytestmark = pytest.mark.django_db


def generate(client, fmt: str, system_id: str = SYSTEM_ID):
    response = client.get(URL, {"ai_system": system_id, "format": fmt})
    assert response.status_code == 200, response.content[:2000]
    return response


def test_every_item_appears_in_json_html_and_pdf(staff_api, system, tmp_path):
    officer = staff_api("compliance_officer")
    document = generate(officer, "json").json()
    assert [item["item"] for item in document["items"]] == list(range(1, 10))
    for item in document["items"]:
        assert item["title"] == ANNEX_IV_ITEMS[item["item"]]
        assert item["parts"], f"item {item['item']} has no part"

    html = generate(officer, "html").content.decode()
    pdf = generate(officer, "pdf").content
    assert pdf.startswith(b"%PDF-")
    text = " ".join(pdf_text(pdf, tmp_path).split())
    for number, title in ANNEX_IV_ITEMS.items():
        assert f'id="item-{number}"' in html
        assert f"{number}. {title}" in html
        assert f"{number}. {title}" in text, title
    # Registry facts are there in every format.
    assert "CV screening assistant" in html
    assert "CV screening assistant" in text
    assert "Ranks job applications" in text


def test_the_validator_names_each_missing_narrative(system, officer):
    missing = selectors.missing_items(system=system)
    names = [m["name"] for m in missing]
    for field in REQUIRED:
        assert label(field) in names, field
    for field in OPTIONAL:
        assert label(field) not in names
    # The ledger has no checkpoint or verification yet: item 3 says so.
    assert any("signed ledger checkpoint" in n for n in names)
    assert any("full ledger verification" in n for n in names)

    # Writing one narrative removes exactly that one.
    write_narratives(officer, [REQUIRED[0]])
    after = [m["name"] for m in selectors.missing_items(system=system)]
    assert label(REQUIRED[0]) not in after
    assert len(after) == len(names) - 1

    # Everything written and the ledger sealed: nothing is missing.
    write_narratives(officer, REQUIRED[1:])
    seal_ledger()
    assert selectors.missing_items(system=system) == []


def test_oversight_without_anyone_able_to_resolve_is_missing(system, officer):
    write_narratives(officer)
    seal_ledger()
    assert selectors.missing_items(system=system) == []
    officer.totpdevice_set.all().delete()  # the only person who may resolve loses the second factor
    missing = selectors.missing_items(system=system)
    assert missing == [
        {
            "item": 2,
            "part": "techdoc.oversight",
            "name": "a person with a second factor who can resolve escalations",
        }
    ]


def test_incomplete_on_the_first_page_until_nothing_is_missing(staff_api, system, tmp_path):
    officer = staff_api("compliance_officer")
    first = generate(officer, "pdf")
    assert first["X-Document-Complete"] == "false"
    page_one = pdf_text(first.content, tmp_path, first=1, last=1)
    assert "INCOMPLETE" in page_one
    assert label(REQUIRED[-1]) in page_one  # the missing items are listed under the stamp

    write_narratives(officer.user)
    seal_ledger()
    done = generate(officer, "pdf")
    assert done["X-Document-Complete"] == "true"
    text = pdf_text(done.content, tmp_path)
    assert "INCOMPLETE" not in text
    assert "Complete: the validator finds nothing missing." in pdf_text(
        done.content, tmp_path, first=1, last=1
    )


def test_pdf_has_page_numbers_contents_and_integrity_on_the_last_page(staff_api, system, tmp_path):
    officer = staff_api("compliance_officer")
    seal_ledger()
    response = generate(officer, "pdf")
    pages = pdf_pages(response.content, tmp_path)
    assert pages > 2
    page_one = pdf_text(response.content, tmp_path, first=1, last=1)
    assert f"Page 1 of {pages}" in page_one
    assert "Contents" in page_one
    assert "Document integrity" in page_one
    last = pdf_text(response.content, tmp_path, first=pages, last=pages)
    assert f"Page {pages} of {pages}" in last
    record = GeneratedDocument.objects.get()
    assert "Document integrity" in last
    assert record.content_sha256 in last.replace(" ", "")
    _, payload = entry(record.ledger_seq)
    assert payload["checkpoint_size"] is not None
    assert f"tree size {payload['checkpoint_size']}" in last


def test_the_hash_in_the_ledger_matches_the_stored_artifact(staff_api, system, tmp_path):
    officer = staff_api("compliance_officer")
    for fmt in ("json", "html", "pdf"):
        response = generate(officer, fmt)
        record = GeneratedDocument.objects.get(ledger_seq=int(response["X-Ledger-Entry-Id"]))
        entry_type, payload = entry(record.ledger_seq)
        assert entry_type == "techdoc.generated"
        artifact = EvidenceArtifact.objects.get(pk=payload["artifact_id"])
        assert str(artifact.pk) == response["X-Evidence-Artifact-Id"]
        stored = b"".join(evidence.stored_chunks(artifact.sha256))
        assert hashlib.sha256(stored).hexdigest() == payload["sha256"] == artifact.sha256
        assert stored == response.content  # what was answered is what was kept
        assert (payload["format"], payload["ai_system_id"]) == (fmt, SYSTEM_ID)
        assert artifact.artifact_type == ("policy_snapshot" if fmt == "json" else "external_report")
        assert artifact.retention_days >= 3650  # Art. 18: ten years
        # The artifact's own ledger entry names the same hash, and it counts for Art. 11.
        _, registered = entry(artifact.ledger_seq)
        assert registered["sha256"] == payload["sha256"]
        assert EvidenceControlLink.objects.filter(
            artifact=artifact, framework="eu_ai_act", control_id="Art.11"
        ).exists()
        assert payload["actor"]["id"] == f"user:{officer.user.pk}"

    # The content hash can be recomputed from the JSON by anyone.
    document = json.loads(
        b"".join(evidence.stored_chunks(GeneratedDocument.objects.get(format="json").sha256))
    )
    claimed = document.pop("content_sha256")
    assert hashlib.sha256(canonical_bytes(document)).hexdigest() == claimed
    assert GeneratedDocument.objects.get(format="json").content_sha256 == claimed


def test_a_narrative_is_in_every_format_with_its_author_and_version(staff_api, system, tmp_path):
    officer = staff_api("compliance_officer")
    text = "We rank by skills overlap; we chose recall over precision because humans review all."
    write_narratives(officer.user, ["design_choices"])
    from apps.techdoc import services

    services.narrative_save(
        user=officer.user, system_id=SYSTEM_ID, field="design_choices", text=text
    )
    document = generate(officer, "json").json()
    part = next(
        p
        for item in document["items"]
        for p in item["parts"]
        if p["key"] == "techdoc.narrative.design_choices"
    )
    assert part["text"] == text
    assert part["facts"]["version"] == 2
    assert part["facts"]["written_by"] == f"{officer.user.username} (user:{officer.user.pk})"
    assert part["facts"]["text_sha256"] == hashlib.sha256(text.encode()).hexdigest()
    html = generate(officer, "html").content.decode()
    assert "recall over precision" in html
    pdf = " ".join(pdf_text(generate(officer, "pdf").content, tmp_path).split())
    assert "recall over precision" in pdf


def test_live_figures_follow_the_data(staff_api, system, agent_client, officer):
    reader = staff_api("auditor")
    load_demo_policy()

    def part(document, key):
        return next(p for i in document["items"] for p in i["parts"] if p["key"] == key)

    before = generate(reader, "json").json()
    assert part(before, "techdoc.logging")["facts"]["decisions_in_window"]["total"] == 0

    agent = agent_client("decide")
    for _ in range(3):
        answer = agent.post(
            "/decide",
            {"actor": "ai_agent:customer_service", "action": "read_ticket", "ai_system": SYSTEM_ID},
            format="json",
        )
        assert answer.status_code == 200, answer.content
    registry.ai_system_update(principal=officer, system_id=SYSTEM_ID, changes={"version": "2.2.0"})

    after = generate(reader, "json").json()
    decisions = part(after, "techdoc.logging")["facts"]["decisions_in_window"]
    assert (decisions["total"], decisions["allowed"]) == (3, 3)
    versions = part(after, "techdoc.registry")["facts"]["versions"]
    assert [v["version"] for v in versions] == ["2.1.0", "2.2.0"]
    changes = part(after, "techdoc.changes")["facts"]
    assert changes["ai_system_changes"][0]["fields"] == "version"
    assert changes["policy_activations_total"] == 1
    activation = changes["policy_activations"][0]
    assert activation["by"]
    assert activation["time"]
    assert activation["ledger_entry"]
    assert after["ledger"]["size"] > before["ledger"]["size"]


def test_a_window_without_the_decisions_counts_none(staff_api, system, agent_client):
    reader = staff_api("auditor")
    load_demo_policy()
    agent = agent_client("decide")
    body = {"actor": "ai_agent:customer_service", "action": "read_ticket", "ai_system": SYSTEM_ID}
    assert agent.post("/decide", body, format="json").status_code == 200
    response = reader.get(
        URL,
        {"ai_system": SYSTEM_ID, "from": "2020-01-01T00:00:00Z", "to": "2020-02-01T00:00:00Z"},
    )
    assert response.status_code == 200
    document = response.json()
    assert document["window"] == {"from": "2020-01-01T00:00:00Z", "to": "2020-02-01T00:00:00Z"}
    logging_part = next(
        p for i in document["items"] for p in i["parts"] if p["key"] == "techdoc.logging"
    )
    assert logging_part["facts"]["decisions_in_window"]["total"] == 0


def test_nothing_is_written_when_rendering_fails(staff_api, system, monkeypatch, evidence_dir):
    officer = staff_api("compliance_officer")
    from apps.techdoc import render

    def broken(document, **kwargs):
        raise RuntimeError("renderer broke")

    monkeypatch.setattr(render, "render_pdf", broken)
    before = counts()
    response = officer.get(URL, {"ai_system": SYSTEM_ID, "format": "pdf"})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert counts() == before


def test_nothing_is_kept_when_the_ledger_refuses_the_generation(
    staff_api, system, monkeypatch, evidence_dir
):
    """The artifact's bytes are stored before its transaction; when the generation entry then
    fails, the rows roll back and the bytes are removed again."""
    officer = staff_api("compliance_officer")
    from apps.ledger import services as ledger

    original = ledger.ledger_append

    def refuse_generated(**kwargs):
        if kwargs["entry_type"] == "techdoc.generated":
            raise RuntimeError("ledger unavailable")
        return original(**kwargs)

    monkeypatch.setattr(ledger, "ledger_append", refuse_generated)
    before = counts()
    response = officer.get(URL, {"ai_system": SYSTEM_ID, "format": "json"})
    assert response.status_code == 500
    assert counts() == before
    assert [p for p in evidence_dir.rglob("*") if p.is_file()] == []
