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
    start = serializers.DateTimeField(
        required=False, help_text="start of the window of live figures (default: 90 days ago)"
    )
    end = serializers.DateTimeField(required=False, help_text="end of the window (default: now)")

    def get_fields(self):
        """``from`` is a Python keyword: the fields are declared as start/end and named from/to
        here, so errors name the parameter the caller sent."""
        fields = super().get_fields()
        fields["from"] = fields.pop("start")
        fields["to"] = fields.pop("end")
        return fields
