"""Production: refuses to start without real secrets; passes ``check --deploy`` with zero findings."""

from django.core.exceptions import ImproperlyConfigured

from lexecon_site.env import flag, integer, networks, strong_secret
from lexecon_site.settings.base import *  # noqa: F403
from lexecon_site.settings.base import LEXECON_RETENTION_DAYS

DEBUG = False
# Missing, short, published, repetitive (32 zero bytes) or low-entropy secrets stop the start
# (RELIABILITY T37, lexecon_site.env.secret_weakness).
SECRET_KEY = strong_secret("LEXECON_SECRET_KEY", min_length=50)
LEXECON_MASTER_KEY = strong_secret("LEXECON_MASTER_KEY", min_length=32)

# /metrics: nobody by address unless the operator lists networks; a token must be long (ADR 0033).
LEXECON_METRICS_ALLOWED_NETWORKS = networks("LEXECON_METRICS_ALLOWED_NETWORKS", "")
if LEXECON_METRICS_TOKEN and len(LEXECON_METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("LEXECON_METRICS_TOKEN is too short: use at least 32 characters")

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

# Record-keeping: logs are kept at least six months (EU AI Act Art. 19(1), 26(6)), every class for
# at least a day, and a sweep "as of" another date only plans (--dry-run), never writes.
if LEXECON_RETENTION_DAYS["standard"] < 180:
    raise ImproperlyConfigured(
        "LEXECON_RETENTION_DAYS_STANDARD must be at least 180 days (EU AI Act Art. 19/26(6))"
    )
if min(LEXECON_RETENTION_DAYS.values()) < 1:
    raise ImproperlyConfigured("Every LEXECON_RETENTION_DAYS_* must be at least 1 day")
LEXECON_RETENTION_AS_OF_WRITES = False
