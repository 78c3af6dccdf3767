"""``POST /decide``, ``POST /decide/verify``, ``GET /decisions``, ``GET /decisions/{id}``,
``POST /tokens/revoke`` and ``GET /tokens/keys``."""

from __future__ import annotations

import logging
import re
import time

from django.db import InterfaceError, OperationalError
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.principals import actor_of
from apps.compat import base as compat_base
from apps.compat import decisions as compat_decisions
from apps.compat.errors import CompatError
from apps.core import metrics
from apps.core.api.negotiation import JsonOnlyNegotiation
from apps.core.api.permissions import ScopeOrPermission
from apps.core.exceptions import InvalidInput, LedgerUnavailable, NotFound, PermissionDeniedError
from apps.decisions import selectors
from apps.decisions.api.serializers import DecideInput, RevokeInput, VerifyInput, decide_input
from apps.decisions.models import Decision
from apps.decisions.services import DecideRequest, decision_make
from apps.ledger import selectors as ledger_selectors
from apps.ledger import services as ledger_services
from apps.ledger.models import SigningKey
from apps.tokens import format as token_format
from apps.tokens import services as tokens

logger = logging.getLogger("lexecon.api")
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
ERRORS = {
    400: OpenApiResponse(description="invalid request (error shape)"),
    401: OpenApiResponse(description="missing or wrong agent key"),
    403: OpenApiResponse(description="the key lacks the scope"),
    409: OpenApiResponse(description="Idempotency-Key reused for a different request"),
    413: OpenApiResponse(description="body too large"),
    415: OpenApiResponse(description="not application/json"),
    503: OpenApiResponse(description="database unavailable (ledger_unavailable on /decide)"),
}


class DecideApi(APIView):
    """``POST /decide``: agents (scope ``decide``) and staff with the permission. The body is
    validated by :class:`DecideInput`, whose declaration is also the OpenAPI request schema.
    Agent calls reach it without the browser middleware (``AgentRouteMiddleware``)."""

    permission_classes = [ScopeOrPermission.of("decide")]
    content_negotiation_class = JsonOnlyNegotiation
    agent_route = True
    rate_limit_budget = "decide"  # agent keys: the decide budget, not the api one (ADR 0025)

    def dispatch(self, request, *args, **kwargs):
        # Timed here, so the agent fast path (AgentRouteMiddleware) and staff calls both count,
        # whatever the answer (ADR 0033).
        started = time.perf_counter()
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            metrics.DECIDE_SECONDS.observe(time.perf_counter() - started)

    @extend_schema(
        operation_id="decide",
        request=DecideInput,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="Replays with the same key return the original answer and write nothing.",
            )
        ],
        responses={200: OpenApiResponse(description="the decision"), **ERRORS},
    )
    def post(self, request):
        idempotency_key = _idempotency_key(request)  # before the body is read
        data = request.data
        # The original Lexecon's request shape: validated and translated by apps.compat (422).
        original = compat_decisions.is_original_request(data)
        if original:
            body = compat_decisions.original_request(data, native_model=DecideInput)
        else:
            body = decide_input(data)
        made = decision_make(
            request=DecideRequest(
                actor=body.actor,
                action=body.requested_action,
                resource=body.resource,
                data_classes=tuple(body.data_classes),
                context=body.context,
                ai_system=body.ai_system,
                request_id=body.request_id or request.request_id,
                risk_level=body.risk_level,
                policy_mode=body.policy_mode,
                risk_dimensions=body.risk_dimensions,
                tool=body.tool,
                user_intent=body.user_intent,
            ),
            agent_key=request.auth,
            idempotency_key=idempotency_key,
            principal=request.user,
        )
        headers = {"Idempotent-Replayed": "true"} if made.replayed else {}
        answer = selectors.decision_response(made.decision)
        if original:
            answer = compat_decisions.decide_response(answer, made.decision, tool=body.tool)
        return Response(answer, headers=headers)

    def handle_exception(self, exc):
        if isinstance(exc, CompatError):
            return compat_base.detail_response(exc)
        return super().handle_exception(_decide_error(exc))


def _decide_error(exc: Exception) -> Exception:
    """A database failure anywhere in ``/decide`` (key lookup, policy, append) is the ledger's
    unavailability to the agent (RELIABILITY T14); other errors stay as they are."""
    if isinstance(exc, OperationalError | InterfaceError):
        logger.warning("ledger database unavailable: %s", exc)
        return LedgerUnavailable()
    return exc


def _idempotency_key(request) -> str | None:
    key = request.META.get("HTTP_IDEMPOTENCY_KEY")
    if key is not None and not _IDEMPOTENCY_KEY.match(key):
        raise InvalidInput("Idempotency-Key must be 1-200 visible ASCII characters.")
    return key


