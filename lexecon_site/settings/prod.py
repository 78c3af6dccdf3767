"""Production: refuses to start without real secrets; passes ``check --deploy`` with zero findings."""

from django.core.exceptions import ImproperlyConfigured

from lexecon_site.env import flag, integer, required
from lexecon_site.settings.base import *  # noqa: F403

DEBUG = False
SECRET_KEY = required("LEXECON_SECRET_KEY")
LEXECON_MASTER_KEY = required("LEXECON_MASTER_KEY")
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured("LEXECON_SECRET_KEY is too weak: use at least 50 random characters")
if len(LEXECON_MASTER_KEY) < 32:
    raise ImproperlyConfigured("LEXECON_MASTER_KEY is too short: use at least 32 random characters")

SECURE_SSL_REDIRECT = flag("LEXECON_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = integer("LEXECON_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"
if flag("LEXECON_BEHIND_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
