"""The bench's own servers: PostgreSQL, Redis and Gunicorn processes, each stopped by us.

The shared PostgreSQL (5432) and Redis (6379) belong to other test runs and are never
touched: the bench runs its own on spare ports. Its PostgreSQL cluster lives in
bench/out/pg (gitignored) and is kept between runs, so the large data set is loaded once.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
LOGS = OUT / "logs"
VENV_BIN = Path(sys.executable).parent

_STARTED = time.monotonic()


def log(message: str) -> None:
    """One progress line, with the time since the bench started."""
    elapsed = int(time.monotonic() - _STARTED)
    print(f"[bench {elapsed // 60:02d}:{elapsed % 60:02d}] {message}", flush=True)


def port_is_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def postgres_bin_dir() -> Path:
    """$PG_BIN, else the newest /usr/lib/postgresql/*/bin."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(path.split("/")[4]))
    if not found:
        raise RuntimeError("no PostgreSQL server binaries: apt-get install postgresql (and postgresql-contrib)")
    return Path(found[-1]).parent


def _as_postgres(command: Sequence[str]) -> list[str]:
    # initdb and postgres refuse to run as root.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


# Sized for this 2-core, 24 GiB machine that also runs Gunicorn and wrk. WAL settings
# favour the one-off bulk load (the data is disposable, it can be seeded again);
# fsync and synchronous_commit stay on, so a write costs what it costs in production.
POSTGRES_SETTINGS: dict[str, str] = {
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
    # default; the EXPLAIN section of RESULTS.md says whether Brisk's queries would hit it).
    "jit": "off",
    "shared_preload_libraries": "'pg_stat_statements'",
    "pg_stat_statements.max": "10000",
    "pg_stat_statements.track": "top",
    "pg_stat_statements.track_utility": "on",
    "track_io_timing": "on",
    "listen_addresses": "'127.0.0.1'",
    "log_min_messages": "warning",
}


@dataclass
class Postgres:
    """The bench's PostgreSQL cluster in bench/out/pg, on `port`, with pg_stat_statements."""

    port: int
    home: Path = OUT / "pg"
    bin_dir: Path = field(default_factory=postgres_bin_dir)
    started: bool = False

    @property
    def datadir(self) -> Path:
        return self.home / "data"

    def _run(self, *args: str, timeout: float = 120) -> None:
        command = _as_postgres([str(self.bin_dir / args[0]), *args[1:]])
        subprocess.run(command, check=True, timeout=timeout, stdout=subprocess.DEVNULL)

    def _chown(self) -> None:
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", "postgres:postgres", str(self.home)], check=True)

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "run").mkdir(exist_ok=True)
        self._chown()
        if not (self.datadir / "PG_VERSION").exists():
            log(f"initdb {self.datadir}")
            self._run("initdb", "-D", str(self.datadir), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C")
        settings = {**POSTGRES_SETTINGS, "port": str(self.port), "unix_socket_directories": f"'{self.home / 'run'}'"}
        (self.datadir / "bench.conf").write_text("".join(f"{key} = {value}\n" for key, value in settings.items()))
        conf = self.datadir / "postgresql.conf"
        if "include_if_exists = 'bench.conf'" not in conf.read_text():
            with conf.open("a") as handle:
                handle.write("\ninclude_if_exists = 'bench.conf'\n")
        self._chown()
        if (self.datadir / "postmaster.pid").exists():
            # Left running by an interrupted run of the bench: this cluster is ours.
            log("stopping the bench PostgreSQL left by an earlier run")
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop")
        if port_is_open(self.port):
            raise RuntimeError(f"port {self.port} is taken by another server: set BENCH_PG_PORT")
        log(f"starting PostgreSQL on 127.0.0.1:{self.port} (pg_stat_statements preloaded)")
        self._run("pg_ctl", "-D", str(self.datadir), "-l", str(self.home / "postgres.log"), "-w", "-t", "60", "start")
        self.started = True
        with self.connect("postgres") as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")

    def stop(self) -> None:
        if self.started:
            log("stopping the bench PostgreSQL")
            # Ctrl-C in a terminal may have reached the postmaster already (a fast shutdown).
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "-t", "60", "stop")
            self.started = False

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def postmaster_pid(self) -> int:
        return int((self.datadir / "postmaster.pid").read_text().split()[0])

    def connect(self, database: str) -> psycopg.Connection:
        return psycopg.connect(self.url(database), autocommit=True)

    def ensure_database(self, database: str) -> None:
        with self.connect("postgres") as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{database}"')
        with self.connect(database) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")


@dataclass
class Redis:
    """The bench's Redis, in memory only."""

    port: int
    started: bool = False

    def start(self) -> None:
        LOGS.mkdir(parents=True, exist_ok=True)
        pidfile = OUT / "redis.pid"
        if pidfile.exists() and port_is_open(self.port):
            log("stopping the bench Redis left by an earlier run")
            self.cli("shutdown", "nosave", check=False)
            time.sleep(0.5)
        if port_is_open(self.port):
            raise RuntimeError(f"port {self.port} is taken by another server: set BENCH_REDIS_PORT")
        log(f"starting Redis on 127.0.0.1:{self.port}")
        subprocess.run(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
                "--pidfile",
                str(pidfile),
                "--logfile",
                str(LOGS / "redis.log"),
                "--dir",
                str(OUT),
            ],
            check=True,
        )
        self.started = True
        deadline = time.monotonic() + 10
        while not port_is_open(self.port):
            if time.monotonic() > deadline:
                raise RuntimeError("Redis did not start: see bench/out/logs/redis.log")
            time.sleep(0.05)

    def cli(self, *args: str, check: bool = True) -> str:
        result = subprocess.run(
            ["redis-cli", "-p", str(self.port), *args], check=check, capture_output=True, text=True, timeout=10
        )
        return result.stdout

    def stop(self) -> None:
        if self.started:
            log("stopping the bench Redis")
            self.cli("shutdown", "nosave", check=False)
            self.started = False

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def pid(self) -> int:
        return int((OUT / "redis.pid").read_text().strip())


@dataclass
class HttpAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


def http_request(
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 30.0,
) -> HttpAnswer:
    """One request; 4xx and 5xx are answers, not exceptions (a refused connection raises)."""
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return HttpAnswer(answer.status, dict(answer.headers), answer.read())
    except urllib.error.HTTPError as error:
        return HttpAnswer(error.code, dict(error.headers), error.read())


@dataclass
class Gunicorn:
    """`gunicorn -c gunicorn_config.py APP` on `port`: Brisk (config.wsgi) or a reference app,
    with the same configuration file, so workers, threads and worker class are the same."""

    name: str
    app: str
    port: int
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return LOGS / f"gunicorn-{self.name}.log"

    def start(self, ready_paths: Sequence[str] = ("/healthz", "/programmes/"), timeout: float = 90) -> None:
        if port_is_open(self.port):
            raise RuntimeError(f"port {self.port} is taken: another server answers there")
        LOGS.mkdir(parents=True, exist_ok=True)
        log(f"starting {self.name}: gunicorn -c gunicorn_config.py {self.app} on :{self.port}")
        with self.log_path.open("wb") as handle:  # this run only
            self.process = subprocess.Popen(
                [str(VENV_BIN / "gunicorn"), "-c", "gunicorn_config.py", self.app],
                cwd=ROOT,
                env={**self.env, "GUNICORN_BIND": f"127.0.0.1:{self.port}"},
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            for path in ready_paths:
                try:
                    if http_request(self.base_url + path, timeout=30).status == 200:
                        return
                except OSError:
                    break  # not listening yet
            time.sleep(0.2)
        waited = " or ".join(ready_paths)
        raise RuntimeError(f"{self.name} did not answer {waited} in {timeout:.0f}s:\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        stop_all([self])


def stop_all(servers: Sequence[Gunicorn]) -> None:
    """Gunicorn's quick shutdown (SIGINT) for all at once, then SIGKILL to the process
    group (its own session: the master and its workers) of any still there after 15 s."""
    running = [server for server in servers if server.process is not None and server.process.poll() is None]
    for server in running:
        log(f"stopping {server.name}")
        assert server.process is not None
        server.process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 15
    for server in running:
        assert server.process is not None
        try:
            server.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()


def run_shown(command: Sequence[str], *, env: Mapping[str, str], timeout: float = 1800) -> None:
    """Runs `command` from the repository root; its output (progress bars too) goes to ours."""
    sys.stdout.flush()
    code = subprocess.run(list(command), cwd=ROOT, env=dict(env), timeout=timeout, check=False).returncode
    if code != 0:
        raise RuntimeError(f"{' '.join(command)} failed with exit code {code}")


def which_or_install(program: str, package: str) -> str:
    """The path of `program`. When it is missing: installed from Debian's packages if this
    runs as root (saying so first), else a RuntimeError naming the package to install."""
    found = shutil.which(program)
    if found:
        return found
    if os.geteuid() != 0:
        raise RuntimeError(f"{program} is missing: install it first (sudo apt-get install {package})")
    log(f"{program} is missing: installing Debian's {package} package (apt-get install -y {package})")
    if subprocess.run(["apt-get", "install", "-y", "-q", package], check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-q", package], check=True)
    found = shutil.which(program)
    if found is None:
        raise RuntimeError(f"{program} still missing after installing {package}")
    return found
