"""What the fault, fuzz and soak runs need beyond tests/liveserver.py: a private Redis they
may stop, pause and restart; a small HTTP client that keeps connections and never raises
for a status; a bounded load driver that records every answer; a sampler of worker memory
and PostgreSQL connections.

Everything here talks to 127.0.0.1 only and to processes it started itself. The shared
Redis (6379) and PostgreSQL (5432) are never touched.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import ssl
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from tests.liveserver import Gunicorn, PrivatePostgres, free_port, manage, production_env

# --- Redis -------------------------------------------------------------------------------


@dataclass
class PrivateRedis:
    """`redis-server` on a free port, in memory only, as a child of this process. It can be
    stopped (connections refused), restarted on the same port, and hung (SIGSTOP: the
    kernel still accepts connections, nothing answers)."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(default_factory=lambda: Path(tempfile.mkstemp(prefix="brisk-redis-", suffix=".log")[1]))

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self, timeout: float = 10.0) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("no redis-server on this machine")
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                    "--dir",
                    tempfile.gettempdir(),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}: {self.log.read_text()}")
            if self.ping():
                return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def ping(self) -> bool:
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        """SIGKILL: the port is closed at once, and new connections are refused."""
        if self.process is not None and self.process.poll() is None:
            self.resume()
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def pause(self) -> None:
        """SIGSTOP: connections are accepted by the kernel, no command is ever answered."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)

    def destroy(self) -> None:
        self.stop()
        self.log.unlink(missing_ok=True)


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    try:
        server.start()
        yield server
    finally:
        server.destroy()


# --- PostgreSQL ----------------------------------------------------------------------------


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


# --- HTTP ------------------------------------------------------------------------------------


@dataclass
class Answer:
    """One request as the client saw it: `status` 0 means no HTTP answer at all."""

    method: str
    path: str
    status: int
    seconds: float
    body: bytes = b""
    error: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    started: float = 0.0  # time.monotonic() when it was sent

    def json(self) -> Any:
        return json.loads(self.body)


# A connection idle this long is closed by the client, as the proxy in front of Gunicorn
# does (gunicorn_config.py: the proxy's idle timeout, 60 s, is below Gunicorn's keepalive,
# 75 s). A client that kept it longer would race Gunicorn closing it: the first soak run
# lost 3 requests of 53,149 that way ("Remote end closed connection without response").
PROXY_IDLE_TIMEOUT = 60.0


class Client:
    """One keep-alive connection to 127.0.0.1:port, reopened after any failure or after
    PROXY_IDLE_TIMEOUT idle. Not thread-safe: one per thread.

    `tls`: speak HTTPS with this context (nginx in tests/topology). `source`: the local
    address to connect from (another 127.x.y.z: a different client address for the
    server). `headers`: sent with every request."""

    def __init__(
        self,
        port: int,
        *,
        timeout: float = 15.0,
        token: str | None = None,
        tls: ssl.SSLContext | None = None,
        source: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.port = port
        self.timeout = timeout
        self.token = token
        self.tls = tls
        self.source = source
        self.headers = dict(headers or {})
        self._conn: http.client.HTTPConnection | None = None
        self._last_used = 0.0

    def _connect(self) -> http.client.HTTPConnection:
        source = (self.source, 0) if self.source else None
        if self.tls is not None:
            return http.client.HTTPSConnection(
                "127.0.0.1", self.port, timeout=self.timeout, context=self.tls, source_address=source
            )
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout, source_address=source)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method: str, path: str, body: Any = None, *, headers: Mapping[str, str] | None = None) -> Answer:
        sent = {"Accept": "application/json", **self.headers}
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        payload: bytes | None = None
        if body is not None:
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        start = time.monotonic()
        if self._conn is not None and start - self._last_used > PROXY_IDLE_TIMEOUT:
            self.close()
        try:
            if self._conn is None:
                self._conn = self._connect()
            self._conn.request(method, path, body=payload, headers=sent)
            response = self._conn.getresponse()
            data = response.read()
            answer = Answer(
                method, path, response.status, time.monotonic() - start, data, headers=dict(response.getheaders())
            )
            if response.will_close:
                self.close()
        except (OSError, http.client.HTTPException) as error:
            self.close()
            return Answer(method, path, 0, time.monotonic() - start, error=repr(error), started=start)
        self._last_used = time.monotonic()
        answer.started = start
        return answer

    def get(self, path: str, **kwargs: Any) -> Answer:
        return self.request("GET", path, **kwargs)


def get_once(port: int, path: str, **kwargs: Any) -> Answer:
    """One GET on a connection of its own, closed afterwards."""
    with Client(port, **kwargs) as client:
        return client.get(path)


def login(port: int, email: str, password: str) -> str:
    client = Client(port)
    try:
        answer = client.request("POST", "/auth/token/", {"email": email, "password": password})
    finally:
        client.close()
    assert answer.status == 200, (answer.status, answer.body)
    return str(answer.json()["access"])


STAFF = ("staff@brisk.local", "brisk-staff-demo")
STUDENT = ("student@brisk.local", "brisk-student-demo")
INSTRUCTOR = ("instructor@brisk.local", "brisk-instructor-demo")
# Every generated demo user shares this password (courses.demo_data).
LEARNER_PASSWORD = "brisk-learner-demo"


# --- Load ------------------------------------------------------------------------------------

Step = Callable[[Client, int], Answer]


@dataclass
class Load:
    """`threads` threads, each with its own Client, calling `step(client, i)` until `stop()`
    or `max_seconds`, or `max_requests` each. Every answer is kept, in order."""

    port: int
    step: Step
    threads: int = 4
    max_seconds: float = 60.0
    max_requests: int = 100_000
    pause: float = 0.0  # between two requests of one thread
    client_timeout: float = 15.0
    tokens: list[str | None] = field(default_factory=lambda: [None])
    client_options: dict[str, Any] = field(default_factory=dict)  # Client's tls, source, headers
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _run(self, index: int) -> None:
        client = Client(
            self.port, timeout=self.client_timeout, token=self.tokens[index % len(self.tokens)], **self.client_options
        )
        deadline = time.monotonic() + self.max_seconds
        try:
            for i in range(self.max_requests):
                if self._stop.is_set() or time.monotonic() > deadline:
                    break
                answer = self.step(client, index * self.max_requests + i)
                with self._lock:
                    self.answers.append(answer)
                if self.pause:
                    self._stop.wait(self.pause)
        finally:
            client.close()

    def start(self) -> Load:
        for index in range(self.threads):
            worker = threading.Thread(target=self._run, args=(index,), name=f"load-{index}", daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def stop(self) -> list[Answer]:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=self.client_timeout + 5)
        with self._lock:
            return list(self.answers)

    def __enter__(self) -> Load:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def between(self, start: float, end: float) -> list[Answer]:
        with self._lock:
            return [a for a in self.answers if start <= a.started < end]


def summary(answers: list[Answer]) -> str:
    """`{status: count}` and the slowest answer, for assertion messages."""
    statuses = Counter(a.status for a in answers)
    slowest = max(answers, key=lambda a: a.seconds, default=None)
    worst = f"slowest {slowest.seconds:.2f}s {slowest.method} {slowest.path}" if slowest else "no answers"
    errors = [
        f"{a.status} {a.method} {a.path} {a.error or a.body[:200]!r}" for a in answers if not 200 <= a.status < 400
    ]
    return f"{dict(statuses)}; {worst}; first errors: {errors[:5]}"


# --- Processes ------------------------------------------------------------------------------


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
    try:
        return {pid: rss_kib(pid) for pid in server.worker_pids()}
    except OSError:
        return {}


def gunicorn_env(base: Mapping[str, str], **extra: str) -> dict[str, str]:
    """A small Gunicorn for tests: 2 workers of 4 threads unless told otherwise."""
    env = {"GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "4", **base}
    env.update(extra)
    return env


@contextmanager
def running_gunicorn(env: Mapping[str, str]) -> Iterator[Gunicorn]:
    """Gunicorn started, and always stopped (its log is printed when the test fails)."""
    server = Gunicorn(dict(env))
    try:
        server.start(ready_timeout=60)
        yield server
    finally:
        log = server.log_text() if server.log.exists() else ""
        server.stop()
        print(log[-20_000:])


def kill_process_group(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


# --- Demo data ---------------------------------------------------------------------------------


def demo_learners(pg: PrivatePostgres, database: str, count: int) -> list[str]:
    """E-mails of generated students (password LEARNER_PASSWORD), lowest ids first."""
    rows = pg.psql(
        "SELECT email FROM accounts_user WHERE role = 'student' AND is_active AND email LIKE '%@demo.brisk.local' "
        f"ORDER BY id LIMIT {int(count)}",
        database,
    )
    return rows.splitlines()


def published_ids(port: int, path: str) -> list[int]:
    """Ids on the first page (up to 100) of a public list."""
    client = Client(port)
    try:
        answer = client.get(f"{path}?page_size=100")
    finally:
        client.close()
    assert answer.status == 200, (answer.status, answer.body[:300])
    return [row["id"] for row in answer.json()["results"]]
