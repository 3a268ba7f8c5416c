"""A private PostgreSQL cluster: made with `initdb`, on its own port, started, stopped,
restarted and removed by us. The shared PostgreSQL (5432) is never touched.

A throwaway cluster lives in a temporary directory (`private_postgres()`); a kept one
(the bench's, with its large data set) in a directory of the caller's choice, reused by
the next run. The server runs as the `postgres` OS user when we are root (initdb and
postgres refuse root).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from harness.base import free_port, logger, port_is_open, tail
from harness.gunicorn import manage, production_env


def postgres_bin_dir() -> Path | None:
    """Where initdb and pg_ctl are: $PG_BIN, else the newest /usr/lib/postgresql/*/bin, else
    the directory of an initdb on the PATH; None when there is none."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(path.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _required_bin_dir() -> Path:
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise RuntimeError(
            "no PostgreSQL server binaries (initdb) on this machine: apt-get install postgresql "
            "postgresql-contrib, or set PG_BIN"
        )
    return bin_dir


# For tests: the data is thrown away, so durability is off.
DISPOSABLE_SETTINGS: dict[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "100",
}

# For the bench: sized for this 2-core, 24 GiB machine that also runs Gunicorn and wrk. WAL
# settings favour the one-off bulk load (the data is disposable, it can be seeded again);
# fsync and synchronous_commit stay on, so a write costs what it costs in production.
BENCH_SETTINGS: dict[str, str] = {
    "shared_buffers": "1GB",
    "effective_cache_size": "8GB",
    "work_mem": "16MB",
    "maintenance_work_mem": "512MB",
    "max_connections": "200",
    "random_page_cost": "1.1",
    "effective_io_concurrency": "200",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "30min",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "wal_compression": "on",
    # Short OLTP queries: JIT compilation would cost more than it saves (it is on by
    # default; the EXPLAIN section of bench/RESULTS.md says whether Brisk's queries would hit it).
    "jit": "off",
    "shared_preload_libraries": "'pg_stat_statements'",
    "pg_stat_statements.max": "10000",
    "pg_stat_statements.track": "top",
    "pg_stat_statements.track_utility": "on",
    "track_io_timing": "on",
    "log_min_messages": "warning",
}

CONF_FILE = "harness.conf"


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster in `datadir` (the cluster in datadir/data, its log and socket
    beside it) on 127.0.0.1:`port`: `start()` (making the cluster the first time),
    `stop()`, `restart()`, `url(db)`, `psql(sql)`, `connect(db)`, `destroy()`.

    `settings` are written to datadir/data/harness.conf at each start; with
    pg_stat_statements preloaded, its extension is created in each database we create."""

    bin_dir: Path = field(default_factory=_required_bin_dir)
    port: int = field(default_factory=free_port)
    datadir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="brisk-pg-")))
    settings: Mapping[str, str] = field(default_factory=lambda: dict(DISPOSABLE_SETTINGS))
    started: bool = False

    @property
    def cluster(self) -> Path:
        return self.datadir / "data"

    @property
    def log(self) -> Path:
        return self.datadir / "postgres.log"

    @property
    def has_pg_stat_statements(self) -> bool:
        return "pg_stat_statements" in self.settings.get("shared_preload_libraries", "")

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=timeout)

    def init(self) -> None:
        """initdb, unless the cluster is there already."""
        self.datadir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.datadir, "postgres", "postgres")
        if (self.cluster / "PG_VERSION").exists():
            return
        logger.info(f"initdb {self.cluster}")
        self._run(
            "initdb", "-D", str(self.cluster), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"
        )

    def _write_settings(self) -> None:
        settings = {
            **self.settings,
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.datadir}'",
        }
        (self.cluster / CONF_FILE).write_text("".join(f"{key} = {value}\n" for key, value in settings.items()))
        conf = self.cluster / "postgresql.conf"
        if f"include_if_exists = '{CONF_FILE}'" not in conf.read_text():
            with conf.open("a") as handle:
                handle.write(f"\ninclude_if_exists = '{CONF_FILE}'\n")

    def start(self) -> None:
        self.init()
        if not self.started and (self.cluster / "postmaster.pid").exists():
            # Left running by an interrupted run: this cluster is ours.
            logger.info(f"stopping the PostgreSQL left running in {self.cluster}")
            self.stop()
        if port_is_open(self.port):
            raise RuntimeError(f"port {self.port} is taken by another server")
        self._write_settings()
        logger.info(f"starting PostgreSQL on 127.0.0.1:{self.port} ({self.cluster})")
        try:
            self._run("pg_ctl", "-D", str(self.cluster), "-l", str(self.log), "-w", "-t", "60", "start")
        except subprocess.CalledProcessError as error:
            error.add_note(f"PostgreSQL did not start: {error.stderr}\n{tail(self.log)}")
            raise
        self.started = True
        if self.has_pg_stat_statements:
            with self.connect("postgres") as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")

    def stop(self) -> None:
        """A fast shutdown (connections closed), waiting until it is down; nothing when it is."""
        if (self.cluster / "postmaster.pid").exists():
            logger.info(f"stopping PostgreSQL on 127.0.0.1:{self.port}")
            # Ctrl-C in a terminal may have reached the postmaster already (a fast shutdown).
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run("pg_ctl", "-D", str(self.cluster), "-m", "fast", "-w", "-t", "60", "stop")
        self.started = False

    def restart(self) -> None:
        self.stop()
        self.start()

    def destroy(self) -> None:
        """Stopped, and its directory removed (for a throwaway cluster)."""
        self.stop()
        shutil.rmtree(self.datadir, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def postmaster_pid(self) -> int:
        return int((self.cluster / "postmaster.pid").read_text().split()[0])

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Runs one statement with psql, returns its unaligned output."""
        command = [str(self.bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
        result = subprocess.run(
            [*command, "-d", database, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        )
        return result.stdout.strip()

    def connect(self, database: str = "postgres") -> psycopg.Connection[Any]:
        """A psycopg connection in autocommit mode."""
        return psycopg.connect(self.url(database), autocommit=True)

    def ensure_database(self, database: str) -> None:
        """`database` created unless it exists (with pg_stat_statements when preloaded)."""
        with self.connect("postgres") as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{database}"')
        if self.has_pg_stat_statements:
            with self.connect(database) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")


@contextmanager
def private_postgres(**options: Any) -> Iterator[PrivatePostgres]:
    """A started throwaway PostgreSQL, removed afterwards. RuntimeError without binaries."""
    server = PrivatePostgres(**options)
    try:
        server.start()
        yield server
    finally:
        server.destroy()


def prepare_database(
    pg: PrivatePostgres, database: str, *, seed_args: tuple[str, ...] = ("--size", "small")
) -> dict[str, str]:
    """Create `database` on `pg`, migrate it and seed the demo data; returns the production
    environment pointed at it (no Redis: callers add REDIS_URL)."""
    pg.psql(f'CREATE DATABASE "{database}"')
    env = production_env(pg.url(database))
    manage(env, "migrate", "--noinput", timeout=300)
    manage(env, "seed_demo", *seed_args, timeout=900)
    return env


def pg_connection_count(pg: PrivatePostgres, database: str) -> int:
    """Client backends connected to `database` (not counting the psql asking)."""
    sql = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
    )
    return int(pg.psql(sql, database))


def demo_learners(pg: PrivatePostgres, database: str, count: int, *, shuffled: bool = False) -> list[str]:
    """E-mails of students generated by seed_demo (password LEARNER_PASSWORD), lowest ids
    first, or in a random order."""
    rows = pg.psql(
        "SELECT email FROM accounts_user WHERE role = 'student' AND is_active AND email LIKE '%@demo.brisk.local' "
        f"ORDER BY {'random()' if shuffled else 'id'} LIMIT {int(count)}",
        database,
    )
    return rows.splitlines()
