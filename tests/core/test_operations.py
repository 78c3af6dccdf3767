"""/health, /status, /metrics, /docs (offline), /api/schema/, request ids and JSON logs."""

from __future__ import annotations

import json
import logging
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext


@pytest.mark.django_db
def test_health_needs_no_auth_and_no_database(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    # "ok" stays; the original Lexecon's fields are added beside it (ADR 0031, tests/compat).
    assert body["status"] == "ok"
    assert set(body) == {"status", "version", "node_id", "timestamp"}
    assert len(queries) == 0


@pytest.mark.django_db
def test_status_needs_auth(client):
    assert client.get("/status").status_code == 401


@pytest.mark.django_db
def test_status_reports_database_cache_and_celery(agent_client, settings):
    body = agent_client("ledger:read").get("/status").json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["database"]["vendor"] == connection.vendor
    assert body["cache"]["ok"] is True
    expected_mode = "eager" if settings.CELERY_TASK_ALWAYS_EAGER else "broker"
    assert body["celery"]["mode"] == expected_mode


@pytest.mark.django_db
def test_metrics_are_prometheus_text(client):
    client.get("/health")
    response = client.get("/metrics")
    assert response.status_code == 200
    text = response.content.decode()
    assert "django_http_requests_total_by_method_total" in text


@pytest.mark.django_db
def test_docs_page_uses_only_local_assets(client):
    response = client.get("/docs")
    assert response.status_code == 200
    html = response.content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls, "the page should load its assets"
    for url in urls:
        assert url.startswith("/"), f"external asset {url}"
        assert not url.startswith("//")
    assert "swagger-ui-bundle.js" in html
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url


@pytest.mark.django_db
def test_schema_is_json_when_asked(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/health" in schema["paths"]
    assert "/status" in schema["paths"]
    # /decide is served by a plain view for agents; the schema still documents it as DecideApi.
    decide = schema["paths"]["/decide"]["post"]
    assert decide["operationId"] == "decide"
    assert decide["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/DecideInputRequest"
    )


@pytest.mark.django_db
def test_request_id_is_echoed_or_minted(client):
    assert client.get("/health", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"
    minted = client.get("/health", HTTP_X_REQUEST_ID="bad id\nwith newline")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", minted)


def test_log_records_are_single_line_json_with_request_id(capsys):
    from django.conf import settings as dj_settings

    from apps.core.logging import RequestIdFilter, request_id_var

    config = dj_settings.LOGGING["formatters"]["json"]
    from pythonjsonlogger.json import JsonFormatter

    formatter = JsonFormatter(config["fmt"], rename_fields=config["rename_fields"])
    record = logging.LogRecord(
        "lexecon.test", logging.WARNING, __file__, 1, 'user "x"\n{"level":"admin"}', None, None
    )
    token = request_id_var.set("req-42")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = formatter.format(record)
    assert "\n" not in line
    payload = json.loads(line)
    assert payload["request_id"] == "req-42"
    assert payload["level"] == "WARNING"
    assert payload["message"] == 'user "x"\n{"level":"admin"}'


@pytest.mark.django_db
def test_security_headers_present(client):
    response = client.get("/health")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["Referrer-Policy"] == "same-origin"


def test_wsgi_workers_tune_the_cycle_collector():
    import gc

    from lexecon_site import wsgi  # importing the entry point tunes this process as well

    assert gc.get_threshold()[0] == 20000  # the default LEXECON_GC_GEN0_THRESHOLD
    try:
        gc.unfreeze()
        gc.set_threshold(700, 10, 10)
        wsgi.tune_garbage_collector(0)  # 0 = leave Python's settings alone
        assert gc.get_threshold() == (700, 10, 10)
        assert gc.get_freeze_count() == 0
        wsgi.tune_garbage_collector(5000)
        assert gc.get_threshold() == (5000, 20, 20)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(700, 10, 10)
