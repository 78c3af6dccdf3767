"""ASGI entry point. Kept for completeness; serve with gunicorn sync workers (see DESIGN §4)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lexecon_site.settings.dev")
application = get_asgi_application()
