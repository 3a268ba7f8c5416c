"""Settings shared by every environment.

Every value that differs between machines comes from the environment (twelve-factor).
Unset means the embedded default: a SQLite file in the project and the local-memory
cache, so that `make run` works with nothing else installed.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
import orjson
from corsheaders.defaults import default_headers as default_cors_headers

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
env_file = BASE_DIR / ".env"
if env_file.exists():
    environ.Env.read_env(env_file)

SECRET_KEY = env("SECRET_KEY", default="django-insecure-local-only-do-not-use-in-production")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    # Revoked refresh tokens, in PostgreSQL so every instance refuses them (accounts.tokens).
    "rest_framework_simplejwt.token_blacklist",
    # Failed /admin/ logins: lockout per IP and per account (accounts.admin_lockout).
    "axes",
    # Swagger UI and ReDoc, pinned and served with the static files (no CDN): /docs/ and
    # /redoc/ work offline and under a strict CSP.
    "drf_spectacular_sidecar",
    "core",
    "accounts",
    "courses",
    "programmes",
    "demo",
]

MIDDLEWARE = [
    # First: every later log line carries the request id, every response the header.
    "core.middleware.RequestIDMiddleware",
    # Prometheus: records every request below it and answers /metrics (core.metrics).
    "core.metrics.MetricsMiddleware",
    "core.middleware.RequestTimingMiddleware",
    # /healthz and /readyz: before host validation and the HTTPS redirect (probes use IPs).
    "core.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before anything that can answer (the catalogue cache), so every answer has CORS headers.
    "corsheaders.middleware.CorsMiddleware",
    # Any answer that does not say it may be cached is `private, no-store`.
    "core.private_cache.PrivateByDefaultMiddleware",
    # A body above DATA_UPLOAD_MAX_MEMORY_SIZE: 413 before anything reads it.
    "core.middleware.RequestBodyLimitMiddleware",
    # Off unless DATABASE_REPLICA_URL is set; before anything that reads.
    "core.db_router.ReplicaPinMiddleware",
    "core.catalogue_cache.CatalogueCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Turns an admin login refused by django-axes into its lockout answer (429).
    "axes.middleware.AxesMiddleware",
    # Last: it sees the exceptions views raise (a database or Redis outage -> 503 JSON).
    "core.middleware.ServiceUnavailableMiddleware",
]

# The largest request body (413 above it, core.middleware.RequestBodyLimitMiddleware). The
# largest legitimate one, a bulk enrollment of 10,000 ids, is about 200 KB.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
# Deadlines shorter than Gunicorn's timeout (the chain is in docs/production.md), so a slow
# or absent database ends as a 503 the API answers instead of a worker killed mid-request.
DB_CONNECT_TIMEOUT = env.int("DB_CONNECT_TIMEOUT", default=3)  # seconds; libpq's minimum is 2
DB_STATEMENT_TIMEOUT_MS = env.int("DB_STATEMENT_TIMEOUT_MS", default=10_000)
DB_IDLE_IN_TRANSACTION_TIMEOUT_MS = env.int("DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", default=20_000)
# Connection reuse (bench/serving.md): persistent connections, one per Gunicorn thread, by
# default; or Django's psycopg pool (DB_POOL=true), sized to the threads of one worker.
CONN_MAX_AGE = env.int("CONN_MAX_AGE", default=60)
DB_POOL = env.bool("DB_POOL", default=False)
DB_POOL_MAX_SIZE = env.int("DB_POOL_MAX_SIZE", default=env.int("GUNICORN_THREADS", default=4))
DB_POOL_TIMEOUT = env.float("DB_POOL_TIMEOUT", default=3.0)  # wait for a free connection
# Behind PgBouncer in transaction mode: PgBouncer pools, a connection may change server
# between transactions, so no startup options, no server-side cursors, no prepared
# statements and no pool of our own (see docs/production.md).
DATABASE_PGBOUNCER = env.bool("DATABASE_PGBOUNCER", default=False)
# The same for DATABASE_REPLICA_URL; by default the replica is reached the way the primary is.
# False when PgBouncer fronts the primary only and the replica is connected to directly.
DATABASE_REPLICA_PGBOUNCER = env.bool("DATABASE_REPLICA_PGBOUNCER", default=DATABASE_PGBOUNCER)


def postgres_settings(config: dict[str, Any], *, pgbouncer: bool = DATABASE_PGBOUNCER) -> dict[str, Any]:
    """Timeouts, health checks and connection reuse for one PostgreSQL database."""
    if config["ENGINE"] != "django.db.backends.postgresql":
        return config
    config["CONN_HEALTH_CHECKS"] = True  # a connection broken by a restart is replaced, not used
    options = config.setdefault("OPTIONS", {})
    options.setdefault("connect_timeout", DB_CONNECT_TIMEOUT)
    if pgbouncer:
        # Timeouts go on the role instead: ALTER ROLE ... SET statement_timeout = ...
        config["CONN_MAX_AGE"] = 0
        config["DISABLE_SERVER_SIDE_CURSORS"] = True
        options["prepare_threshold"] = None
        return config
    options.setdefault(
        "options",
        f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS} "
        f"-c idle_in_transaction_session_timeout={DB_IDLE_IN_TRANSACTION_TIMEOUT_MS}",
    )
    if DB_POOL:
        config["CONN_MAX_AGE"] = 0  # the pool keeps them
        options["pool"] = {"min_size": 1, "max_size": DB_POOL_MAX_SIZE, "timeout": DB_POOL_TIMEOUT}
    else:
        config["CONN_MAX_AGE"] = CONN_MAX_AGE
    return config


DATABASES = {
    "default": postgres_settings(env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")),
}
# Optional read replica: core.db_router sends reads there, except a caller's reads right
# after its own writes (REPLICA_PIN_SECONDS), which stay on the primary.
DATABASE_REPLICA_URL = env("DATABASE_REPLICA_URL", default="")
REPLICA_PIN_SECONDS = env.int("REPLICA_PIN_SECONDS", default=5)
# After the replica failed (refused, timed out, dropped), each process reads from the primary
# for this long before it tries the replica again (core.db_router.replica_reachable).
REPLICA_RETRY_SECONDS = env.float("REPLICA_RETRY_SECONDS", default=5.0)
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = postgres_settings(
        env.db_url_config(DATABASE_REPLICA_URL), pgbouncer=DATABASE_REPLICA_PGBOUNCER
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["core.db_router.PrimaryReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# models.W038: SQLite cannot defer a unique constraint; the one deferred constraint
# (a course's position in a programme, programmes.models) holds on PostgreSQL.
SILENCED_SYSTEM_CHECKS = ["models.W038"]

# --- Cache ----------------------------------------------------------------------------
# Two aliases on the same Redis. "default" (throttling and anything else) ignores Redis
# errors, so a dead Redis never fails a request; "catalogue" raises them, so the catalogue
# cache (core.catalogue_cache) can notice and stop asking for a while.
REDIS_URL = env("REDIS_URL", default="")
# Anonymous catalogue pages are served from the "catalogue" cache (core.catalogue_cache).
CATALOGUE_CACHE_ENABLED = env.bool("CATALOGUE_CACHE_ENABLED", default=True)
# The router whose viewsets say which of their actions are cached (core.catalogue_routes).
CATALOGUE_CACHE_ROUTER = "config.api_router.router"
# Upper bound on how long enrollment-driven counts may lag in a cached page.
CATALOGUE_CACHE_TTL = env.int("CATALOGUE_CACHE_TTL", default=30)
# How long a CDN may keep a public catalogue page (s-maxage); browsers always revalidate.
CATALOGUE_CDN_MAX_AGE = env.int("CATALOGUE_CDN_MAX_AGE", default=10)
# After a Redis error the catalogue cache is skipped for this long.
CATALOGUE_CACHE_RETRY_SECONDS = env.float("CATALOGUE_CACHE_RETRY_SECONDS", default=5.0)
# One request computes a missing page; others wait up to LOCK_WAIT for it.
CATALOGUE_LOCK_SECONDS = 10
CATALOGUE_LOCK_WAIT_SECONDS = env.float("CATALOGUE_LOCK_WAIT_SECONDS", default=2.0)
# A 404 or 400 of a catalogue route is stored this long (under the same generations).
CATALOGUE_NEGATIVE_TTL = env.int("CATALOGUE_NEGATIVE_TTL", default=5)
if REDIS_URL:
    _redis_options = {
        "PARSER_CLASS": "redis.connection._HiredisParser",
        # Each cache call is bounded well below Gunicorn's timeout.
        "SOCKET_CONNECT_TIMEOUT": env.float("REDIS_CONNECT_TIMEOUT", default=0.2),
        "SOCKET_TIMEOUT": env.float("REDIS_SOCKET_TIMEOUT", default=0.2),
    }
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "brisk",
            "OPTIONS": {**_redis_options, "IGNORE_EXCEPTIONS": True},
        },
        "catalogue": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "brisk",
            "TIMEOUT": CATALOGUE_CACHE_TTL,
            "OPTIONS": _redis_options,
        },
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "default"},
        "catalogue": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "catalogue",
            "TIMEOUT": CATALOGUE_CACHE_TTL,
            "OPTIONS": {"MAX_ENTRIES": 10_000},
        },
    }
# django-redis logs each ignored error; core.log_filters.RateLimitFilter keeps that to one
# line per interval.
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
DJANGO_REDIS_LOGGER = "brisk.cache"

# --- Auth -----------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Log in by e-mail, whatever its case (accounts.backends). django-axes' backend goes first:
# it refuses an admin login while that IP or account is locked out.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "accounts.backends.EmailBackend"]

# JWT only for the API: no sessions, and nothing written on a read (no last_login).
SIMPLE_JWT = {
    "ALGORITHM": "HS256",
    "SIGNING_KEY": SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "UPDATE_LAST_LOGIN": False,
    # Each refresh answers a new refresh token and revokes the one used (accounts.tokens).
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
}

# --- Account lifecycle (accounts.lifecycle) --------------------------------------------
# The frontend's pages that e-mailed links open; {uid}, {token} are filled in.
FRONTEND_URL = env("FRONTEND_URL", default="http://localhost:3000").rstrip("/")
PASSWORD_RESET_URL = env("PASSWORD_RESET_URL", default=FRONTEND_URL + "/reset-password?uid={uid}&token={token}")
EMAIL_VERIFICATION_URL = env("EMAIL_VERIFICATION_URL", default=FRONTEND_URL + "/verify-email?token={token}")
# A password reset link works once, for this long (Django's PasswordResetTokenGenerator).
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT_SECONDS", default=60 * 60)
EMAIL_VERIFICATION_MAX_AGE = env.int("EMAIL_VERIFICATION_MAX_AGE_SECONDS", default=7 * 24 * 60 * 60)
# Whether a user who has not confirmed their e-mail address may enroll.
UNVERIFIED_USERS_MAY_ENROLL = env.bool("UNVERIFIED_USERS_MAY_ENROLL", default=True)

# --- Admin login lockout (django-axes; accounts.admin_lockout) -----------------------------
# /admin/ only (the API has its throttles): after AXES_FAILURE_LIMIT failed logins from one
# IP, or for one account, that IP or account is refused for ADMIN_LOCKOUT_MINUTES.
AXES_ONLY_ADMIN_SITE = True
AXES_HANDLER = "accounts.admin_lockout.AdminLoginHandler"
AXES_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("ADMIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "accounts.admin_lockout.login_username"
AXES_CLIENT_IP_CALLABLE = "accounts.admin_lockout.client_ip"
AXES_COOLOFF_MESSAGE = (
    "Too many failed logins from this address or for this account: logging in is locked for a while. "
    "Staff can unlock it (Axes > Access attempts, or `manage.py axes_reset_username`)."
)
AXES_VERBOSE = False  # accounts.auth_events logs the lockout as one structured line

# --- E-mail ---------------------------------------------------------------------------------
# EMAIL_URL (django-environ): smtp+tls://user:password@smtp.example.com:587 in production;
# the console locally. Sent after the transaction commits, from a background thread of the
# web process (core.mail), each send bounded by EMAIL_TIMEOUT.
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS", False))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL", False))
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=10.0)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Brisk <no-reply@brisk.local>")
EMAIL_SEND_IN_BACKGROUND = env.bool("EMAIL_SEND_IN_BACKGROUND", default=True)
EMAIL_QUEUE_MAX = env.int("EMAIL_QUEUE_MAX", default=100)

# `Idempotency-Key` answers are kept at least this long (core.idempotency).
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where collectstatic writes and WhiteNoise serves from in production (the admin's files,
# Swagger UI and ReDoc).
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))

# --- Operations -----------------------------------------------------------------------
# `Server-Timing: db;dur=..;desc="N queries", total;dur=..` on every response.
SERVER_TIMING = env.bool("SERVER_TIMING", default=False)
# Requests slower than this log a warning with their query count.
SLOW_REQUEST_MS = env.int("SLOW_REQUEST_MS", default=1000)
# /readyz gives each check this long (the contract: an answer within 3 seconds).
READYZ_TIMEOUT = env.float("READYZ_TIMEOUT", default=2.0)
# GET /metrics (Prometheus, core.metrics) answers a staff token, or a direct caller (not
# through a proxy) from these addresses or networks, e.g. "127.0.0.1,::1,10.0.0.0/8".
METRICS_ALLOWED_IPS: list[str] = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])

# --- CORS (django-cors-headers) -------------------------------------------------------
# The frontend's origins, e.g. "https://app.example.com,https://admin.example.com".
CORS_ALLOWED_ORIGINS: list[str] = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_HEADERS = (*default_cors_headers, "idempotency-key", "if-none-match", "x-request-id")
CORS_EXPOSE_HEADERS = ["ETag", "Retry-After", "X-Request-ID"]

# --- API ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # simplejwt's, plus the per-user token generation (accounts.authentication).
        "accounts.authentication.JWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.PageNumberPagination",
    "PAGE_SIZE": 10,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_RENDERER_CLASSES": ["drf_orjson_renderer.renderers.ORJSONRenderer"],
    # A list field's errors are keyed by item index ({"user_ids": {"0": [...]}}, as DRF's
    # JSONRenderer writes them); without this orjson refuses the int keys with a 500.
    "ORJSON_RENDERER_OPTIONS": (orjson.OPT_NON_STR_KEYS,),
    "DEFAULT_PARSER_CLASSES": ["drf_orjson_renderer.parsers.ORJSONParser"],
    # drf-spectacular's, plus the error answers of each operation (core.schema).
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.exceptions.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Login and registration, per client IP and per e-mail (accounts.throttling).
    "DEFAULT_THROTTLE_RATES": {
        "auth_token": env("THROTTLE_AUTH_TOKEN", default="10/minute"),
        "auth_register": env("THROTTLE_AUTH_REGISTER", default="10/minute"),
        "auth_password_reset": env("THROTTLE_AUTH_PASSWORD_RESET", default="10/hour"),
        "auth_password_reset_confirm": env("THROTTLE_AUTH_PASSWORD_RESET_CONFIRM", default="10/minute"),
        "auth_password_change": env("THROTTLE_AUTH_PASSWORD_CHANGE", default="10/minute"),
        "auth_email_verify": env("THROTTLE_AUTH_EMAIL_VERIFY", default="10/minute"),
        "auth_email_verify_resend": env("THROTTLE_AUTH_EMAIL_VERIFY_RESEND", default="5/hour"),
    },
    # Proxies in front of the app that append to X-Forwarded-For. 0: the client IP is
    # REMOTE_ADDR and X-Forwarded-For is ignored; N: the N-th address from the right.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Brisk LMS API",
    "DESCRIPTION": "Programmes, courses, enrollments and accounts.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # From drf-spectacular-sidecar (requirements.txt pins the version), not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No badge fetched from validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    # The request id on every record (core.logging); production logs JSON lines.
    "filters": {
        "request_id": {"()": "core.logging.RequestIDFilter"},
        # A dead Redis is said once a minute, not once per request (core.log_filters).
        "once_a_minute": {"()": "core.log_filters.RateLimitFilter", "interval": 60},
        # Counts every Redis error for Prometheus before the line is rate-limited.
        "count_redis_errors": {"()": "core.metrics.RedisErrorCounter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.orjson.OrjsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env("LOG_FORMAT", default="plain"),
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "brisk.cache": {"filters": ["count_redis_errors", "once_a_minute"]},
        # Its own lines repeat what brisk.auth says in one structured line.
        "axes": {"level": "WARNING"},
    },
    # brisk.auth: one line per authentication event (accounts.auth_events).
}
