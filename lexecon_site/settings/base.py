"""All settings. Behaviour differences between environments come from the environment (``env.py``).

``dev.py`` (the embedded default), ``test.py`` and ``prod.py`` only change what must differ: where secrets
come from and a few test speed-ups.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from lexecon_site.env import (
    BASE_DIR,
    database_config,
    flag,
    integer,
    networks,
    rate,
    text,
    var_dir,
)

# --- Core -------------------------------------------------------------------------------------------
DEBUG = flag("LEXECON_DEBUG", default=False)
ALLOWED_HOSTS = [h.strip() for h in text("LEXECON_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in text("LEXECON_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]
ROOT_URLCONF = "lexecon_site.urls"
WSGI_APPLICATION = "lexecon_site.wsgi.application"
ASGI_APPLICATION = "lexecon_site.asgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# The public name of this deployment's log (checkpoint origin line) and token audience.
LEXECON_ORIGIN = text("LEXECON_ORIGIN", "lexecon.example/ledger")
# A checkpoint is signed after every this many entries (0 = only the periodic task / command).
LEXECON_CHECKPOINT_EVERY = integer("LEXECON_CHECKPOINT_EVERY", 1000)
# Free-form `test.event` entries (the ledger's own tests and benchmarks); never in a real ledger.
LEXECON_LEDGER_TEST_EVENTS = flag("LEXECON_LEDGER_TEST_EVENTS", default=False)
# Workers re-read the active policy pointer at most this often (seconds).
LEXECON_POLICY_REFRESH_SECONDS = float(integer("LEXECON_POLICY_REFRESH_MS", 1000)) / 1000
# Decisions at or above this risk score are escalated even when a rule permits them.
LEXECON_RISK_ESCALATION_THRESHOLD = integer("LEXECON_RISK_ESCALATION_THRESHOLD", 80)
# SLA hours per escalation priority (DESIGN §9 defaults: critical 2, high 8, medium 24, low 72).
LEXECON_SLA_HOURS = {
    "critical": integer("LEXECON_SLA_CRITICAL_HOURS", 2),
    "high": integer("LEXECON_SLA_HIGH_HOURS", 8),
    "medium": integer("LEXECON_SLA_MEDIUM_HOURS", 24),
    "low": integer("LEXECON_SLA_LOW_HOURS", 72),
}
# Verified agent keys are remembered per worker this long (0 disables); revocation reaches other
# workers within it.
LEXECON_AGENT_KEY_CACHE_SECONDS = float(integer("LEXECON_AGENT_KEY_CACHE_MS", 2000)) / 1000
# /decide with an ai_system that is not in the AI system registry: refused (400 unknown_ai_system)
# when on; accepted and flagged (ai_system_registered false, a warning in the answer) when off.
LEXECON_REQUIRE_REGISTERED_AI_SYSTEM = flag("LEXECON_REQUIRE_REGISTERED_AI_SYSTEM", default=False)
# Each worker remembers the set of registered AI system ids this long (0 disables); a registration
# made in another worker is seen within it.
LEXECON_AI_SYSTEM_CACHE_SECONDS = float(integer("LEXECON_AI_SYSTEM_CACHE_MS", 2000)) / 1000
# CPython's cyclic-GC generation-0 threshold in WSGI workers (0 keeps Python's default of 700); see wsgi.py.
LEXECON_GC_GEN0_THRESHOLD = integer("LEXECON_GC_GEN0_THRESHOLD", 20000)
# Escalation priorities that need two distinct approvers (four-eyes rule).
LEXECON_FOUR_EYES_PRIORITIES = tuple(
    p.strip() for p in text("LEXECON_FOUR_EYES_PRIORITIES", "critical").split(",") if p.strip()
)
# Base URL for links in notification e-mails (e.g. https://lexecon.example.org).
LEXECON_PUBLIC_URL = text("LEXECON_PUBLIC_URL", "")
# Capability tokens live this long (seconds).
LEXECON_TOKEN_LIFETIME_SECONDS = integer("LEXECON_TOKEN_LIFETIME_SECONDS", 300)

INSTALLED_APPS = [
    "lexecon_site.admin_apps.LexeconAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "guardian",
    "django_prometheus",
    "apps.core",
    "apps.accounts",
    "apps.policies",
    "apps.risk",
    "apps.ledger",
    "apps.tokens",
    "apps.aisystems",
    "apps.evidence",
    "apps.compliance",
    "apps.techdoc",
    "apps.escalations",
    "apps.decisions",
    "apps.monitoring",
    "apps.incidents",
    "apps.retention",
    "apps.audit",
    "apps.dashboard",
    "apps.compat",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "apps.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "apps.core.middleware.SecurityHeadersMiddleware",
    # Rate limits: counts every view but agent-key calls to DRF views (those are counted by the
    # DRF throttle, once the key is known) and puts X-RateLimit-* on every limited answer, the
    # agent route's included (ADR 0025).
    "apps.core.ratelimit.middleware.RateLimitMiddleware",
    # Agent calls to views with agent_route (POST /decide) are answered here by that same view;
    # everything below is for browsers and staff.
    "apps.core.middleware.AgentRouteMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.core.nav.nav_items",
            ],
        },
    },
]

# --- Database and cache -------------------------------------------------------------------------------
DATABASE_URL = text("LEXECON_DATABASE_URL") or f"sqlite:///{var_dir() / 'lexecon.sqlite3'}"
# PostgreSQL: the server cancels a statement running longer than LEXECON_DB_STATEMENT_TIMEOUT_MS
# or waiting longer than LEXECON_DB_LOCK_TIMEOUT_MS for a lock, and a worker stops waiting for an
# answer that never comes (a blackholed connection) after the statement timeout plus
# LEXECON_DB_CLIENT_MARGIN_MS (lexecon_site.db.postgresql). Celery's long tasks (sweeps,
# verification, exports) take the LEXECON_DB_TASK_* limits for their own work
# (apps.core.db.longer_timeouts). 0 switches a limit off.
LEXECON_DB_STATEMENT_TIMEOUT_MS = integer("LEXECON_DB_STATEMENT_TIMEOUT_MS", 5000)
LEXECON_DB_LOCK_TIMEOUT_MS = integer("LEXECON_DB_LOCK_TIMEOUT_MS", 3000)
LEXECON_DB_CLIENT_MARGIN_MS = integer("LEXECON_DB_CLIENT_MARGIN_MS", 2000)
LEXECON_DB_TASK_STATEMENT_TIMEOUT_MS = integer("LEXECON_DB_TASK_STATEMENT_TIMEOUT_MS", 300_000)
LEXECON_DB_TASK_LOCK_TIMEOUT_MS = integer("LEXECON_DB_TASK_LOCK_TIMEOUT_MS", 30_000)
DATABASES = {
    "default": database_config(
        DATABASE_URL,
        integer("LEXECON_DB_POOL_SIZE", 0),
        statement_timeout_ms=LEXECON_DB_STATEMENT_TIMEOUT_MS,
        lock_timeout_ms=LEXECON_DB_LOCK_TIMEOUT_MS,
        client_margin_ms=LEXECON_DB_CLIENT_MARGIN_MS,
    )
}

REDIS_URL = text("LEXECON_REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "lexecon",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery (eager without Redis, Redis broker with it) -----------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL or flag("LEXECON_CELERY_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULE = {
    "ledger-checkpoint": {
        "task": "ledger.checkpoint",
        "schedule": float(integer("LEXECON_CHECKPOINT_INTERVAL_SECONDS", 300)),
    },
    "escalations-sla": {"task": "escalations.check_sla", "schedule": 60.0},
    "ledger-verify": {
        "task": "ledger.verify",
        "schedule": float(integer("LEXECON_VERIFY_INTERVAL_SECONDS", 3600)),
    },
    "compliance-tally": {"task": "compliance.tally", "schedule": 60.0},
    "dashboard-rollup": {"task": "dashboard.rollup", "schedule": 60.0},
    "monitoring-pmm-check": {
        "task": "monitoring.pmm_check",
        "schedule": float(integer("LEXECON_PMM_CHECK_INTERVAL_SECONDS", 3600)),
    },
    "evidence-expire": {
        "task": "evidence.expire",
        "schedule": float(integer("LEXECON_EVIDENCE_EXPIRY_INTERVAL_SECONDS", 3600)),
    },
    "incidents-clocks": {
        "task": "incidents.check_clocks",
        "schedule": float(integer("LEXECON_INCIDENT_CLOCK_INTERVAL_SECONDS", 300)),
    },
    "audit-purge": {
        "task": "audit.purge_expired",
        "schedule": float(integer("LEXECON_EXPORT_PURGE_INTERVAL_SECONDS", 3600)),
    },
    "compliance-retention-sweep": {
        "task": "compliance.retention_sweep",
        "schedule": float(integer("LEXECON_RETENTION_SWEEP_INTERVAL_SECONDS", 86400)),
    },
}

# --- Auth, MFA, lockout -------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

OTP_TOTP_ISSUER = text("LEXECON_OTP_ISSUER", "Lexecon")
# The admin never shows another person's TOTP secret or its QR code (the config and QR views answer
# 403 instead of the key, or a 500 for an unknown device; RELIABILITY T35).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
OTP_TOTP_THROTTLE_FACTOR = 1  # seconds, doubled after each consecutive failure
OTP_STATIC_THROTTLE_FACTOR = 1
# The password step locks per (user name, client address): one person's typing errors never lock
# out colleagues behind the same address. apps.accounts.lockout adds two ceilings across that
# pair: failures from one address over all user names (password spraying) and failures for one
# user name from all addresses (a distributed guess at one account). A success forgives only its
# own pair's failures. Locks last AXES_COOLOFF_TIME; the admin shows and releases them.
AXES_FAILURE_LIMIT = integer("LEXECON_LOGIN_FAILURE_LIMIT", 5)
LEXECON_LOGIN_IP_FAILURE_LIMIT = integer("LEXECON_LOGIN_IP_FAILURE_LIMIT", 50)
LEXECON_LOGIN_USER_FAILURE_LIMIT = integer("LEXECON_LOGIN_USER_FAILURE_LIMIT", 20)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_HANDLER = "apps.accounts.lockout.LoginLockoutHandler"
AXES_CLIENT_IP_CALLABLE = "apps.core.ratelimit.client_ip.client_bucket"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = (
    True  # every failed attempt kept (ASVS 16.3.1), 1,000 per user name
)
AXES_ENABLE_ADMIN = False  # apps.accounts.admin registers its own, by role permission
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False
AXES_HTTP_RESPONSE_CODE = 429

# --- Rate limits (ADR 0025, docs/configuration.md) -----------------------------------------------
# Off only to measure what the limiter costs (benchmarks/decide_compare.py).
LEXECON_RATE_LIMIT_ENABLED = flag("LEXECON_RATE_LIMIT_ENABLED", default=True)
# N/S = at most N requests per S seconds (a fixed window per counter), or "off".
LEXECON_RATE_LIMIT_DECIDE_PER_KEY = rate("LEXECON_RATE_LIMIT_DECIDE_PER_KEY", "6000/60")
LEXECON_RATE_LIMIT_API_PER_KEY = rate("LEXECON_RATE_LIMIT_API_PER_KEY", "1200/60")
LEXECON_RATE_LIMIT_STAFF_PER_USER = rate("LEXECON_RATE_LIMIT_STAFF_PER_USER", "600/60")
LEXECON_RATE_LIMIT_GLOBAL_PER_IP = rate("LEXECON_RATE_LIMIT_GLOBAL_PER_IP", "1000/3600")
LEXECON_RATE_LIMIT_AUTH_LOGIN = rate("LEXECON_RATE_LIMIT_AUTH_LOGIN", "5/300")
# Counted in Redis (atomically, shared by every worker) when set, else in each process's memory.
LEXECON_RATE_LIMIT_REDIS_URL = text("LEXECON_RATE_LIMIT_REDIS_URL") or REDIS_URL
LEXECON_RATE_LIMIT_KEY_PREFIX = "lexecon:rl:"
# Budgets that refuse (503) while Redis cannot be reached; the others admit uncounted.
LEXECON_RATE_LIMIT_FAIL_CLOSED = tuple(
    name.strip()
    for name in text("LEXECON_RATE_LIMIT_FAIL_CLOSED", "login").split(",")
    if name.strip() and name.strip() != "none"
)
if set(LEXECON_RATE_LIMIT_FAIL_CLOSED) - {"decide", "api", "staff", "ip", "login"}:
    raise ImproperlyConfigured(
        "LEXECON_RATE_LIMIT_FAIL_CLOSED names budgets among decide, api, staff, ip, login (or none)"
    )
LEXECON_RATE_LIMIT_STORE_TIMEOUT_SECONDS = (
    integer("LEXECON_RATE_LIMIT_STORE_TIMEOUT_MS", 250) / 1000
)
LEXECON_RATE_LIMIT_STORE_RETRY_SECONDS = integer("LEXECON_RATE_LIMIT_STORE_RETRY_MS", 1000) / 1000
# Proxies whose X-Forwarded-For is believed (addresses or CIDR networks); empty: REMOTE_ADDR only.
LEXECON_TRUSTED_PROXIES = networks("LEXECON_TRUSTED_PROXIES")

# --- Metrics (ADR 0033) -------------------------------------------------------------------------------
# GET /metrics answers a bearer token equal to this, or a client inside these networks (here the
# loopback only, for make run and tests; production's default list is empty).
LEXECON_METRICS_TOKEN = text("LEXECON_METRICS_TOKEN")
LEXECON_METRICS_ALLOWED_NETWORKS = networks(
    "LEXECON_METRICS_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128"
)

# Changing the password, the one-time code device or the backup codes needs both factors proved
# within this many seconds (RELIABILITY T33); otherwise the user re-authenticates first.
LEXECON_REAUTH_SECONDS = integer("LEXECON_REAUTH_SECONDS", 300)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = integer("LEXECON_SESSION_MAX_AGE", 8 * 3600)
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

GUARDIAN_RAISE_403 = False
ANONYMOUS_USER_NAME = None

# --- Static files ---------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    # Evidence bytes, addressed by SHA-256 (ADR 0018). Replace the backend with any django-storages
    # one in a settings module; LEXECON_EVIDENCE_DIR moves the local directory.
    "evidence": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": text("LEXECON_EVIDENCE_DIR") or str(var_dir() / "evidence")},
    },
}
# Largest evidence artifact POST /evidence/register accepts (multipart; JSON bodies stay within
# LEXECON_MAX_BODY_BYTES); larger is 413 artifact_too_large.
LEXECON_EVIDENCE_MAX_BYTES = integer("LEXECON_EVIDENCE_MAX_BYTES", 100 * 1024 * 1024)
# Per-type overrides of the default retention in days, e.g. {"screenshot": 730}.
LEXECON_EVIDENCE_RETENTION_DAYS: dict[str, int] = {}

# Compliance status rules (docs/compliance.md): the window they look back over, how old the last full
# ledger verification and the oldest unsigned entry may be, and the longest an attestation may last.
LEXECON_COMPLIANCE_WINDOW_DAYS = integer("LEXECON_COMPLIANCE_WINDOW_DAYS", 30)
LEXECON_COMPLIANCE_VERIFY_MAX_AGE_HOURS = integer("LEXECON_COMPLIANCE_VERIFY_MAX_AGE_HOURS", 24)
LEXECON_COMPLIANCE_CHECKPOINT_MAX_AGE_MINUTES = integer(
    "LEXECON_COMPLIANCE_CHECKPOINT_MAX_AGE_MINUTES", 30
)
LEXECON_ATTESTATION_MAX_DAYS = integer("LEXECON_ATTESTATION_MAX_DAYS", 365)
# Annex IV technical documentation (docs/eu-ai-act/techdoc.md): the window its live figures cover
# when a request names none, and how long each generated document is kept as evidence (Art. 18:
# ten years; never less than the artifact type's own retention).
LEXECON_TECHDOC_WINDOW_DAYS = integer("LEXECON_TECHDOC_WINDOW_DAYS", 90)
LEXECON_TECHDOC_RETENTION_DAYS = integer("LEXECON_TECHDOC_RETENTION_DAYS", 3650)
# EU AI Act Art. 14 (apps.monitoring): escalations approved faster than this (median) suggest
# rubber-stamping rather than review.
LEXECON_RUBBER_STAMP_SECONDS = integer("LEXECON_RUBBER_STAMP_SECONDS", 60)

# Serious incidents (apps/incidents, ADR 0023; docs/eu-ai-act/incidents.md): hours before a
# deadline at which a warning is e-mailed (once each; the deadline itself always warns), the time
# zone and public holidays of the Regulation 1182/71 reading of a period's end, how far back
# runtime signals are proposed as incidents, and what counts as a deny-rate spike.
LEXECON_INCIDENT_WARNING_HOURS = tuple(
    int(h) for h in text("LEXECON_INCIDENT_WARNING_HOURS", "72,24,4").split(",") if h.strip()
)
LEXECON_INCIDENT_TIMEZONE = text("LEXECON_INCIDENT_TIMEZONE", "Europe/Brussels")
LEXECON_INCIDENT_PUBLIC_HOLIDAYS = tuple(
    d.strip() for d in text("LEXECON_INCIDENT_PUBLIC_HOLIDAYS", "").split(",") if d.strip()
)
LEXECON_INCIDENT_SUGGESTION_DAYS = integer("LEXECON_INCIDENT_SUGGESTION_DAYS", 30)
LEXECON_INCIDENT_DENY_SPIKE_POINTS = integer("LEXECON_INCIDENT_DENY_SPIKE_POINTS", 20)
LEXECON_INCIDENT_DENY_SPIKE_MIN_DECISIONS = integer("LEXECON_INCIDENT_DENY_SPIKE_MIN_DECISIONS", 20)
# The EU AI Act calendar (apps/incidents/data/ai_act_calendar.yaml): which regime's dates apply
# (original | omnibus_2026), another calendar file, and single dates moved ("key=YYYY-MM-DD,...").
LEXECON_AI_ACT_REGIME = text("LEXECON_AI_ACT_REGIME", "original")
LEXECON_AI_ACT_CALENDAR_FILE = text("LEXECON_AI_ACT_CALENDAR_FILE", "")
LEXECON_AI_ACT_CALENDAR_OVERRIDES = dict(
    item.strip().split("=", 1)
    for item in text("LEXECON_AI_ACT_CALENDAR_OVERRIDES", "").split(",")
    if "=" in item
)

# Record-keeping (EU AI Act Art. 12/19; docs/eu-ai-act/retention.md, ADR 0021). Days each retention
# class keeps a record's personal data (decision context, people's free text) and evidence bytes;
# the sweep erases them after that. Production refuses a standard period below 180 days.
LEXECON_RETENTION_DAYS = {
    "high_risk": integer("LEXECON_RETENTION_DAYS_HIGH_RISK", 3650),
    "standard": integer("LEXECON_RETENTION_DAYS_STANDARD", 180),
    "gdpr_intersect": integer("LEXECON_RETENTION_DAYS_GDPR_INTERSECT", 90),
}
# Data classes on /decide that mark the context as personal data (class gdpr_intersect unless the
# AI system is high-risk).
LEXECON_RETENTION_PERSONAL_DATA_CLASSES = tuple(
    c.strip()
    for c in text(
        "LEXECON_RETENTION_PERSONAL_DATA_CLASSES",
        "pii,personal_data,customer_data,special_category,phi",
    ).split(",")
    if c.strip()
)
# Decisions the sweep anonymises per transaction (each batch is one short transaction).
LEXECON_RETENTION_SWEEP_BATCH = integer("LEXECON_RETENTION_SWEEP_BATCH", 500)
# The periodic sweep stops anonymising after this many seconds and completes its run; the rest
# waits for the next run (0: no limit; the task's own hard limit is 3,500 s).
LEXECON_RETENTION_SWEEP_MAX_SECONDS = integer("LEXECON_RETENTION_SWEEP_MAX_SECONDS", 3000)
# Records whose retention ends within this many days count as "expiring" on the Art. 12 status.
LEXECON_RETENTION_EXPIRING_DAYS = integer("LEXECON_RETENTION_EXPIRING_DAYS", 30)
# Whether `manage.py retention_sweep --as-of DATE` may write (tests, rehearsals); production sets
# it off, so there --as-of is for planning with --dry-run only.
LEXECON_RETENTION_AS_OF_WRITES = True

# Audit exports (apps/audit, ADR 0026; docs/audit-exports.md): where finished files are kept, how
# many days they are kept (the row and its ledger entry stay), and how many rows each table of
# the HTML/Markdown/PDF report lists (JSON and CSV carry every row).
LEXECON_EXPORT_DIR = text("LEXECON_EXPORT_DIR") or str(var_dir() / "exports")
LEXECON_EXPORT_RETENTION_DAYS = integer("LEXECON_EXPORT_RETENTION_DAYS", 30)
LEXECON_EXPORT_REPORT_ROWS = integer("LEXECON_EXPORT_REPORT_ROWS", 100)

# --- API -----------------------------------------------------------------------------------------------
LEXECON_VERSION = "0.1.0"  # /health, /status, GET / and the OpenAPI document
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.AgentKeyAuthentication",
        "apps.accounts.authentication.StaffSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apps.core.api.permissions.IsVerifiedPrincipal"],
    "DEFAULT_PARSER_CLASSES": ["apps.core.api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "apps.core.api.exception_handler.api_exception_handler",
    # Agent-key budgets (ADR 0025); staff and anonymous callers are counted by the middleware.
    "DEFAULT_THROTTLE_CLASSES": ["apps.core.ratelimit.throttle.AgentKeyRateLimit"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Lexecon API",
    "DESCRIPTION": (
        "Governance decisions for AI agents, a verifiable ledger, and human oversight. "
        'Errors always have the shape {"error": {"code", "message", "details"}}.'
    ),
    "VERSION": LEXECON_VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.core.api.schema.document_rate_limits",
    ],
    # Enums of the AI system registry (apps.aisystems.constants) whose field names other
    # components use with other values.
    "ENUM_NAME_OVERRIDES": {
        "AISystemRoleEnum": ["provider", "deployer", "both"],
        "AISystemRiskClassEnum": ["prohibited", "high", "limited", "minimal"],
        "AISystemStatusEnum": ["development", "active", "suspended", "retired"],
        # ...and the escalation status keeps the name it had before they came.
        "StatusEnum": "apps.escalations.models.Escalation.Status",
    },
}
# Largest accepted request body; larger bodies get 413 in the error shape.
DATA_UPLOAD_MAX_MEMORY_SIZE = integer("LEXECON_MAX_BODY_BYTES", 256 * 1024)

# --- Logging: one JSON object per line, with the request id -------------------------------------------
LOG_LEVEL = text("LEXECON_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "apps.core.logging.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "apps.core.logging.UtcJsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "datefmt": "%Y-%m-%dT%H:%M:%S%z",
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "axes": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        # WeasyPrint logs every rendering step at INFO; its warnings (a refused URL) still show.
        "weasyprint": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "fontTools": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}

# --- Mail -----------------------------------------------------------------------------------------------
EMAIL_BACKEND = text("LEXECON_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = text("LEXECON_DEFAULT_FROM_EMAIL", "lexecon@localhost")
CSRF_FAILURE_VIEW = "apps.core.views.csrf_failure"
LEXECON_EMBEDDED = False