class DecideVerifyApi(APIView):
    permission_classes = [ScopeOrPermission.of("decide", "accounts.view_audit_logs")]

    def handle_exception(self, exc):
        if isinstance(exc, CompatError):
            return compat_base.detail_response(exc)
        return super().handle_exception(exc)

    @extend_schema(
        operation_id="decide_verify",
        request=VerifyInput,
        responses={
            200: OpenApiResponse(description="{valid, reason, claims} or the proof"),
            **ERRORS,
        },
    )
    def post(self, request):
        if compat_decisions.is_original_verify(request.data):
            # The original's input: a decision answer or its ledger entry hash (apps.compat).
            return Response(compat_decisions.verify_original(request.data, principal=request.user))
        data = VerifyInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if values.get("capability_token"):
            check_action = "action" in values or "resource" in values
            result = tokens.token_verify(
                token=values["capability_token"],
                actor=values.get("actor"),
                action=values.get("action"),
                resource=values.get("resource"),
                check_action=check_action,
            )
            return Response(
                {
                    "valid": result.valid,
                    "reason": result.reason,
                    "message": result.message,
                    "claims": result.claims,
                }
            )
        decision = selectors.decision_get(principal=request.user, decision_id=values["decision_id"])
        checkpoint = ledger_selectors.checkpoint_latest()
        if checkpoint is None or checkpoint.tree_size <= decision.ledger_seq:
            checkpoint = ledger_services.ledger_checkpoint_create()
        entry = ledger_selectors.entry_get(seq=decision.ledger_seq)
        proof = ledger_selectors.inclusion_proof(
            seq=decision.ledger_seq, tree_size=checkpoint.tree_size
        )
        return Response(
            {
                "decision_id": str(decision.pk),
                "ledger_entry": ledger_selectors.entry_as_dict(entry),
                "inclusion_proof": proof,
                "checkpoint": checkpoint.note,
            }
        )


# Agents (their own decisions), the dashboard roles, and reviewers (the decisions escalated to them:
# ``Decision.objects.visible_to``).
CanReadDecisions = ScopeOrPermission.of(
    "decide", "accounts.view_dashboard", also=("accounts.resolve_escalation",)
)


class DecisionListApi(APIView):
    permission_classes = [CanReadDecisions]

    class DecisionQuery(serializers.Serializer):
        outcome = serializers.ChoiceField(
            choices=["allowed", "denied", "escalated"], required=False
        )
        actor = serializers.CharField(max_length=200, required=False)
        action = serializers.CharField(max_length=200, required=False)
        since = serializers.DateTimeField(required=False)
        until = serializers.DateTimeField(required=False)
        response_unconfirmed = serializers.BooleanField(
            required=False, allow_null=True, default=None
        )
        offset = serializers.IntegerField(min_value=0, max_value=10**9, default=0)
        limit = serializers.IntegerField(min_value=1, max_value=500, default=50)

    @extend_schema(
        operation_id="decisions_list",
        parameters=[DecisionQuery],
        responses={200: OpenApiResponse(description="{decisions, total}"), **ERRORS},
    )
    def get(self, request):
        query = self.DecisionQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = dict(query.validated_data)
        offset, limit = params.pop("offset"), params.pop("limit")
        queryset = selectors.decision_list(principal=request.user, **params)
        total = queryset.count()
        return Response(
            {
                "decisions": [
                    selectors.decision_detail(d) for d in queryset[offset : offset + limit]
                ],
                "total": total,
            }
        )


class DecisionDetailApi(APIView):
    permission_classes = [CanReadDecisions]

    @extend_schema(
        operation_id="decisions_get",
        responses={
            200: OpenApiResponse(description="the decision, current outcome"),
            404: OpenApiResponse(description="no such decision"),
        },
    )
    def get(self, request, decision_id):
        decision = selectors.decision_get(principal=request.user, decision_id=decision_id)
        return Response(selectors.decision_detail(decision))


class TokenRevokeApi(APIView):
    permission_classes = [ScopeOrPermission.of("decide", "accounts.resolve_escalation")]

    @extend_schema(
        operation_id="tokens_revoke",
        request=RevokeInput,
        responses={200: OpenApiResponse(description="{jti, revoked, ledger_seq}"), **ERRORS},
    )
    def post(self, request):
        data = RevokeInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if values.get("capability_token"):
            try:
                jti = token_format.parse(values["capability_token"]).claims["jti"]
            except token_format.TokenError as exc:
                raise InvalidInput(f"Not a capability token: {exc.message}.") from exc
        else:
            jti = values["jti"]
        issued = selectors.token_issued_for(jti=jti)
        if issued is None:
            raise NotFound("No token with that id was issued.")
        decision, expires_at = issued
        if not Decision.objects.visible_to(request.user).contains(decision):
            raise PermissionDeniedError(
                "You can revoke only tokens of decisions you may see (agents: their own key's)."
            )
        revoked = tokens.token_revoke(
            jti=jti,
            reason=values["reason"],
            actor=actor_of(request.user),
            expires_at=expires_at,
        )
        return Response({"jti": jti, "revoked": True, "ledger_seq": revoked.ledger_seq})


class TokenKeysApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="tokens_keys",
        auth=[],
        responses={200: OpenApiResponse(description="{keys: [...]}")},
    )
    def get(self, request):
        keys = ledger_selectors.keys_list(purpose=SigningKey.Purpose.TOKEN)
        return Response({"keys": [ledger_selectors.key_as_dict(key) for key in keys]})
