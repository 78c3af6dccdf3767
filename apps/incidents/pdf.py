"""PDF rendering of incident reports: the shared offline renderer (``apps.core.pdf``).

The report is built from the very HTML that is stored beside it; the fetcher resolves ``data:``
URLs only and refuses every other URL (network or local file) before any access is attempted.
This module is imported only when a PDF is made (``apps.incidents.rendering.render_pdf``): the
WeasyPrint import costs about half a second.
"""

from __future__ import annotations

from apps.core.pdf import NoNetworkFetcher, write_pdf

__all__ = ["NoNetworkFetcher", "write_pdf"]
