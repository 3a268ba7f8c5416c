"""Fixtures of the real-server tests: a private PostgreSQL with the demo data seeded once
per session (each test gets a fresh copy of it, `CREATE DATABASE ... TEMPLATE`), a private
Redis per test, and Gunicorn with gunicorn_config.py and the production settings.

Every process is started here and stopped here, also when a test fails; none of them is
the shared PostgreSQL (5432) or Redis (6379).
"""

import itertools
import subprocess
from collections.abc import Iterator

import pytest

from harness import (
    PrivatePostgres,
    PrivateRedis,
    gunicorn_env,
    prepare_database,
    private_postgres,
    private_redis,
    production_env,
)

TEMPLATE = "brisk_template"
# Enough rows for every endpoint to answer from real data, small enough to seed in seconds.
FAULT_SEED = ("--size", "small", "--programmes", "20", "--courses", "120", "--users", "400", "--enrollments", "2000")
_names = itertools.count(1)


@pytest.fixture(scope="session")
def fault_pg() -> Iterator[PrivatePostgres]:
    """A private cluster holding the seeded template database."""
    try:
        context = private_postgres()
        server = context.__enter__()
    except (RuntimeError, OSError) as error:
        pytest.skip(f"cannot run a private PostgreSQL: {error}")
    try:
        prepare_database(server, TEMPLATE, seed_args=FAULT_SEED)
        yield server
    finally:
        context.__exit__(None, None, None)


@pytest.fixture
def fault_db(fault_pg: PrivatePostgres) -> Iterator[str]:
    """A fresh copy of the seeded database for one test; its name."""
    try:
        fault_pg.psql("SELECT 1")
    except subprocess.CalledProcessError:  # a failed test may have left it stopped
        fault_pg.start()
    name = f"brisk_fault_{next(_names)}"
    fault_pg.psql(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    yield name


@pytest.fixture
def redis_server() -> Iterator[PrivateRedis]:
    try:
        context = private_redis()
        server = context.__enter__()
    except RuntimeError as error:
        pytest.skip(str(error))
    try:
        yield server
    finally:
        context.__exit__(None, None, None)


@pytest.fixture
def live_env(fault_pg: PrivatePostgres, fault_db: str, redis_server: PrivateRedis) -> dict[str, str]:
    """Production settings against the private services: 2 workers x 4 threads, Redis db 7,
    login throttles raised (the tests log several users in from one address)."""
    return gunicorn_env(
        production_env(fault_pg.url(fault_db)),
        REDIS_URL=redis_server.url(7),
        THROTTLE_AUTH_TOKEN="1000/minute",
        THROTTLE_AUTH_REGISTER="1000/minute",
    )
