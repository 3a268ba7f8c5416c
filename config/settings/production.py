"""Production: no default secrets. A missing value stops start-up with one clear line."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import LOGGING, MIDDLEWARE, env

_missing = [name for name in ("SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS") if not env(name, default="")]
if _missing:
    raise ImproperlyConfigured(f"Production settings need these environment variables: {', '.join(_missing)}")

SECRET_KEY = env("SECRET_KEY")
if SECRET_KEY.startswith("django-insecure") or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be a random string of at least 50 characters")

DEBUG = False
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

# --- E-mail -----------------------------------------------------------------------------
# Password reset and verification links are secrets: without EMAIL_URL they are dropped
# (and each drop logged by core.mail), never printed to the console log.
if not env("EMAIL_URL", default=""):
    EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"

# --- HTTPS ------------------------------------------------------------------------------
# TLS ends at the proxy. It must set X-Forwarded-Proto (overwriting any the client sent);
# Django then knows which requests came over HTTPS. SECURE_PROXY_SSL_HEADER=false when
# nothing sets it, or every request looks like plain HTTP and is redirected forever.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("SECURE_PROXY_SSL_HEADER", default=True) else None
)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# cookiecutter-django's advice: start at 60 seconds, raise to a year once HTTPS is proven
# on every subdomain (HSTS cannot be taken back from browsers that saw it).
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
# The admin's forms posted from another origin than the API host, if any.
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Static files -----------------------------------------------------------------------
# The admin's CSS and JS, collected at image build time and served by WhiteNoise with
# far-future cache headers (hashed names).
# (Production only: elsewhere runserver serves them, and STATIC_ROOT may not exist.)
_after_security = MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1
MIDDLEWARE = [
    *MIDDLEWARE[:_after_security],
    "whitenoise.middleware.WhiteNoiseMiddleware",
    *MIDDLEWARE[_after_security:],
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Logging ----------------------------------------------------------------------------
# One JSON object per line (time, level, logger, request_id, message and any extras).
LOGGING["handlers"]["console"]["formatter"] = env("LOG_FORMAT", default="json")
