"""Content negotiation for views that only ever answer JSON."""

from __future__ import annotations

from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.utils.mediatypes import media_type_matches


class JsonOnlyNegotiation(BaseContentNegotiation):
    """Pick the view's first parser and renderer without reading ``Accept`` (DRF's documented
    ``IgnoreClientContentNegotiation`` pattern). The API renders JSON only, so parsing the
    client's ``Accept`` header on every call of a hot view decides nothing (~5 % of a
    ``/decide`` call's CPU). The body's media type is still checked (415 otherwise)."""

    def select_parser(self, request, parsers):
        for parser in parsers:
            if media_type_matches(parser.media_type, request.content_type):
                return parser
        return None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type
