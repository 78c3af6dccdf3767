"""Request bodies declared as pydantic models, in the OpenAPI schema (imported in ``CoreConfig.ready``).

A view names its model in ``@extend_schema(request=Model)``; the model's own JSON Schema (the one
pydantic validates against, ``mode="validation"``) becomes the component, so the validator and
the published schema are one declaration. drf-spectacular's bundled pydantic extension documents
the serialisation form instead; this one takes precedence.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.plumbing import ResolvedComponent
from pydantic.json_schema import GenerateJsonSchema


class _RequestJsonSchema(GenerateJsonSchema):
    """Without pydantic's generated titles, and without ``"default": null`` on fields that may be
    left out but not sent as ``null``."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def model_schema(self, schema: Any) -> dict[str, Any]:
        result = super().model_schema(schema)
        result.pop("title", None)
        for field in result.get("properties", {}).values():
            nullable = any(option.get("type") == "null" for option in field.get("anyOf", ()))
            if "default" in field and field["default"] is None and not nullable:
                del field["default"]
        return result


class PydanticRequestSchema(OpenApiSerializerExtension):
    target_class = "pydantic.BaseModel"
    match_subclasses = True
    priority = 1  # over drf_spectacular.contrib.pydantic

    def get_name(self, auto_schema, direction):
        return self.target.__name__

    def map_serializer(self, auto_schema, direction):
        schema = self.target.model_json_schema(
            ref_template="#/components/schemas/{model}",
            schema_generator=_RequestJsonSchema,
            mode="validation",
        )
        for name, definition in schema.pop("$defs", {}).items():
            auto_schema.registry.register_on_missing(
                ResolvedComponent(
                    name=name, type=ResolvedComponent.SCHEMA, object=name, schema=definition
                )
            )
        return schema


_RATE_LIMITED = {
    "description": (
        "rate limited (error code rate_limited): the budget of this key, user or address is used "
        "up; nothing was done. Retry after Retry-After seconds."
    ),
    "headers": {
        "Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"},
        "X-RateLimit-Limit": {"schema": {"type": "integer"}},
        "X-RateLimit-Remaining": {"schema": {"type": "integer"}},
        "X-RateLimit-Reset": {"schema": {"type": "integer"}, "description": "seconds"},
    },
}


def document_rate_limits(result, generator, **kwargs):
    """drf-spectacular post-processing hook: every operation but those of views marked
    ``rate_limit_exempt`` may answer 429 (ADR 0025), so each says so, with its headers."""
    exempt = {
        (path, method.lower())
        for path, _, method, view in generator.endpoints
        if getattr(getattr(view, "cls", None), "rate_limit_exempt", False)
    }
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if (path, method) not in exempt and isinstance(operation, dict):
                operation.setdefault("responses", {}).setdefault("429", _RATE_LIMITED)
    return result
