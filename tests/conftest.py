from collections.abc import Iterator

import pytest
from django.core.cache import caches
from django.db import connection
from django_redis.cache import RedisCache
from rest_framework.test import APIClient

from tests.factories import InstructorFactory, StaffFactory, UserFactory


def clear_caches() -> None:
    """Empty every cache of this test process. On Redis only this process's keys go
    (settings.test gives each pytest-xdist worker its own KEY_PREFIX): `clear()` is a
    FLUSHDB, and on a Redis database shared by `pytest -n 2` it emptied the other worker's
    throttle counts and cached pages mid-test."""
    for cache in caches.all():
        if isinstance(cache, RedisCache):
            cache.delete_pattern("*")
        else:
            cache.clear()


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    from core.catalogue_cache import breaker

    breaker.reset()
    clear_caches()
    yield
    clear_caches()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def student():  # type: ignore[no-untyped-def]
    return UserFactory()


@pytest.fixture
def instructor():  # type: ignore[no-untyped-def]
    return InstructorFactory()


@pytest.fixture
def staff():  # type: ignore[no-untyped-def]
    return StaffFactory()


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `postgres` skip on SQLite: they need row locks or server behaviour."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)
