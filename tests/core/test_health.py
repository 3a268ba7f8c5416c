import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, connections
from django.test import Client, override_settings

from core import health

pytestmark = pytest.mark.django_db

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # port 1: nothing listens, refused at once


@pytest.fixture
def database_down(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """New connections to "default" fail (those already open are untouched): a refused
    TCP port on PostgreSQL, a file that cannot be created on SQLite."""
    settings_dict = connections.settings["default"]
    if connection.vendor == "postgresql":
        monkeypatch.setitem(settings_dict, "HOST", "127.0.0.1")
        monkeypatch.setitem(settings_dict, "PORT", "1")
    else:
        monkeypatch.setitem(settings_dict, "NAME", "/nonexistent/directory/db.sqlite3")
    yield


def redis_caches(location: str) -> dict[str, Any]:
    options = {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2}
    return {
        # As in base.py: "default" ignores Redis errors, so /readyz must look past that.
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": location,
            "OPTIONS": {**options, "IGNORE_EXCEPTIONS": True},
        },
        "catalogue": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": location, "OPTIONS": options},
    }


def test_healthz_is_200_and_touches_nothing(client: Client, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["X-Request-ID"]


def test_healthz_answers_while_the_database_is_down(client: Client, database_down: None) -> None:
    assert client.get("/healthz").status_code == 200


def test_probes_ignore_the_host_and_the_https_redirect(client: Client) -> None:
    """Load balancers and Docker probe by IP over plain HTTP."""
    with override_settings(ALLOWED_HOSTS=["api.example.com"], SECURE_SSL_REDIRECT=True):
        assert client.get("/healthz", HTTP_HOST="10.1.2.3:8000").status_code == 200
        assert client.get("/readyz/", HTTP_HOST="10.1.2.3:8000").status_code == 200
        # Everything else still checks both.
        assert client.get("/programmes/", HTTP_HOST="10.1.2.3:8000").status_code == 400
        assert client.get("/programmes/", HTTP_HOST="api.example.com").status_code == 301


def test_only_get_and_head_are_probes(client: Client) -> None:
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 404


def test_readyz_ok(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "cache": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_readyz_database_down_is_503_naming_it(client: Client, database_down: None) -> None:
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"database": "error", "cache": "ok"}


def test_readyz_cache_down_is_503_naming_it(client: Client) -> None:
    with override_settings(CACHES=redis_caches(UNREACHABLE_REDIS)):
        start = time.monotonic()
        response = client.get("/readyz")
        elapsed = time.monotonic() - start
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "cache": "error"}
    assert elapsed < 3


def test_readyz_both_down(client: Client, database_down: None) -> None:
    with override_settings(CACHES=redis_caches(UNREACHABLE_REDIS)):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"database": "error", "cache": "error"}


def test_readyz_answers_in_time_when_a_check_hangs(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """A check that never returns (a black-holed host) is abandoned at READYZ_TIMEOUT."""
    release = threading.Event()
    monkeypatch.setitem(health.CHECKS, "cache", lambda: release.wait(10))
    with override_settings(READYZ_TIMEOUT=0.3):
        start = time.monotonic()
        response = client.get("/readyz")
        elapsed = time.monotonic() - start
    release.set()
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "cache": "error"}
    assert elapsed < 1.5


def test_readyz_default_deadline_fits_the_contract() -> None:
    """API.md: answered within 3 seconds."""
    from django.conf import settings

    assert settings.READYZ_TIMEOUT < 3
