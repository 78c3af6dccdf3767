"""WSGI entry point (gunicorn sync workers in production)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lexecon_site.settings.dev")
application = get_wsgi_application()
