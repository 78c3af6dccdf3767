"""PDF rendering with WeasyPrint, offline: the one URL fetcher every report and document uses.

The fetcher resolves ``data:`` URLs (bytes already in the document) and refuses every other URL
before any connection or file access is attempted: no network address (``http``, ``https``,
``ftp``...), no local file (``file:``), no relative reference. What a PDF contains is therefore
what its template and its data say, and rendering it never reaches out of the process — a link an
officer pasted into a narrative included. Stylesheets are inline and fonts are the system's
(Debian ``fonts-dejavu-core``, ``make pdf-deps``). Used by the Annex IV document
(``apps.techdoc.render``), incident reports (``apps.incidents.pdf``) and audit exports
(``apps.audit.report``).

Importing WeasyPrint costs about half a second, so callers that are imported at start-up import
this module only when they make a PDF.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from weasyprint import HTML
from weasyprint.urls import URLFetcher

logger = logging.getLogger("lexecon.pdf")

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")


class NoNetworkFetcher(URLFetcher):
    """A WeasyPrint URL fetcher that only resolves ``data:`` URLs and refuses everything else;
    each refused URL is kept in ``refused``.

    WeasyPrint treats a refusal as a missing resource (a warning, no image) and goes on.
    """

    def __init__(self) -> None:
        super().__init__(allowed_protocols=("data",), allow_redirects=False, fail_on_errors=False)
        self.refused: list[str] = []

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> Any:
        match = _SCHEME.match(url)
        if match is None or match[1].lower() != "data":
            self.refused.append(url)
            logger.warning("PDF rendering refused a URL", extra={"url": url[:200]})
            raise ValueError(f"External resources are not fetched in reports: {url[:200]}")
        return super().fetch(url, headers)


def write_pdf(html: str, *, fetcher: NoNetworkFetcher | None = None) -> bytes:
    """The PDF of ``html`` (no base URL: relative references resolve to nothing)."""
    pdf = HTML(string=html, base_url=None, url_fetcher=fetcher or NoNetworkFetcher()).write_pdf()
    if not isinstance(pdf, bytes):  # write_pdf without a target returns the bytes
        raise TypeError("WeasyPrint returned no PDF bytes")
    return pdf
