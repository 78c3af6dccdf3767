"""The issue's machine reference: "a bare DRF view ≈ 5,000 req/s" on the machine the targets were set on.

A Django project of its own (no middleware, no database, no Lexecon code) with one DRF ``APIView``
that answers ``{"ok": true}``. ``decide_load.py`` serves it with gunicorn's stock sync worker under
the same wrk load as ``/decide``, so every run states how fast the machine was against that figure.

``gunicorn benchmarks.reference_drf:application``
"""

from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="benchmark-only-not-a-secret-" + "x" * 24,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"],
    MIDDLEWARE=[],
    DATABASES={},
    REST_FRAMEWORK={
        "DEFAULT_AUTHENTICATION_CLASSES": [],
        "DEFAULT_PERMISSION_CLASSES": [],
        "UNAUTHENTICATED_USER": None,
    },
)

import django  # noqa: E402 - settings first

django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.urls import path  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402


class Bare(APIView):
    def get(self, request):
        return Response({"ok": True})


urlpatterns = [path("bare", Bare.as_view())]
application = get_wsgi_application()
