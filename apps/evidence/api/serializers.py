"""Input and output shapes of the evidence API (class names are unique OpenAPI components)."""

from __future__ import annotations

from rest_framework import serializers

from apps.evidence.constants import (
    CONTROL_ID,
    FRAMEWORK,
    MAX_LINKS_PER_REGISTRATION,
    MAX_RETENTION_DAYS,
    ArtifactType,
)

_CONTROL_REF = r"^[A-Za-z0-9_]{1,32}:[A-Za-z0-9][A-Za-z0-9.()_:/-]{0,63}$"


class EvidenceRegisterInput(serializers.Serializer):
    """JSON body; a multipart body has the same fields as form fields plus a ``file`` part."""

    artifact_type = serializers.ChoiceField(choices=ArtifactType.choices)
    title = serializers.CharField(max_length=500)
    content = serializers.CharField(
        required=False, trim_whitespace=False, allow_blank=True, help_text="UTF-8 text"
    )
    content_base64 = serializers.CharField(required=False, allow_blank=True)
    media_type = serializers.CharField(required=False, max_length=200)
    source = serializers.CharField(required=False, max_length=200, allow_blank=True, default="")
    decision_ids = serializers.ListField(
        child=serializers.UUIDField(), required=False, max_length=MAX_LINKS_PER_REGISTRATION
    )
    control_ids = serializers.ListField(
        child=serializers.RegexField(_CONTROL_REF, max_length=97),
        required=False,
        max_length=MAX_LINKS_PER_REGISTRATION,
        help_text="<framework>:<control id>, e.g. soc2:CC6.1",
    )
    retention_days = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_RETENTION_DAYS
    )
    metadata = serializers.DictField(required=False)


class EvidenceRegisterFileInput(EvidenceRegisterInput):
    file = serializers.FileField(help_text="the artifact's bytes (multipart only)")
    metadata = serializers.JSONField(required=False, binary=True, help_text="a JSON object")


class EvidenceOutput(serializers.Serializer):
    artifact_id = serializers.UUIDField()
    artifact_type = serializers.CharField()
    title = serializers.CharField()
    sha256 = serializers.CharField()
    size_bytes = serializers.IntegerField()
    media_type = serializers.CharField()
    source = serializers.CharField()
    metadata = serializers.DictField()
    created_at = serializers.DateTimeField()
    retention_days = serializers.IntegerField()
    retention_until = serializers.DateTimeField()
    retention_class = serializers.ChoiceField(
        choices=["high_risk", "standard", "gdpr_intersect"],
        help_text="record-keeping class fixed at registration (ADR 0021); a floor on retention",
    )
    expired_at = serializers.DateTimeField(
        allow_null=True, help_text="when retention expiry deleted the content; null while kept"
    )
    registered_by = serializers.CharField()
    ledger_entry_id = serializers.IntegerField()
    decision_ids = serializers.ListField(child=serializers.UUIDField())
    control_ids = serializers.ListField(child=serializers.CharField())


class EvidenceListOutput(serializers.Serializer):
    evidence = EvidenceOutput(many=True)
    total = serializers.IntegerField()


class EvidenceListQuery(serializers.Serializer):
    type = serializers.ChoiceField(choices=ArtifactType.choices, required=False)
    decision_id = serializers.UUIDField(required=False)
    framework = serializers.RegexField(FRAMEWORK.pattern, required=False)
    control_id = serializers.RegexField(CONTROL_ID.pattern, required=False)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    offset = serializers.IntegerField(min_value=0, max_value=10**9, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=500, default=50)


class EvidenceLinkDecisionInput(serializers.Serializer):
    artifact_id = serializers.UUIDField()
    decision_id = serializers.UUIDField()


class EvidenceLinkControlInput(serializers.Serializer):
    artifact_id = serializers.UUIDField()
    framework = serializers.CharField(max_length=32)
    control_id = serializers.CharField(max_length=64)


class EvidenceLinkOutput(serializers.Serializer):
    artifact_id = serializers.UUIDField()
    link = serializers.ChoiceField(choices=["decision", "control"])
    decision_id = serializers.UUIDField(required=False)
    framework = serializers.CharField(required=False)
    control_id = serializers.CharField(required=False)
    ledger_entry_id = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class EvidenceVerifyInput(serializers.Serializer):
    """Empty: re-hash the stored bytes. With content: hash those bytes instead."""

    content = serializers.CharField(required=False, trim_whitespace=False, allow_blank=True)
    content_base64 = serializers.CharField(required=False, allow_blank=True)


class EvidenceVerifyOutput(serializers.Serializer):
    valid = serializers.BooleanField()
    sha256 = serializers.CharField(allow_null=True)
    stored_sha256 = serializers.CharField()
    reason = serializers.ChoiceField(
        choices=["mismatch", "missing", "expired"],
        allow_null=True,
        help_text="why valid is false; null when valid",
    )
