"""The Celery app. Eager (in-process) without ``LEXECON_REDIS_URL``; Redis broker with it."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lexecon_site.settings.dev")

app = Celery("lexecon")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
