"""Input validation for ``/decide`` with clear limits (docs/api.md lists them)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.risk import scoring

MAX_CONTEXT_DEPTH = 8
MAX_CONTEXT_KEYS = 256
MAX_STRING = 4096
MAX_LIST = 256


def check_context(value: Any) -> None:
    """Depth ≤ 8, ≤ 256 keys in all, strings ≤ 4096 characters without NUL, lists ≤ 256 items."""
    keys = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > MAX_CONTEXT_DEPTH:
                raise serializers.ValidationError(f"context nests deeper than {MAX_CONTEXT_DEPTH}")
            keys += len(item)
            if keys > MAX_CONTEXT_KEYS:
                raise serializers.ValidationError(f"context has more than {MAX_CONTEXT_KEYS} keys")
            for key, child in item.items():
                if len(key) > 200 or "\x00" in key:
                    raise serializers.ValidationError("context keys are at most 200 characters")
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            if depth > MAX_CONTEXT_DEPTH:
                raise serializers.ValidationError(f"context nests deeper than {MAX_CONTEXT_DEPTH}")
            if len(item) > MAX_LIST:
                raise serializers.ValidationError(f"context lists hold at most {MAX_LIST} items")
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            if len(item) > MAX_STRING or "\x00" in item:
                raise serializers.ValidationError(
                    f"context strings are at most {MAX_STRING} characters, without NUL"
                )
        elif isinstance(item, float) and (item != item or item in (float("inf"), float("-inf"))):
            raise serializers.ValidationError("context numbers must be finite")


class Identifier(serializers.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 200)
        kwargs.setdefault("trim_whitespace", True)
        super().__init__(**kwargs)


class DecideInput(serializers.Serializer):
    """``{actor, action, resource?, context?, data_classes?, ai_system?, request_id?}`` plus the
    original Lexecon fields (``proposed_action`` as action, ``tool``, ``user_intent``,
    ``risk_level`` 1-5, ``policy_mode``)."""

    actor = Identifier()
    action = Identifier(required=False)
    proposed_action = Identifier(required=False, help_text="Lexecon alias of action")
    resource = serializers.CharField(max_length=500, required=False, allow_null=True)
    context = serializers.DictField(required=False)
    data_classes = serializers.ListField(
        child=Identifier(max_length=100), max_length=50, required=False
    )
    ai_system = Identifier(required=False, allow_blank=True)
    request_id = Identifier(required=False, allow_blank=True)
    tool = Identifier(required=False, allow_blank=True)
    user_intent = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    risk_level = serializers.IntegerField(min_value=1, max_value=5, required=False)
    policy_mode = serializers.ChoiceField(
        choices=["permissive", "strict", "paranoid"], required=False
    )
    risk_dimensions = serializers.DictField(
        child=serializers.FloatField(min_value=0, max_value=100),
        required=False,
        help_text="raise (never lower) risk dimensions",
    )

    def validate_context(self, value):
        check_context(value)
        return value

    def validate_risk_dimensions(self, value):
        unknown = sorted(set(value) - set(scoring.DIMENSIONS))
        if unknown:
            raise serializers.ValidationError(f"unknown dimensions {unknown}")
        return value

    def validate(self, attrs):
        action, alias = attrs.get("action"), attrs.get("proposed_action")
        if action and alias and action != alias:
            raise serializers.ValidationError(
                {"action": "action and proposed_action differ; send one of them"}
            )
        if not (action or alias):
            raise serializers.ValidationError({"action": "This field is required."})
        attrs["action"] = action or alias
        return attrs


class VerifyInput(serializers.Serializer):
    capability_token = serializers.CharField(max_length=4096, required=False, trim_whitespace=False)
    decision_id = serializers.UUIDField(required=False)
    actor = Identifier(required=False)
    action = Identifier(required=False)
    resource = serializers.CharField(max_length=500, required=False, allow_null=True)

    def validate(self, attrs):
        if bool(attrs.get("capability_token")) == bool(attrs.get("decision_id")):
            raise serializers.ValidationError(
                "Send exactly one of capability_token or decision_id."
            )
        return attrs


class RevokeInput(serializers.Serializer):
    capability_token = serializers.CharField(max_length=4096, required=False, trim_whitespace=False)
    jti = serializers.CharField(max_length=64, required=False)
    reason = serializers.CharField(max_length=500)

    def validate(self, attrs):
        if bool(attrs.get("capability_token")) == bool(attrs.get("jti")):
            raise serializers.ValidationError("Send exactly one of capability_token or jti.")
        return attrs
