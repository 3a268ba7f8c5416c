"""A private Redis: `redis-server` in memory only, on its own port, as a child of this
process. The shared Redis (6379) is never touched."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis

from harness.base import free_port, logger, port_is_open, tail


@dataclass
class PrivateRedis:
    """`redis-server` on 127.0.0.1:`port`. It can be stopped (connections refused),
    restarted on the same port, and hung (SIGSTOP: the kernel still accepts connections,
    nothing answers).

    `log` is a temporary file removed by destroy(), unless given. With a `pidfile`, a
    server left running on `port` by an interrupted run (its pid file is there) is shut
    down before the start."""

    port: int = field(default_factory=free_port)
    log: Path | None = None
    pidfile: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    _temporary_log: bool = False

    def __post_init__(self) -> None:
        if self.log is None:
            handle, path = tempfile.mkstemp(prefix="brisk-redis-", suffix=".log")
            os.close(handle)
            self.log, self._temporary_log = Path(path), True

    @property
    def log_path(self) -> Path:
        assert self.log is not None
        return self.log

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self, timeout: float = 10.0) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("no redis-server on this machine: apt-get install redis-server")
        if self.pidfile is not None and self.pidfile.exists() and port_is_open(self.port):
            logger.info(f"stopping the Redis left running on :{self.port} by an earlier run")
            self.cli("shutdown", "nosave", check=False)
            time.sleep(0.5)
        if port_is_open(self.port):
            raise RuntimeError(f"port {self.port} is taken by another server")
        logger.info(f"starting Redis on 127.0.0.1:{self.port}")
        command = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        command += ["--daemonize", "no", "--dir", tempfile.gettempdir()]
        if self.pidfile is not None:
            self.pidfile.parent.mkdir(parents=True, exist_ok=True)
            command += ["--pidfile", str(self.pidfile)]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}: {tail(self.log_path)}")
            if self.ping():
                return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer on port {self.port}: {tail(self.log_path)}")

    def ping(self) -> bool:
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def cli(self, *args: str, check: bool = True) -> str:
        """`redis-cli ARGS` against this server; its output."""
        result = subprocess.run(
            ["redis-cli", "-p", str(self.port), *args], check=check, capture_output=True, text=True, timeout=10
        )
        return result.stdout

    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        """SIGKILL: the port is closed at once, and new connections are refused."""
        if self.process is not None and self.process.poll() is None:
            logger.info(f"stopping Redis on 127.0.0.1:{self.port}")
            self.resume()
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None
        if self.pidfile is not None:
            self.pidfile.unlink(missing_ok=True)

    def pause(self) -> None:
        """SIGSTOP: connections are accepted by the kernel, no command is ever answered."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)

    def destroy(self) -> None:
        """Stopped, and its temporary log removed."""
        self.stop()
        if self._temporary_log:
            self.log_path.unlink(missing_ok=True)


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    """A started private Redis, stopped afterwards. RuntimeError without redis-server."""
    server = PrivateRedis()
    try:
        server.start()
        yield server
    finally:
        server.destroy()
