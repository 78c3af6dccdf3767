"""PDF rendering with WeasyPrint, and the URL fetcher that keeps it off the network.

The PDF is built from the very HTML that is stored beside it, with a URL fetcher that refuses
every URL but ``data:`` ones: no network address (``http``, ``https``, ``ftp``...), and no local
file either (``file:``), so what a report contains is what its template and its data say, and
rendering it never reaches out of the process. The report's stylesheet is inline and its fonts
are the system's (Debian ``fonts-dejavu-core``, installed by ``make pdf-deps``).

Importing WeasyPrint costs about half a second (it parses its stylesheets), so this module is
imported only when a PDF is made (``apps.incidents.rendering.render_pdf``), never at start-up.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from weasyprint import HTML
from weasyprint.urls import URLFetcher

logger = logging.getLogger("lexecon.incidents")

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")


class NoNetworkFetcher(URLFetcher):
    """A WeasyPrint URL fetcher that only resolves ``data:`` URLs and refuses everything else
    before any connection or file access is attempted; each refused URL is kept in
    ``refused``."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=("data",), allow_redirects=False, fail_on_errors=False)
        self.refused: list[str] = []

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> Any:
        match = _SCHEME.match(url)
        if match is None or match[1].lower() != "data":
            self.refused.append(url)
            logger.warning("report rendering refused a URL", extra={"url": url[:200]})
            raise ValueError(f"External resources are not fetched in reports: {url[:200]}")
        return super().fetch(url, headers)


def write_pdf(html: str, *, fetcher: NoNetworkFetcher | None = None) -> bytes:
    """The PDF of ``html`` (no base URL: relative references resolve to nothing)."""
    pdf = HTML(string=html, url_fetcher=fetcher or NoNetworkFetcher()).write_pdf()
    if not isinstance(pdf, bytes):  # write_pdf without a target returns the bytes
        raise TypeError("WeasyPrint returned no PDF bytes")
    return pdf
