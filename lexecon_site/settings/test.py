"""Test settings: the same stack as the embedded default (or PostgreSQL/Redis from the env), made fast."""

import tempfile

from lexecon_site.env import flag, text
from lexecon_site.settings.base import *  # noqa: F403

SECRET_KEY = "test-only-secret-key-not-used-anywhere-else-0123456789abcdef"  # noqa: S105 # nosec B105
LEXECON_MASTER_KEY = "test-only-master-key-0123456789abcdef"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Eager, unless a live test serves the production shape (tests/live/test_decide_live.py, T15).
CELERY_TASK_ALWAYS_EAGER = flag("LEXECON_CELERY_EAGER", default=True)
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    # Tests that read or write evidence bytes point this at their tmp_path (tests/evidence).
    "evidence": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": tempfile.mkdtemp(prefix="lexecon-evidence-")},
    },
}
# Audit export files: a private directory per test run (tests/audit point it at their tmp_path),
# unless a live test's worker is given one.
LEXECON_EXPORT_DIR = text("LEXECON_EXPORT_DIR") or tempfile.mkdtemp(prefix="lexecon-exports-")
WHITENOISE_AUTOREFRESH = True
LOGGING["root"]["level"] = "WARNING"
WHITENOISE_USE_FINDERS = True
LEXECON_LEDGER_TEST_EVENTS = True
# Rate limits count in memory (reset between tests by tests/conftest.py) even when the suite runs
# with LEXECON_REDIS_URL: the rate-limit tests point the limiter at Redis themselves, under a key
# prefix of their own (tests/core/conftest.py), and so may a live server's environment.
LEXECON_RATE_LIMIT_REDIS_URL = text("LEXECON_RATE_LIMIT_REDIS_URL")

# Fault injection for the live tests of unconfirmed answers (tests/live/failpoints.py, ADR 0010):
# only the gunicorn those tests start sets this, so no other process has the failpoints.
if flag("LEXECON_TEST_FAILPOINTS"):
    MIDDLEWARE = ["tests.live.failpoints.Failpoints", *MIDDLEWARE]
