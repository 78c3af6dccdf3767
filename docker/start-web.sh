#!/bin/sh
# Web: migrate, then gunicorn with sync workers (one per core; DESIGN §4).
set -e
python manage.py migrate --noinput
exec gunicorn lexecon_site.wsgi:application --bind 0.0.0.0:8000 \
  --workers "${GUNICORN_WORKERS:-2}" --worker-class lexecon_site.workers.SyncWorker --access-logfile - --timeout 30
