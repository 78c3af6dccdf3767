"""Input shapes of the compliance API (class names are unique OpenAPI components)."""

from __future__ import annotations

from rest_framework import serializers

from apps.compliance.rules import STATUSES


class ControlsQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=STATUSES, required=False)


class ControlDetailQuery(serializers.Serializer):
    offset = serializers.IntegerField(required=False, default=0, min_value=0, max_value=10_000_000)
    limit = serializers.IntegerField(required=False, default=50, min_value=1, max_value=500)


class GapsQuery(serializers.Serializer):
    include_partial = serializers.BooleanField(required=False, default=False)


class MappingsQuery(serializers.Serializer):
    # ``from`` is a Python keyword: the field is renamed in the view.
    source = serializers.CharField(required=False, max_length=40)
    target = serializers.CharField(required=False, max_length=40)


class AttestInput(serializers.Serializer):
    justification = serializers.CharField(max_length=5000, trim_whitespace=True)
    expires_at = serializers.DateTimeField(required=False)
    evidence_ids = serializers.ListField(
        child=serializers.UUIDField(), required=False, max_length=100, default=list
    )
    status = serializers.ChoiceField(
        choices=["implemented", "partially_implemented"], required=False, default="implemented"
    )
