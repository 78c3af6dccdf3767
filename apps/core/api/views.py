"""Operational endpoints: liveness (no auth, no database) and status (authenticated)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core import status_probes


class HealthApi(APIView):
    """Liveness: answers without touching the database or cache."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    rate_limit_exempt = True  # probes must never be refused (ADR 0025)

    @extend_schema(
        operation_id="health",
        responses={
            200: inline_serializer(
                "Health",
                {
                    "status": serializers.CharField(),
                    "version": serializers.CharField(),
                    "node_id": serializers.CharField(),
                    "timestamp": serializers.CharField(),
                },
            )
        },
        auth=[],
    )
    def get(self, request):
        # status stays "ok" (ADR 0031); the rest are the original Lexecon's fields.
        fields = status_probes.process_fields()
        fields.pop("uptime_seconds")
        return Response({"status": "ok", **fields})


class StatusApi(APIView):
    """Readiness and state: database, cache, Celery mode and (once present) the ledger head."""

    @extend_schema(
        operation_id="status",
        responses={
            200: inline_serializer(
                "Status",
                {
                    "status": serializers.CharField(),
                    "database": serializers.DictField(),
                    "cache": serializers.DictField(),
                    "celery": serializers.DictField(),
                    "ledger": serializers.DictField(allow_null=True),
                },
            )
        },
    )
    def get(self, request):
        database = _probe(_database_ok)
        database["vendor"] = connection.vendor
        cache_state = _probe(_cache_ok)
        cache_state["backend"] = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
        celery = {
            "mode": "eager" if settings.CELERY_TASK_ALWAYS_EAGER else "broker",
            "broker": "redis" if settings.REDIS_URL else "memory",
        }
        ledger = status_probes.ledger_head() if database["ok"] else None
        healthy = database["ok"] and cache_state["ok"]
        body = {
            "status": "ok" if healthy else "degraded",
            "database": database,
            "cache": cache_state,
            "celery": celery,
            "ledger": ledger,
            **status_probes.process_fields(),
        }
        if database["ok"]:
            body.update(status_probes.extra_fields())  # e.g. the original Lexecon's (ADR 0031)
        return Response(body, status=200 if healthy else 503)


def _probe(check) -> dict:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:  # noqa: BLE001 - a status probe reports any failure, it never raises
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


def _database_ok() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _cache_ok() -> None:
    cache.set("lexecon:status-probe", "1", timeout=5)
    if cache.get("lexecon:status-probe") != "1":
        raise RuntimeError("cache round trip failed")
