"""Brisk as production runs it: `gunicorn -c gunicorn_config.py APP` with the production
settings (plain HTTP: TLS ends at the proxy in front, which the tests and the bench play),
and `manage.py` commands with the same environment."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from harness.base import ROOT, free_port, logger, port_is_open, tail
from harness.http import Answer, http_request

# Variables of the caller's environment a production-like server must not inherit: the
# shared services, the settings module, and the settings each caller sets itself.
NOT_INHERITED = ("DATABASE_", "REDIS_", "CATALOGUE_", "DJANGO_", "SECURE_", "THROTTLE_", "JWT_", "GUNICORN_BIND")


def production_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a production container pointed at `database_url`, minus TLS, with
    a fresh SECRET_KEY; `extra` (REDIS_URL, GUNICORN_WORKERS...) added or overriding."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(NOT_INHERITED)}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DATABASE_URL=database_url,
        SECRET_KEY=secrets.token_urlsafe(60),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def manage(
    env: Mapping[str, str], *args: str, timeout: float = 120, show: bool = False
) -> subprocess.CompletedProcess[str]:
    """`manage.py ARGS` in a subprocess with `env`; its output captured, or with `show`
    passed on to ours (progress bars). CalledProcessError when it fails."""
    sys.stdout.flush()
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=dict(env),
        check=True,
        capture_output=not show,
        text=True,
        timeout=timeout,
    )


def gunicorn_env(base: Mapping[str, str], **extra: str) -> dict[str, str]:
    """A small Gunicorn for tests: 2 workers of 4 threads unless told otherwise."""
    env = {"GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "4", **base}
    env.update(extra)
    return env


@dataclass
class Gunicorn:
    """`gunicorn -c gunicorn_config.py APP` on 127.0.0.1:`port`, in a session of its own,
    logging to `log` (a temporary file, removed by stop(), unless given).

    `app` is Brisk (config.wsgi) or a reference app of the bench, with the same
    configuration file. stop() sends `stop_signal`: SIGTERM, graceful (requests in flight
    finish), or SIGINT, Gunicorn's quick shutdown."""

    env: dict[str, str]
    port: int = field(default_factory=free_port)
    app: str = "config.wsgi"
    name: str = "gunicorn"
    log: Path | None = None
    stop_signal: int = signal.SIGTERM
    process: subprocess.Popen[bytes] | None = None
    _temporary_log: bool = False

    def __post_init__(self) -> None:
        if self.log is None:
            handle, path = tempfile.mkstemp(prefix="brisk-gunicorn-", suffix=".log")
            os.close(handle)
            self.log, self._temporary_log = Path(path), True

    @property
    def log_path(self) -> Path:
        assert self.log is not None
        return self.log

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_timeout: float = 90.0, ready_paths: Sequence[str] = ("/healthz",)) -> None:
        """Started, and answering 200 on one of `ready_paths`; RuntimeError with the end of
        its log otherwise."""
        if port_is_open(self.port):
            raise RuntimeError(f"port {self.port} is taken: another server answers there")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        logger.info(f"starting {self.name}: gunicorn -c gunicorn_config.py {self.app} on :{self.port}")
        with self.log_path.open("wb") as handle:  # this run only
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "gunicorn_config.py", self.app],
                cwd=ROOT,
                env={**self.env, "GUNICORN_BIND": f"127.0.0.1:{self.port}"},
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            if any(self.get(path, timeout=30).status == 200 for path in ready_paths):
                return
            time.sleep(0.1)
        waited = " or ".join(ready_paths)
        raise RuntimeError(f"{self.name} did not answer {waited} within {ready_timeout:.0f}s:\n{self.log_tail()}")

    def get(self, path: str, *, timeout: float = 15.0, headers: Mapping[str, str] | None = None) -> Answer:
        """One GET on a connection of its own; status 0 when nothing answered."""
        return http_request(self.base_url + path, timeout=timeout, headers=headers)

    def worker_pids(self) -> set[int]:
        """The master's children now (empty when it is not running)."""
        if self.process is None:
            return set()
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return {int(pid) for pid in children.read_text().split()}
        except OSError:
            return set()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 30) -> str:
        return tail(self.log_path, lines)

    def stop(self) -> None:
        stop_all([self])


def stop_all(servers: Sequence[Gunicorn], timeout: float = 30) -> None:
    """Each server's stop_signal to all of them at once, then SIGKILL to the process group
    (the master and its workers) of any still there after `timeout`. Temporary logs are
    removed."""
    running = [server for server in servers if server.process is not None and server.process.poll() is None]
    for server in running:
        assert server.process is not None
        logger.info(f"stopping {server.name} on :{server.port}")
        server.process.send_signal(server.stop_signal)
    deadline = time.monotonic() + timeout
    for server in running:
        assert server.process is not None
        try:
            server.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            kill_process_group(server.process)
    for server in servers:
        if server._temporary_log:
            server.log_path.unlink(missing_ok=True)


@contextmanager
def gunicorn(env: dict[str, str]) -> Iterator[Gunicorn]:
    """A started Brisk Gunicorn, stopped afterwards."""
    server = Gunicorn(env)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@contextmanager
def running_gunicorn(env: Mapping[str, str]) -> Iterator[Gunicorn]:
    """Gunicorn started, and always stopped; its log is printed (pytest shows it when the
    test fails)."""
    server = Gunicorn(dict(env))
    try:
        server.start(ready_timeout=60)
        yield server
    finally:
        log = server.log_text()
        server.stop()
        print(log[-20_000:])


def kill_process_group(process: subprocess.Popen[bytes] | None) -> None:
    """SIGKILL to the process's group (its session: a Gunicorn master and its workers)."""
    if process is not None and process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def rss_kib(pid: int) -> int:
    """Resident memory of one process, KiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def worker_rss_kib(server: Gunicorn) -> dict[int, int]:
    """Resident memory of each worker, KiB."""
    return {pid: rss_kib(pid) for pid in server.worker_pids()}
