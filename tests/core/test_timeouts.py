"""The deadline chain: every wait is shorter than the one above it, and a query that runs
too long ends as a JSON 503, not a 500 and not a killed worker.

The real-server tests run Gunicorn (gunicorn_config.py, production settings) against a
private PostgreSQL they start, restart and stop themselves (harness/).
"""

import importlib.util
import os
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import psycopg.errors
import pytest
from django.conf import settings
from django.db import OperationalError, connection
from django.http import HttpRequest, JsonResponse
from django.test import Client
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from harness import Gunicorn, PrivatePostgres, manage, private_postgres, production_env

ROOT = Path(__file__).resolve().parent.parent.parent
# docs/production.md: the proxy in front of Gunicorn (nginx proxy_read_timeout, a cloud
# load balancer's idle timeout) waits this long for an answer.
PROXY_READ_TIMEOUT = 60


def load_gunicorn_config(env: dict[str, str]) -> ModuleType:
    spec = importlib.util.spec_from_file_location("gunicorn_config_under_test", ROOT / "gunicorn_config.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        spec.loader.exec_module(module)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return module


# --- The chain, as configured by default -----------------------------------------------
def test_default_deadline_chain() -> None:
    gunicorn = load_gunicorn_config({})
    statement = settings.DB_STATEMENT_TIMEOUT_MS / 1000
    idle_in_transaction = settings.DB_IDLE_IN_TRANSACTION_TIMEOUT_MS / 1000
    redis_options = settings.CACHES["default"].get("OPTIONS", {})  # empty for the local-memory cache
    redis = [redis_options.get("SOCKET_TIMEOUT", 0), redis_options.get("SOCKET_CONNECT_TIMEOUT", 0)]
    assert gunicorn.timeout < PROXY_READ_TIMEOUT
    assert gunicorn.timeout > idle_in_transaction > statement > settings.DB_CONNECT_TIMEOUT > max(redis)
    assert gunicorn.graceful_timeout > statement  # a deploy lets in-flight requests finish
    assert gunicorn.timeout > settings.DB_POOL_TIMEOUT
    assert settings.READYZ_TIMEOUT < 3


def test_gunicorn_config_from_the_environment() -> None:
    config = load_gunicorn_config(
        {
            "GUNICORN_BIND": "unix:/run/brisk.sock",
            "GUNICORN_WORKERS": "7",
            "GUNICORN_WORKER_CLASS": "sync",
            "GUNICORN_THREADS": "1",
            "GUNICORN_TIMEOUT": "20",
            "GUNICORN_GRACEFUL_TIMEOUT": "15",
            "GUNICORN_KEEPALIVE": "2",
            "GUNICORN_MAX_REQUESTS": "500",
            "GUNICORN_MAX_REQUESTS_JITTER": "50",
            "GUNICORN_PRELOAD": "false",
            "FORWARDED_ALLOW_IPS": "10.0.0.1",
        }
    )
    assert (config.bind, config.workers, config.worker_class, config.threads) == ("unix:/run/brisk.sock", 7, "sync", 1)
    assert (config.timeout, config.graceful_timeout, config.keepalive) == (20, 15, 2)
    assert (config.max_requests, config.max_requests_jitter, config.preload_app) == (500, 50, False)
    assert config.forwarded_allow_ips == "10.0.0.1"


def test_gunicorn_defaults() -> None:
    config = load_gunicorn_config({})
    assert config.worker_class == "gthread"
    assert load_gunicorn_config({"GUNICORN_WORKER_CLASS": "sync"}).threads == 1  # else it is gthread
    assert config.workers == len(os.sched_getaffinity(0)) + 1
    assert config.threads == 4
    assert config.preload_app is True
    assert config.max_requests > 0 and config.max_requests_jitter > 0
    assert "%(M)s" in config.access_log_format  # duration
    assert "%({x-request-id}o)s" in config.access_log_format


# --- statement_timeout in process (PostgreSQL) -----------------------------------------
def plain_sleep(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(2)")
    return JsonResponse({})


class DrfSleep(APIView):
    authentication_classes = ()
    permission_classes = ()

    def get(self, request: Request) -> Response:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(2)")
        return Response({})


urlpatterns = [path("plain-sleep/", plain_sleep), path("drf-sleep/", DrfSleep.as_view())]


@pytest.fixture
def short_statement_timeout() -> Iterator[None]:
    # Session level, inside the test's transaction: rolled back with it.
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = '200ms'")
    yield


@pytest.mark.postgres
@pytest.mark.django_db
def test_connection_carries_the_configured_timeouts() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        statement = cursor.fetchone()
        cursor.execute("SHOW idle_in_transaction_session_timeout")
        assert (statement, cursor.fetchone()) == (("10s",), ("20s",))


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.usefixtures("short_statement_timeout")
def test_statement_timeout_is_djangos_operational_error() -> None:
    with pytest.raises(OperationalError) as error, connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(2)")
    assert isinstance(error.value.__cause__, psycopg.errors.QueryCanceled)


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.urls(__name__)
@pytest.mark.usefixtures("short_statement_timeout")
@pytest.mark.parametrize("url", ["/plain-sleep/", "/drf-sleep/"])
def test_query_beyond_statement_timeout_is_503_json(client: Client, url: str) -> None:
    start = time.monotonic()
    response = client.get(url)
    assert time.monotonic() - start < 1.5
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "The database is unavailable or too slow; try again shortly."}


# --- Real servers: Gunicorn + a private PostgreSQL -------------------------------------
@pytest.fixture(scope="module")
def private_pg() -> Iterator[PrivatePostgres]:
    try:
        context = private_postgres()
        server = context.__enter__()
    except (RuntimeError, OSError) as error:
        pytest.skip(f"cannot run a private PostgreSQL: {error}")
    try:
        server.psql("CREATE DATABASE brisk")
        yield server
    finally:
        context.__exit__(None, None, None)


@pytest.fixture(scope="module")
def live_env(private_pg: PrivatePostgres) -> dict[str, str]:
    env = production_env(
        private_pg.url("brisk"),
        DJANGO_SETTINGS_MODULE="tests.liveserver_settings",
        # Every /programmes/ request must reach PostgreSQL, not the catalogue cache.
        CATALOGUE_CACHE_ENABLED="false",
        DB_STATEMENT_TIMEOUT_MS="1000",
        GUNICORN_WORKERS="1",
        GUNICORN_THREADS="2",
    )
    manage(env, "migrate", "--noinput")
    return env


@pytest.fixture
def server(live_env: dict[str, str], request: pytest.FixtureRequest) -> Iterator[Gunicorn]:
    overrides = getattr(request, "param", {})
    server = Gunicorn({**live_env, **overrides})
    server.start()
    try:
        yield server
    finally:
        log = server.log_text()
        server.stop()
        print(log)  # shown when the test fails


def ok(server: Gunicorn, path: str = "/programmes/") -> int:
    return server.get(path).status


@pytest.mark.postgres
def test_postgres_restart_costs_at_most_one_clean_failure(server: Gunicorn, private_pg: PrivatePostgres) -> None:
    for _ in range(4):  # both threads hold a connection
        assert ok(server) == 200
    private_pg.restart()
    statuses = [ok(server) for _ in range(8)]
    assert statuses[0] in (200, 503), statuses
    assert statuses[1:] == [200] * 7, statuses


@pytest.mark.postgres
def test_postgres_down_fails_fast_with_503_and_recovers(server: Gunicorn, private_pg: PrivatePostgres) -> None:
    assert ok(server) == 200
    private_pg.stop()
    try:
        for _ in range(3):
            response = server.get("/programmes/")
            assert response.status == 503
            assert response.seconds < 5
            assert response.json() == {"detail": "The database is unavailable or too slow; try again shortly."}
        ready = server.get("/readyz")
        assert (ready.status, ready.json()) == (503, {"database": "error", "cache": "ok"})
        assert server.get("/healthz").status == 200  # alive: no restart of the container
    finally:
        private_pg.start()
    assert [ok(server) for _ in range(6)] == [200] * 6
    assert ok(server, "/readyz") == 200


@pytest.mark.postgres
@pytest.mark.parametrize(
    "server",
    [{}, {"GUNICORN_WORKER_CLASS": "sync", "GUNICORN_THREADS": "1", "GUNICORN_TIMEOUT": "4"}],
    ids=["gthread", "sync-timeout-4s"],
    indirect=True,
)
def test_slow_query_is_503_and_the_worker_lives(server: Gunicorn) -> None:
    """pg_sleep(6) against statement_timeout=1s. With sync workers and a 4 s Gunicorn
    timeout, a query without a deadline would get the worker killed (the seed's outage)."""
    workers = server.worker_pids()
    response = server.get("/_test/sleep/6/", headers={"X-Request-ID": "slow-1"})
    assert response.status == 503
    assert response.seconds < 3
    assert response.json() == {"detail": "The database is unavailable or too slow; try again shortly."}
    assert response.headers["X-Request-ID"] == "slow-1"
    assert ok(server) == 200
    time.sleep(1)  # a timed-out worker would be reported by now
    assert server.worker_pids() == workers
    log = server.log_text()
    assert "WORKER TIMEOUT" not in log
    assert "slow-1" in log  # the access line and the warning carry the request id
