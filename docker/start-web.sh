#!/bin/sh
# Web: migrate, then stock gunicorn as gunicorn.conf.py configures it (sync workers, one per core
# unless WEB_CONCURRENCY says otherwise; DESIGN §4, ADR 0011).
set -e
python manage.py migrate --noinput
exec gunicorn
