"""Settings shared by every environment.

Every value that differs between machines comes from the environment (twelve-factor).
Unset means the embedded default: a SQLite file in the project and the local-memory
cache, so that `make run` works with nothing else installed.
"""

from pathlib import Path

import environ

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
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "accounts",
    "programmes",
    "courses",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.catalogue_cache.CatalogueCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

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
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.postgresql":
    # Deadlines shorter than Gunicorn's timeout, so a slow query ends as an error the
    # API can answer (503) instead of a worker killed mid-request.
    _db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    _db["CONN_HEALTH_CHECKS"] = True
    _db.setdefault("OPTIONS", {})
    _db["OPTIONS"].setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=3))
    _db["OPTIONS"].setdefault(
        "options",
        "-c statement_timeout={} -c idle_in_transaction_session_timeout={}".format(
            env.int("DB_STATEMENT_TIMEOUT_MS", default=10_000),
            env.int("DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", default=20_000),
        ),
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------
# Two aliases on the same Redis. "default" (throttling and anything else) ignores Redis
# errors, so a dead Redis never fails a request; "catalogue" raises them, so the catalogue
# cache (core.catalogue_cache) can notice and stop asking for a while.
REDIS_URL = env("REDIS_URL", default="")
# Anonymous catalogue pages are served from the "catalogue" cache (core.catalogue_cache).
CATALOGUE_CACHE_ENABLED = env.bool("CATALOGUE_CACHE_ENABLED", default=True)
# Upper bound on how long enrollment-driven counts may lag in a cached page.
CATALOGUE_CACHE_TTL = env.int("CATALOGUE_CACHE_TTL", default=30)
# How long a CDN may keep a public catalogue page (s-maxage); browsers always revalidate.
CATALOGUE_CDN_MAX_AGE = env.int("CATALOGUE_CDN_MAX_AGE", default=10)
# After a Redis error the catalogue cache is skipped for this long.
CATALOGUE_CACHE_RETRY_SECONDS = env.float("CATALOGUE_CACHE_RETRY_SECONDS", default=5.0)
# One request computes a missing page; others wait up to LOCK_WAIT for it.
CATALOGUE_LOCK_SECONDS = 10
CATALOGUE_LOCK_WAIT_SECONDS = env.float("CATALOGUE_LOCK_WAIT_SECONDS", default=2.0)
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

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# --- API ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.PageNumberPagination",
    "PAGE_SIZE": 10,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_RENDERER_CLASSES": ["drf_orjson_renderer.renderers.ORJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["drf_orjson_renderer.parsers.ORJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.exceptions.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Brisk LMS API",
    "DESCRIPTION": "Programmes, courses, enrollments and accounts.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
