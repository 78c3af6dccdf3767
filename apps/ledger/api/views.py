"""Read-only ledger API. Keys and checkpoints are public (verification needs nothing else); entries,
proofs and verification need ``ledger:read`` (agents) or ``view_audit_logs`` (staff)."""

from __future__ import annotations

import base64

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.compat import ledger as compat_ledger
from apps.core.api.permissions import ScopeOrPermission
from apps.core.exceptions import NotFound
from apps.ledger import selectors
from apps.ledger.entry_types import EntryType

CanReadLedger = ScopeOrPermission.of("ledger:read", "accounts.view_audit_logs")
MAX_INDEX = 2**62

ERRORS = {
    400: OpenApiResponse(description="Invalid parameters (error shape)"),
    401: OpenApiResponse(description="Not authenticated (error shape)"),
    403: OpenApiResponse(description="Missing scope or permission (error shape)"),
}


class EntryOut(serializers.Serializer):
    seq = serializers.IntegerField()
    entry_type = serializers.CharField()
    timestamp = serializers.CharField()
    payload = serializers.DictField()
    prev_hash = serializers.CharField()
    entry_hash = serializers.CharField()
    # The original Lexecon's names of the same values (ADR 0031).
    entry_id = serializers.CharField()
    event_type = serializers.CharField()
    data = serializers.DictField()  # type: ignore[assignment]  # a field here, as root above
    previous_hash = serializers.CharField()


class VerifyOut(serializers.Serializer):
    valid = serializers.BooleanField()
    entries_checked = serializers.IntegerField()
    first_invalid_seq = serializers.IntegerField(allow_null=True)
    error_code = serializers.CharField(allow_null=True)
    checkpoint_size = serializers.IntegerField(allow_null=True)
    # DRF's metaclass moves declared fields off the class, so this does not replace Field.root.
    root = serializers.CharField()  # type: ignore[assignment]
    anchored = serializers.BooleanField()
    message = serializers.CharField()


