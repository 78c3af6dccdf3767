"""The Annex IV document as HTML and PDF: one Django template for both, WeasyPrint for the PDF.

The PDF is rendered offline by ``apps.core.pdf``: its stylesheet is inline, its fonts are the
DejaVu fonts of Debian's ``fonts-dejavu-core`` found through fontconfig, and the URL fetcher
handed to WeasyPrint refuses every URL but ``data:`` (http, https, ftp, file, relative), so
nothing in a document — a link an officer pasted into a narrative included — makes the server
fetch anything. Narratives are
plain text, escaped by the template; they never become markup.
"""

from __future__ import annotations

import re
from typing import Any

from django.template.loader import render_to_string

from apps.core.pdf import NoNetworkFetcher, write_pdf
from apps.techdoc.annex_iv import ANNEX_IV_ITEMS

TEMPLATE = "techdoc/annex_iv.html"

# Words a plain "snake_case to words" would spell wrong.
_WORDS = {
    "id": "ID",
    "ai": "AI",
    "iii": "III",
    "art": "Art.",
    "sha256": "SHA-256",
    "pmm": "PMM",
    "sla": "SLA",
}
_SIX_THREE = re.compile(r"(?<![0-9])6_3(?![0-9])")


def label(key: str) -> str:
    """``annex_iii_point`` → ``Annex III point``; ``text_sha256`` → ``Text SHA-256``."""
    key = _SIX_THREE.sub("6(3)", key)
    words = [_WORDS.get(word, word) for word in key.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def cell(value: Any) -> str:
    """One value as table text."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return "; ".join(f"{label(str(k))}: {cell(v)}" for k, v in value.items()) or "—"
    if isinstance(value, list):
        return ", ".join(cell(v) for v in value) if value else "none"
    return str(value)


def fact_rows(facts: dict[str, Any]) -> list[dict[str, Any]]:
    """A part's facts as rows the templates render: a value, a list of pairs, or a table."""
    rows: list[dict[str, Any]] = []
    for key, value in facts.items():
        row: dict[str, Any] = {"label": label(key)}
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            keys = list(dict.fromkeys(k for entry in value for k in entry))
            row.update(
                kind="table",
                columns=[label(k) for k in keys],
                rows=[[cell(entry.get(k)) for k in keys] for entry in value],
            )
        elif isinstance(value, dict) and value:
            row.update(kind="pairs", pairs=[(label(str(k)), cell(v)) for k, v in value.items()])
        else:
            row.update(kind="value", value=cell(value))
        rows.append(row)
    return rows


def document_view(document: dict[str, Any]) -> dict[str, Any]:
    """The template context of ``document``: the document with display rows beside its facts."""
    items = [
        {
            **item,
            "anchor": f"item-{item['item']}",
            "missing_count": sum(len(part["missing"]) for part in item["parts"]),
            "parts": [
                {**part, "rows": fact_rows(part["facts"]), "anchor": f"part-{part['key']}"}
                for part in item["parts"]
            ],
        }
        for item in document["items"]
    ]
    return {**document, "items": items, "item_titles": ANNEX_IV_ITEMS}


def render_html(document: dict[str, Any], *, for_pdf: bool = False) -> str:
    """The document as one self-contained HTML page (inline CSS, no script, no external URL)."""
    return render_to_string(TEMPLATE, {"doc": document_view(document), "for_pdf": for_pdf})


def render_pdf(document: dict[str, Any], *, fetcher: NoNetworkFetcher | None = None) -> bytes:
    """The document as PDF, from the same template, with no network access."""
    return html_to_pdf(render_html(document, for_pdf=True), fetcher=fetcher)


def html_to_pdf(html: str, *, fetcher: NoNetworkFetcher | None = None) -> bytes:
    """WeasyPrint with the refusing fetcher of ``apps.core.pdf`` (``data:`` URLs only)."""
    return write_pdf(html, fetcher=fetcher)
