#!/bin/sh
set -e
exec celery -A lexecon_site worker --loglevel "${LEXECON_LOG_LEVEL:-INFO}" --concurrency "${CELERY_CONCURRENCY:-2}"
