"""The topology of deploy/topology.py, brought up once for tests/topology/ and stopped after.

Needs pgbouncer, nginx and openssl (Debian packages) besides PostgreSQL's server binaries
and redis-server: skipped when one is missing, unless BRISK_TOPOLOGY_REQUIRED=1 (CI sets
it, and installs them), which makes that a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from deploy.topology import DATABASE, Topology
from harness import Client, PrivatePostgres, postgres_bin_dir

# Enough rows for every endpoint, small enough to seed in seconds (tests/fault's data set).
# (bench/'s mixed scenario reads programme pages up to 5 of 10: 50 programmes.)
SEED = ("--size", "small", "--programmes", "50", "--courses", "200", "--users", "400", "--enrollments", "2000")
PROGRAMS = ("pgbouncer", "nginx", "openssl", "redis-server")


def missing_programs() -> list[str]:
    missing = [name for name in PROGRAMS if not (shutil.which(name) or Path(f"/usr/sbin/{name}").exists())]
    if postgres_bin_dir() is None:
        missing.append("PostgreSQL server binaries (initdb)")
    return missing


@dataclass
class Site:
    """The running topology, and clients for it."""

    topology: Topology

    def nginx(self, token: str | None = None, *, source: str | None = None, timeout: float = 15.0) -> Client:
        """Through nginx (TLS), from `source` (a 127.x address: a distinct client address)."""
        return Client(
            self.topology.nginx.port, token=token, source=source, tls=self.topology.nginx.tls_context(), timeout=timeout
        )

    def direct(self, index: int, token: str | None = None, *, source: str = "127.0.0.1") -> Client:
        """To instance `index` directly, with the headers nginx would add (the Host of the
        site, HTTPS, the client address), so answers and cache keys are the site's."""
        headers = {
            "Host": f"127.0.0.1:{self.topology.nginx.port}",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": source,
        }
        return Client(self.topology.instances[index].port, token=token, source=source, headers=headers)

    def primary_sql(self, sql: str) -> str:
        return self.topology.primary.psql(sql, DATABASE)

    def replica_sql(self, sql: str) -> str:
        return self.topology.replica.psql(sql, DATABASE)

    def tokens(self, emails: list[str]) -> list[str]:
        minted = self.topology.tokens(emails)
        return [minted[email] for email in emails]

    def learners(self, count: int, *, offset: int = 0) -> list[str]:
        return self.primary_sql(
            "SELECT email FROM accounts_user WHERE role = 'student' AND is_active "
            f"AND email LIKE '%@demo.brisk.local' ORDER BY id LIMIT {int(count)} OFFSET {int(offset)}"
        ).splitlines()

    def open_courses(self, count: int, *, offset: int = 0) -> list[int]:
        """Published courses without a capacity (enrolling never answers 409)."""
        rows = self.primary_sql(
            "SELECT id FROM courses_course WHERE is_published AND capacity IS NULL "
            f"ORDER BY id LIMIT {int(count)} OFFSET {int(offset)}"
        )
        return [int(row) for row in rows.splitlines()]

    def courses_without(self, emails: list[str], count: int) -> list[int]:
        """Published courses without a capacity that none of these users is enrolled in."""
        listed = ", ".join(f"'{email}'" for email in emails) or "''"
        rows = self.primary_sql(
            "SELECT c.id FROM courses_course c WHERE c.is_published AND c.capacity IS NULL AND NOT EXISTS ("
            "SELECT 1 FROM courses_enrollment e JOIN accounts_user u ON u.id = e.user_id "
            f"WHERE e.course_id = c.id AND u.email IN ({listed})) ORDER BY random() LIMIT {int(count)}"
        )
        return [int(row) for row in rows.splitlines()]

    def pgbouncer_connection(self, **kwargs: Any) -> psycopg.Connection[Any]:
        return psycopg.connect(self.topology.pgbouncer.url(), prepare_threshold=None, **kwargs)


def statement_calls(server: PrivatePostgres, like: str) -> int:
    """Calls counted by pg_stat_statements on `server` for statements matching `like`."""
    return int(
        server.psql(
            f"SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query LIKE '{like}' "
            f"AND dbid = (SELECT oid FROM pg_database WHERE datname = '{DATABASE}')",
            DATABASE,
        )
    )


@pytest.fixture(scope="session")
def site() -> Iterator[Site]:
    missing = missing_programs()
    if missing:
        message = f"the topology needs: {', '.join(missing)} (apt-get install pgbouncer nginx)"
        if os.environ.get("BRISK_TOPOLOGY_REQUIRED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    topology = Topology.up(seed_args=SEED, instance_env={"THROTTLE_AUTH_TOKEN": "1000/minute"})
    try:
        yield Site(topology)
    finally:
        topology.down()
