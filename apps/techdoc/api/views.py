"""``GET /compliance/eu-ai-act/article-11/documentation?ai_system=ID&format=json|html|pdf``.

Reads need the agent scope ``compliance:read`` or staff with ``accounts.view_dashboard``. Each
answer is generated, stored as an evidence artifact and ledgered (``evidence.registered``,
``techdoc.generated``) by ``apps.techdoc.services.documentation_generate``; the body is exactly
the stored bytes, and the headers name the artifact, its SHA-256 and the ledger entry. A refused
request (bad query, unknown system, no permission) writes nothing.
"""

from __future__ import annotations

import base64

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.views import APIView

from apps.accounts.permissions import CanReadCompliance
from apps.techdoc import selectors, services
from apps.techdoc.api.serializers import DocumentationQuery
from apps.techdoc.constants import DocumentFormat

CanRead = CanReadCompliance

ERRORS = {
    400: OpenApiResponse(description="invalid query (error shape)"),
    401: OpenApiResponse(description="no agent key / not signed in"),
    403: OpenApiResponse(description="scope or role does not allow this"),
    404: OpenApiResponse(description="no AI system with that id"),
}


class _FirstRenderer(BaseContentNegotiation):
    """``format`` here names the document's format, not a DRF renderer: errors are JSON."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class DocumentationApi(APIView):
    permission_classes = [CanRead]
    content_negotiation_class = _FirstRenderer

    @extend_schema(
        operation_id="eu_ai_act_article_11_documentation",
        parameters=[
            OpenApiParameter("ai_system", str, required=True, description="AI system id"),
            OpenApiParameter(
                "format", str, enum=DocumentFormat.values, description="default: json"
            ),
            OpenApiParameter("from", OpenApiTypes.DATETIME, description="window start"),
            OpenApiParameter("to", OpenApiTypes.DATETIME, description="window end"),
        ],
        responses={
            (200, "application/json"): OpenApiResponse(
                OpenApiTypes.OBJECT, description="the document as JSON (format=json)"
            ),
            (200, "text/html"): OpenApiResponse(OpenApiTypes.STR, description="format=html"),
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY, description="format=pdf"
            ),
            **ERRORS,
        },
    )
    def get(self, request):
        query = DocumentationQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        values = query.validated_data
        window = selectors.window_of(start=values.get("from"), end=values.get("to"))
        generated = services.documentation_generate(
            principal=request.user,
            system_id=values["ai_system"],
            fmt=values["format"],
            window=window,
        )
        record = generated.record
        response = HttpResponse(generated.content, content_type=generated.media_type)
        disposition = "attachment" if record.format == DocumentFormat.PDF else "inline"
        response["Content-Disposition"] = f'{disposition}; filename="{generated.filename}"'
        response["ETag"] = f'"{record.sha256}"'
        digest = base64.b64encode(bytes.fromhex(record.sha256)).decode("ascii")
        response["Digest"] = f"sha-256={digest}"
        response["X-Evidence-Artifact-Id"] = str(record.artifact_id)
        response["X-Ledger-Entry-Id"] = str(record.ledger_seq)
        response["X-Document-Content-Sha256"] = record.content_sha256
        response["X-Document-Complete"] = "true" if record.complete else "false"
        return response