class LedgerEntriesApi(APIView):
    permission_classes = [CanReadLedger]

    class Query(serializers.Serializer):
        offset = serializers.IntegerField(min_value=0, max_value=MAX_INDEX, default=0)
        limit = serializers.IntegerField(min_value=1, max_value=1000, default=100)
        entry_type = serializers.ChoiceField(choices=EntryType.values, required=False)
        verify = serializers.BooleanField(default=False)
        # The original Lexecon's name of the filter: its names ("decision") or ours.
        event_type = serializers.CharField(max_length=64, required=False)

    @extend_schema(
        operation_id="ledger_entries",
        parameters=[Query],
        responses={
            200: inline_serializer(
                "LedgerEntries",
                {
                    "entries": EntryOut(many=True),
                    "total": serializers.IntegerField(),
                    "chain_valid": serializers.BooleanField(allow_null=True),
                },
            ),
            **ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        query = self.Query(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        # Our body plus the original Lexecon's names (apps.compat.ledger, ADR 0031).
        return Response(
            compat_ledger.entries_answer(
                offset=params["offset"],
                limit=params["limit"],
                entry_type=compat_ledger.entry_type_filter(
                    entry_type=params.get("entry_type"), event_type=params.get("event_type")
                ),
                verify=params["verify"],
            )
        )


class LedgerVerifyApi(APIView):
    permission_classes = [CanReadLedger]

    @extend_schema(operation_id="ledger_verify", responses={200: VerifyOut, **ERRORS})
    def get(self, request: Request) -> Response:
        report = selectors.ledger_verify()
        keep = (
            "valid",
            "entries_checked",
            "first_invalid_seq",
            "error_code",
            "checkpoint_size",
            "root",
            "anchored",
            "unanchored_tail",
            "message",
            "errors",
        )
        body = {name: report[name] for name in keep}
        body.update(compat_ledger.verify_answer(report))  # the original Lexecon's fields
        return Response(body)


class LedgerCheckpointApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="ledger_checkpoint",
        responses={
            (200, "text/plain"): OpenApiTypes.STR,
            404: OpenApiResponse(description="none yet"),
        },
        auth=[],
    )
    def get(self, request: Request) -> HttpResponse:
        checkpoint = selectors.checkpoint_latest()
        if checkpoint is None:
            raise NotFound("No checkpoint has been signed yet.")
        return HttpResponse(checkpoint.note, content_type="text/plain; charset=utf-8")


class LedgerCheckpointsApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    class Query(serializers.Serializer):
        offset = serializers.IntegerField(min_value=0, max_value=MAX_INDEX, default=0)
        limit = serializers.IntegerField(min_value=1, max_value=1000, default=100)

    @extend_schema(
        operation_id="ledger_checkpoints",
        parameters=[Query],
        auth=[],
        responses={
            200: inline_serializer(
                "LedgerCheckpoints",
                {
                    "checkpoints": inline_serializer(
                        "CheckpointOut",
                        {
                            "tree_size": serializers.IntegerField(),
                            "root_hash": serializers.CharField(),
                            "note": serializers.CharField(),
                            "created_at": serializers.DateTimeField(),
                        },
                        many=True,
                    ),
                    "total": serializers.IntegerField(),
                },
            ),
            400: ERRORS[400],
        },
    )
    def get(self, request: Request) -> Response:
        query = self.Query(data=request.query_params)
        query.is_valid(raise_exception=True)
        checkpoints, total = selectors.checkpoints_list(**query.validated_data)
        return Response(
            {
                "checkpoints": [
                    {
                        "tree_size": cp.tree_size,
                        "root_hash": base64.b64encode(bytes(cp.root_hash)).decode(),
                        "note": cp.note,
                        "created_at": cp.created_at.isoformat().replace("+00:00", "Z"),
                    }
                    for cp in checkpoints
                ],
                "total": total,
            }
        )


class LedgerKeysApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="ledger_keys",
        auth=[],
        responses={
            200: inline_serializer(
                "LedgerKeys",
                {
                    "keys": inline_serializer(
                        "PublishedKey",
                        {
                            "kid": serializers.CharField(),
                            "algorithm": serializers.CharField(),
                            "purpose": serializers.CharField(),
                            "public_key": serializers.CharField(),
                            "note_key": serializers.CharField(),
                            "status": serializers.CharField(),
                            "not_before": serializers.CharField(),
                            "not_after": serializers.CharField(allow_null=True),
                        },
                        many=True,
                    )
                },
            )
        },
    )
    def get(self, request: Request) -> Response:
        return Response({"keys": [selectors.key_as_dict(key) for key in selectors.keys_list()]})


class InclusionProofApi(APIView):
    permission_classes = [CanReadLedger]

    class Query(serializers.Serializer):
        seq = serializers.IntegerField(min_value=0, max_value=MAX_INDEX)
        tree_size = serializers.IntegerField(min_value=1, max_value=MAX_INDEX, required=False)

    @extend_schema(
        operation_id="ledger_inclusion_proof",
        parameters=[Query],
        responses={
            200: inline_serializer(
                "InclusionProof",
                {
                    "seq": serializers.IntegerField(),
                    "tree_size": serializers.IntegerField(),
                    "leaf_hash": serializers.CharField(),
                    "proof": serializers.ListField(child=serializers.CharField()),
                },
            ),
            **ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        query = self.Query(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(selectors.inclusion_proof(**query.validated_data))


class ConsistencyProofApi(APIView):
    permission_classes = [CanReadLedger]

    class Query(serializers.Serializer):
        first = serializers.IntegerField(min_value=1, max_value=MAX_INDEX)
        second = serializers.IntegerField(min_value=1, max_value=MAX_INDEX)

    @extend_schema(
        operation_id="ledger_consistency_proof",
        parameters=[Query],
        responses={
            200: inline_serializer(
                "ConsistencyProof",
                {
                    "first": serializers.IntegerField(),
                    "second": serializers.IntegerField(),
                    "proof": serializers.ListField(child=serializers.CharField()),
                },
            ),
            **ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        query = self.Query(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(selectors.consistency_proof(**query.validated_data))
