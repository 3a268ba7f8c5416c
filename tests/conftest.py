import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django.db import connection, connections
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


RunInThreads = Callable[[int, Callable[[int], Any]], list[Any]]


def run_in_threads(n: int, target: Callable[[int], Any]) -> list[Any]:
    """target(i) in n threads released together by a barrier, so that they really race;
    each closes its own database connection. Each result, or the exception it raised, in
    order (the test asserts on them)."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = target(i)
        except Exception as exc:  # collected, asserted by the test
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread is still running after 60 s"
    return results


@pytest.fixture
def in_threads() -> RunInThreads:
    """The one way the tests run concurrent requests or services (see run_in_threads)."""
    return run_in_threads


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
