"""Test settings: the same stack as production, with fast password hashing."""

from .base import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["*"]

# Query-budget tests measure the work of building a page; the catalogue cache tests
# (tests/core/test_catalogue_cache.py) switch it on for themselves.
CATALOGUE_CACHE_ENABLED = False
