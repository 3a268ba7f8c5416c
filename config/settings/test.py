"""Test settings: the same stack as production, with fast password hashing."""

from .base import *  # noqa: F403
from .base import CACHES, env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["*"]

# Query-budget tests measure the work of building a page; the catalogue cache tests
# (tests/core/test_catalogue_cache.py) switch it on for themselves.
CATALOGUE_CACHE_ENABLED = False

# No test sends real mail: messages land in django.core.mail.outbox, at once (no thread).
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
EMAIL_SEND_IN_BACKGROUND = False

# `pytest -n 2`: each worker is a process with its own test database; it gets its own
# cache keys too, on a Redis database the workers share (tests/conftest.py:clear_caches).
_XDIST_WORKER = env("PYTEST_XDIST_WORKER", default="")
if _XDIST_WORKER:
    for _cache in CACHES.values():
        _cache["KEY_PREFIX"] = f"{_cache.get('KEY_PREFIX', 'brisk')}-{_XDIST_WORKER}"
