"""``POST /decide``, ``POST /decide/verify``, ``GET /decisions``, ``GET /decisions/{id}``,
``POST /tokens/revoke`` and ``GET /tokens/keys``."""

from __future__ import annotations

import logging
import re

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.exceptions import PermissionDenied as DrfPermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.authentication import AUTHENTICATE_HEADER, authenticate_agent_header
from apps.accounts.principals import actor_of
from apps.core.api.exception_handler import error_parts
from apps.core.api.parsers import read_json_body
from apps.core.api.permissions import ScopeOrPermission
from apps.core.exceptions import InvalidInput, LedgerUnavailable, NotFound, PermissionDeniedError
from apps.decisions import selectors
from apps.decisions.api.serializers import DecideInput, RevokeInput, VerifyInput, parse_decide
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
    permission_classes = [ScopeOrPermission.of("decide")]

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
        key = _idempotency_key(request)
        body, headers = _decide(request, lambda: request.data, request.auth, key)
        return Response(body, headers=headers)

    def handle_exception(self, exc):
        return super().handle_exception(_decide_error(exc))


def _decide_error(exc: Exception) -> Exception:
    """A database failure anywhere in ``/decide`` (key lookup, policy, append) is the ledger's
    unavailability to the agent (RELIABILITY T14); other errors stay as they are."""
    if isinstance(exc, OperationalError | InterfaceError):
        logger.warning("ledger database unavailable: %s", exc)
        return LedgerUnavailable()
    return exc


def _idempotency_key(request) -> str | None:
    key = request.META.get("HTTP_IDEMPOTENCY_KEY")  # what request.headers would build it from
    if key is not None and not _IDEMPOTENCY_KEY.match(key):
        raise InvalidInput("Idempotency-Key must be 1-200 visible ASCII characters.")
    return key


def _decide(request, data, agent_key, idempotency_key) -> tuple[dict, dict[str, str]]:
    """Validate the body (``data()`` reads it, after the Idempotency-Key check) and decide."""
    values = parse_decide(data())
    decide_request = DecideRequest(
        actor=values["actor"],
        action=values["action"],
        resource=values.get("resource"),
        data_classes=tuple(values.get("data_classes", ())),
        context=values.get("context", {}),
        ai_system=values.get("ai_system", ""),
        request_id=values.get("request_id", "") or request.request_id,
        risk_level=values.get("risk_level"),
        policy_mode=values.get("policy_mode"),
        risk_dimensions=values.get("risk_dimensions", {}),
        tool=values.get("tool"),
        user_intent=values.get("user_intent"),
    )
    made = decision_make(
        request=decide_request,
        agent_key=agent_key,
        idempotency_key=idempotency_key,
        principal=request.user,
    )
    headers = {"Idempotent-Replayed": "true"} if made.replayed else {}
    return selectors.decision_response(made.decision), headers


_decide_drf = DecideApi.as_view()
_JSON = JSONRenderer()


@csrf_exempt
def decide(request):
    """``POST /decide``. Agent calls (``Authorization`` header) take a direct path without DRF's
    request wrapper, negotiation and response machinery (about 0.7 ms of CPU per call, a third of
    the whole request); staff sessions, other methods and calls without credentials go through
    :class:`DecideApi`. Both paths run the same checks in the same order (authenticate, scope,
    Idempotency-Key, media type, body) and answer the same bytes — a differential test holds them
    to it."""
    header = request.META.get("HTTP_AUTHORIZATION")
    if request.method != "POST" or not header:
        return _decide_drf(request)
    try:
        try:
            principal, agent_key = authenticate_agent_header(header)
        except AuthenticationFailed as exc:
            exc.auth_header = AUTHENTICATE_HEADER
            raise
        if not principal.has_scope("decide"):
            raise DrfPermissionDenied("The agent key lacks the scope 'decide'.")
        request.user, request.auth = principal, agent_key
        idempotency_key = _idempotency_key(request)
        body, headers = _decide(
            request, lambda: read_json_body(request), agent_key, idempotency_key
        )
    except Exception as exc:  # noqa: BLE001 - every failure becomes the documented error shape
        status, body, headers = error_parts(_decide_error(exc))
        return HttpResponse(
            _JSON.render(body), status=status, headers=headers, content_type="application/json"
        )
    return HttpResponse(_JSON.render(body), headers=headers, content_type="application/json")


# The OpenAPI generator documents ``decide`` as the DRF view it stands for.
decide.cls, decide.initkwargs = DecideApi, {}


class DecideVerifyApi(APIView):
    permission_classes = [ScopeOrPermission.of("decide", "accounts.view_audit_logs")]

    @extend_schema(
        operation_id="decide_verify",
        request=VerifyInput,
        responses={
            200: OpenApiResponse(description="{valid, reason, claims} or the proof"),
            **ERRORS,
        },
    )
    def post(self, request):
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


class DecisionListApi(APIView):
    permission_classes = [ScopeOrPermission.of("decide", "accounts.view_dashboard")]

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
    permission_classes = [ScopeOrPermission.of("decide", "accounts.view_dashboard")]

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
        if not selectors.decision_is_visible(principal=request.user, decision=decision):
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
