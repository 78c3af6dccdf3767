#!/bin/sh
set -e
exec celery -A lexecon_site beat --loglevel "${LEXECON_LOG_LEVEL:-INFO}"
