"""Query of the Annex IV documentation endpoint."""

from __future__ import annotations

from rest_framework import serializers

from apps.aisystems.constants import SYSTEM_ID_MAX_LENGTH
from apps.techdoc.constants import DocumentFormat


class DocumentationQuery(serializers.Serializer):
    ai_system = serializers.CharField(
        max_length=SYSTEM_ID_MAX_LENGTH, help_text="the registered AI system's id"
    )
    format = serializers.ChoiceField(choices=DocumentFormat.values, default=DocumentFormat.JSON)
    # ``from`` is a keyword: the view maps the query's from/to onto these.
    start = serializers.DateTimeField(
        required=False, help_text="start of the window of live figures (default: 90 days ago)"
    )
    end = serializers.DateTimeField(required=False, help_text="end of the window (default: now)")
