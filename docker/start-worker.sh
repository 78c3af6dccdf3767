#!/bin/sh
set -e
# Metrics (ADR 0033): with LEXECON_METRICS_DIR shared with the web container (a volume), the
# workers' counters (lexecon_celery_task_failures_total) are summed into the web's /metrics.
if [ -n "${LEXECON_METRICS_DIR:-}" ]; then
    rm -rf "$LEXECON_METRICS_DIR/celery"
    mkdir -p "$LEXECON_METRICS_DIR/celery"
    export PROMETHEUS_MULTIPROC_DIR="$LEXECON_METRICS_DIR/celery"
fi
exec celery -A lexecon_site worker --loglevel "${LEXECON_LOG_LEVEL:-INFO}" --concurrency "${CELERY_CONCURRENCY:-2}"
