"""Rendering of incident reports: a Django template to HTML, then that HTML to PDF
(``apps.incidents.pdf``, WeasyPrint with a fetcher that refuses every network URL)."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string


def render_html(template: str, context: dict[str, Any]) -> str:
    return render_to_string(template, context)


def render_pdf(html: str) -> bytes:
    # Imported here, not at the top: WeasyPrint takes ~0.5 s to import, and every process
    # (web workers, commands) would pay it at start-up for a rarely used action.
    from apps.incidents import pdf

    return pdf.write_pdf(html)
