"""The evidence API: register, link, read, fetch content, verify, list.

Who may call what (docs/api.md, "Evidence"):
- writes (register, link-decision, link-control): agent keys with scope ``evidence:write`` or
  staff with ``accounts.export_evidence``;
- reads (detail, content, verify, list): agent keys with ``evidence:write`` or
  ``compliance:read`` (a read-only key), or staff with ``accounts.view_dashboard``;
- every artifact goes through ``EvidenceArtifact.objects.visible_to``: what you may not see is 404.
A refused request writes nothing: no row, no stored bytes, no ledger entry.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.core.files.base import ContentFile
from django.http import FileResponse
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.compliance import services as compliance
from apps.core.api.parsers import StrictJSONParser
from apps.core.api.permissions import ScopeOrPermission
from apps.core.exceptions import InvalidInput
from apps.evidence import selectors, services
from apps.evidence.api.serializers import (
    EvidenceLinkControlInput,
    EvidenceLinkDecisionInput,
    EvidenceLinkOutput,
    EvidenceListOutput,
    EvidenceListQuery,
    EvidenceOutput,
    EvidenceRegisterFileInput,
    EvidenceRegisterInput,
    EvidenceVerifyInput,
    EvidenceVerifyOutput,
)
from apps.evidence.api.uploads import EvidenceUploadHandler
from apps.evidence.constants import CHUNK_SIZE, DEFAULT_MEDIA_TYPE, TEXT_MEDIA_TYPE

ERRORS = {
    400: OpenApiResponse(description="invalid input (error shape)"),
    401: OpenApiResponse(description="no agent key / not signed in"),
    403: OpenApiResponse(description="scope or role does not allow this"),
    404: OpenApiResponse(description="no such artifact or decision, or not visible to you"),
}
TOO_LARGE = {413: OpenApiResponse(description="artifact_too_large (LEXECON_EVIDENCE_MAX_BYTES)")}
GONE = {410: OpenApiResponse(description="artifact_expired: retention ended, content deleted")}

CanWrite = ScopeOrPermission.of("evidence:write", "accounts.export_evidence")
CanRead = ScopeOrPermission.of(("evidence:write", "compliance:read"), "accounts.view_dashboard")

# Multipart overhead allowed beyond the artifact itself before the body is refused unread.
MULTIPART_OVERHEAD = 64 * 1024


def _inline_bytes(values: dict[str, Any], *, required: bool) -> bytes | None:
    """The bytes of ``content`` (UTF-8) or ``content_base64``; exactly one of them."""
    has_text, has_base64 = "content" in values, "content_base64" in values
    if has_text and has_base64:
        raise InvalidInput("Send content or content_base64, not both.")
    if has_text:
        return values["content"].encode("utf-8")
    if has_base64:
        try:
            return base64.b64decode(values["content_base64"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidInput(
                "content_base64 is not valid base64.", details={"content_base64": str(exc)}
            ) from exc
    if required:
        raise InvalidInput("Send content, content_base64, or a multipart file part.")
    return None


class EvidenceRegisterApi(APIView):
    permission_classes = [CanWrite]
    parser_classes = [StrictJSONParser, MultiPartParser]

    def initialize_request(self, request, *args, **kwargs):
        # Before anything reads the body: stream the file part to disk, bounded by the limit.
        if request.content_type == "multipart/form-data":
            request.upload_handlers = [EvidenceUploadHandler(request)]
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(
        operation_id="evidence_register",
        request={
            "application/json": EvidenceRegisterInput,
            "multipart/form-data": EvidenceRegisterFileInput,
        },
        responses={201: EvidenceOutput, **ERRORS, **TOO_LARGE},
        examples=[
            OpenApiExample(
                "A policy snapshot for a decision",
                value={
                    "artifact_type": "policy_snapshot",
                    "title": "Refund policy as applied",
                    "content": "refunds above 500 EUR need a reviewer",
                    "decision_ids": ["0b7e4b8e-8a59-4f0e-9c43-6a1d0f6d2f10"],
                    "control_ids": ["soc2:CC6.1"],
                },
                request_only=True,
            )
        ],
    )
    def post(self, request):
        limit = services.max_bytes()
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit + MULTIPART_OVERHEAD:
            raise services.ArtifactTooLarge(details={"max_bytes": limit})
        multipart = request.content_type.startswith("multipart/form-data")
        data = (EvidenceRegisterFileInput if multipart else EvidenceRegisterInput)(
            data=request.data
        )
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if multipart:
            if "content" in request.data or "content_base64" in request.data:
                raise InvalidInput("A multipart registration sends its bytes as the file part.")
            if not isinstance(values.get("metadata", {}), dict):
                raise InvalidInput("metadata must be a JSON object.")
            content = values["file"]
            media_type = values.get("media_type") or content.content_type or DEFAULT_MEDIA_TYPE
        else:
            raw = _inline_bytes(values, required=True)
            if raw is not None and len(raw) > limit:
                raise services.ArtifactTooLarge(details={"max_bytes": limit})
            content = ContentFile(raw or b"")
            default = TEXT_MEDIA_TYPE if "content" in values else DEFAULT_MEDIA_TYPE
            media_type = values.get("media_type") or default
        artifact = services.evidence_register(
            principal=request.user,
            artifact_type=values["artifact_type"],
            title=values["title"],
            content=content,
            media_type=media_type,
            source=values.get("source", ""),
            decision_ids=values.get("decision_ids", []),
            control_ids=compliance.control_refs_resolve(values.get("control_ids", [])),
            retention_days=values.get("retention_days"),
            metadata=values.get("metadata") or {},
        )
        artifact = selectors.evidence_get(principal=request.user, artifact_id=artifact.pk)
        return Response(selectors.evidence_as_dict(artifact), status=201)


class _LinkApi(APIView):
    permission_classes = [CanWrite]

    def answer(self, result: services.LinkResult) -> Response:
        return Response(selectors.link_as_dict(result.link), status=201 if result.created else 200)


class EvidenceLinkDecisionApi(_LinkApi):
    @extend_schema(
        operation_id="evidence_link_decision",
        request=EvidenceLinkDecisionInput,
        responses={201: EvidenceLinkOutput, 200: EvidenceLinkOutput, **ERRORS},
    )
    def post(self, request):
        data = EvidenceLinkDecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        return self.answer(
            services.evidence_link_decision(principal=request.user, **data.validated_data)
        )


class EvidenceLinkControlApi(_LinkApi):
    @extend_schema(
        operation_id="evidence_link_control",
        request=EvidenceLinkControlInput,
        responses={201: EvidenceLinkOutput, 200: EvidenceLinkOutput, **ERRORS},
    )
    def post(self, request):
        data = EvidenceLinkControlInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        # The control must be in a loaded catalog; the link stores the catalog's spelling.
        (ref,) = compliance.control_refs_resolve([f"{values['framework']}:{values['control_id']}"])
        values["framework"], values["control_id"] = ref.split(":", 1)
        return self.answer(services.evidence_link_control(principal=request.user, **values))


class EvidenceListApi(APIView):
    permission_classes = [CanRead]

    @extend_schema(
        operation_id="evidence_list",
        parameters=[EvidenceListQuery],
        responses={200: EvidenceListOutput, **ERRORS},
    )
    def get(self, request):
        query = EvidenceListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        queryset = selectors.evidence_list(
            principal=request.user,
            artifact_type=params.get("type"),
            decision_id=params.get("decision_id"),
            framework=params.get("framework"),
            control_id=params.get("control_id"),
            since=params.get("since"),
            until=params.get("until"),
        )
        offset, limit = params["offset"], params["limit"]
        return Response(
            {
                "evidence": [
                    selectors.evidence_as_dict(a) for a in queryset[offset : offset + limit]
                ],
                "total": queryset.count(),
            }
        )


class EvidenceDetailApi(APIView):
    permission_classes = [CanRead]

    @extend_schema(operation_id="evidence_get", responses={200: EvidenceOutput, **ERRORS})
    def get(self, request, artifact_id):
        artifact = selectors.evidence_get(principal=request.user, artifact_id=artifact_id)
        return Response(selectors.evidence_as_dict(artifact))


class EvidenceContentApi(APIView):
    permission_classes = [CanRead]

    @extend_schema(
        operation_id="evidence_content",
        responses={200: OpenApiResponse(description="the artifact's bytes"), **ERRORS, **GONE},
    )
    def get(self, request, artifact_id):
        artifact = selectors.evidence_get(principal=request.user, artifact_id=artifact_id)
        handle = services.open_content(artifact)
        response = FileResponse(handle, content_type=artifact.media_type)
        response.block_size = CHUNK_SIZE
        response["Content-Length"] = str(artifact.size_bytes)
        response["ETag"] = f'"{artifact.sha256}"'
        digest = base64.b64encode(bytes.fromhex(artifact.sha256)).decode("ascii")
        response["Digest"] = f"sha-256={digest}"
        return response


class EvidenceVerifyApi(APIView):
    permission_classes = [CanRead]

    @extend_schema(
        operation_id="evidence_verify",
        request=EvidenceVerifyInput,
        responses={200: EvidenceVerifyOutput, **ERRORS},
    )
    def post(self, request, artifact_id):
        data = EvidenceVerifyInput(data=request.data)
        data.is_valid(raise_exception=True)
        artifact = selectors.evidence_get(principal=request.user, artifact_id=artifact_id)
        sent = _inline_bytes(data.validated_data, required=False)
        chunks = None
        if sent is not None:
            chunks = (sent[i : i + CHUNK_SIZE] for i in range(0, len(sent), CHUNK_SIZE))
        return Response(selectors.evidence_verify(artifact=artifact, chunks=chunks))
