"""The production topology on one machine, on loopback ports: what `make topology-up` starts.

    python -m deploy.topology up [--size small] [--home DIR]   # prints the state folder and URLs
    python -m deploy.topology status [--home DIR]
    python -m deploy.topology down [--home DIR]                # the last one brought up by default

Each on a free 127.0.0.1 port, each with its own data under one temporary folder:

- a PostgreSQL **primary** (initdb), with pg_stat_statements, a role `brisk` owning the
  database `brisk`, the timeouts set on the role (PgBouncer takes no startup options),
  migrated and seeded with `seed_demo`;
- a **streaming replica** made with `pg_basebackup -R` (hot standby);
- **PgBouncer** (transaction pooling) in front of the primary;
- **Redis**;
- **two Gunicorn instances** of Brisk, production settings: `DATABASE_URL` through
  PgBouncer (`DATABASE_PGBOUNCER=true`), `DATABASE_REPLICA_URL` on the replica directly
  (`DATABASE_REPLICA_PGBOUNCER=false`), the one Redis, `NUM_PROXIES=1`;
- **nginx** with `deploy/nginx.conf` included as it is (the two per-machine files it
  includes are written here), TLS with a self-signed certificate made at start.

tests/topology/ drives the same `Topology` class. PostgreSQL and Gunicorn are the test
harness's own classes (the `harness` package). Everything listens on
127.0.0.1 only; PostgreSQL and PgBouncer run as the `postgres` OS user when started as
root (both refuse root). `state.json` in the folder records every port and process, so
`down` can stop a topology that another process brought up.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import (
    ROOT,
    Gunicorn,
    PrivatePostgres,
    PrivateRedis,
    free_port,
    gunicorn_env,
    http_request,
    manage,
    postgres_bin_dir,
    production_env,
)

DEPLOY = Path(__file__).resolve().parent
NGINX_CONF = DEPLOY / "nginx.conf"
LAST_HOME = ROOT / ".topology"  # the folder of the last `up`, for `down` (git ignores it)
DATABASE = "brisk"
ROLE = "brisk"
# settings.base's DB_STATEMENT_TIMEOUT_MS and DB_IDLE_IN_TRANSACTION_TIMEOUT_MS, on the role.
ROLE_SETTINGS = {"statement_timeout": "10s", "idle_in_transaction_session_timeout": "20s"}
# Both servers: what a primary needs to stream to a hot standby, and per-statement counts
# that tell which server ran a read (the standby keeps its own).
POSTGRES_CONF = """
# --- deploy/topology.py
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = top
wal_level = replica
max_wal_senders = 10
wal_keep_size = '256MB'
hot_standby = on
hot_standby_feedback = on
"""


def log(message: str) -> None:
    print(f"[topology {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _as_postgres_user(path: Path) -> None:
    """PostgreSQL and PgBouncer run as `postgres` when we are root: they must own their files."""
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


def _alive(pid: int | None, needle: str) -> bool:
    """Whether `pid` is running and is ours (its command line holds `needle`): a pid from an
    old state file may belong to someone else by now."""
    if not pid:
        return False
    try:
        return needle in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False


def stop_pid(pid: int | None, needle: str, *, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
    """Signal our process `pid`, wait for it to go, then kill its process group."""
    if not _alive(pid, needle):
        return
    assert pid is not None
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid, needle):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap it when it is our child
        time.sleep(0.05)
    if _alive(pid, needle):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


def wait_for(what: str, check: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Exception):
            if check():
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not ready within {timeout:.0f}s")
        time.sleep(0.1)


# --- PostgreSQL ------------------------------------------------------------------------------


@dataclass
class ReplicaPostgres(PrivatePostgres):
    """A hot standby of `primary`: `pg_basebackup -R` instead of initdb."""

    def init_from(self, primary: PrivatePostgres) -> None:
        _as_postgres_user(self.datadir)
        self._run(
            "pg_basebackup",
            *("-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"),
            *("-D", str(self.datadir / "data"), "-R", "-X", "stream", "-c", "fast", "--no-sync"),
        )

    def in_recovery(self) -> bool:
        return self.psql("SELECT pg_is_in_recovery()") == "t"


# --- PgBouncer -------------------------------------------------------------------------------


@dataclass
class PgBouncer:
    """PgBouncer in transaction mode in front of one PostgreSQL, as a child process."""

    home: Path
    server_port: int
    port: int = field(default_factory=free_port)
    pid: int | None = None
    process: subprocess.Popen[bytes] | None = None
    # A query waits this long for a server connection (a server restarting): below
    # Gunicorn's timeout (30 s), above a planned restart of PostgreSQL.
    query_wait_timeout: int = 10

    @property
    def ini(self) -> Path:
        return self.home / "pgbouncer.ini"

    @property
    def log(self) -> Path:
        return self.home / "pgbouncer.log"

    def url(self, database: str = DATABASE, user: str = ROLE) -> str:
        return f"postgres://{user}@127.0.0.1:{self.port}/{database}"

    def write_config(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "userlist.txt").write_text(f'"{ROLE}" ""\n"postgres" ""\n')
        self.ini.write_text(
            f"""[databases]
{DATABASE} = host=127.0.0.1 port={self.server_port} dbname={DATABASE}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
; Also the way `pgbouncer -R` (online restart) reaches the running process.
unix_socket_dir = {self.home}
auth_type = trust
auth_file = {self.home / "userlist.txt"}
admin_users = postgres
pool_mode = transaction
; Brisk connects per request behind PgBouncer (CONN_MAX_AGE=0): many short client connections.
max_client_conn = 1000
default_pool_size = 20
reserve_pool_size = 0
server_connect_timeout = 3
server_login_retry = 0.5
query_wait_timeout = {self.query_wait_timeout}
ignore_startup_parameters = extra_float_digits
log_connections = 0
log_disconnections = 0
logfile = {self.log}
"""
        )
        for path in (self.home, self.ini, self.home / "userlist.txt"):
            _as_postgres_user(path)

    def start(self, timeout: float = 15.0, *, takeover: bool = False) -> None:
        """`takeover`: `pgbouncer -R`, an online restart: the new process takes the listening
        socket and every client and server connection from the running one, which exits."""
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        as_root = os.geteuid() == 0
        self.process = subprocess.Popen(
            [binary, *(["-R"] if takeover else []), str(self.ini)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            user="postgres" if as_root else None,
            group="postgres" if as_root else None,
        )
        self.pid = self.process.pid
        wait_for("PgBouncer", lambda: self.admin("SHOW VERSION") is not None, timeout)

    def stop(self) -> None:
        """SIGINT: PgBouncer's safe shutdown (waits for transactions in flight to end)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        else:
            stop_pid(self.pid, "pgbouncer", sig=signal.SIGINT)
        self.process = None

    def restart(self, *, online: bool = True) -> None:
        """Online (`-R`): no client sees it. Otherwise stop, then start: clients connecting
        in between are refused (Brisk answers 503, and the client retries)."""
        if not online:
            self.stop()
            self.start()
            return
        previous = self.process
        self.start(takeover=True)
        if previous is not None:
            previous.wait(timeout=15)

    def admin(self, command: str) -> str:
        """One command on PgBouncer's admin console (SHOW POOLS, PAUSE brisk, RESUME...)."""
        psql = postgres_bin_dir()
        binary = str(psql / "psql") if psql else "psql"
        result = subprocess.run(
            [
                binary,
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                "pgbouncer",
                "-At",
                "-c",
                command,
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return result.stdout.strip()


# --- nginx -----------------------------------------------------------------------------------


@dataclass
class Nginx:
    """nginx with deploy/nginx.conf included as it is; TLS with a self-signed certificate."""

    home: Path
    upstreams: list[int]
    port: int = field(default_factory=free_port)
    pid: int | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def cert(self) -> Path:
        return self.home / "cert.pem"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def tls_context(self) -> ssl.SSLContext:
        """A client context that trusts this topology's certificate (and only it)."""
        return ssl.create_default_context(cafile=str(self.cert))

    def write_config(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        key = self.home / "key.pem"
        if not self.cert.exists():
            subprocess.run(
                [
                    "openssl",
                    *("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"),
                    *("-keyout", str(key), "-out", str(self.cert), "-days", "7", "-subj", "/CN=127.0.0.1"),
                    *("-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
                ],
                check=True,
                capture_output=True,
                timeout=30,
            )
        # The two per-machine files that deploy/nginx.conf includes.
        (self.home / "brisk-upstreams.conf").write_text(
            "".join(f"server 127.0.0.1:{port};\n" for port in self.upstreams)
        )
        (self.home / "brisk-listen.conf").write_text(
            f"listen 127.0.0.1:{self.port} ssl;\n"
            "server_name 127.0.0.1 localhost;\n"
            f"ssl_certificate {self.cert};\n"
            f"ssl_certificate_key {key};\n"
        )
        temp = self.home / "temp"
        (self.home / "nginx.conf").write_text(
            f"""# Written by deploy/topology.py: the process settings of this machine, then
# deploy/nginx.conf as it is.
daemon off;
worker_processes 2;
pid {self.home / "nginx.pid"};
error_log {self.home / "error.log"} warn;
events {{ worker_connections 1024; }}
http {{
    access_log {self.home / "access.log"} combined buffer=64k flush=1s;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {NGINX_CONF};
}}
"""
        )
        temp.mkdir(exist_ok=True)

    def _command(self, *extra: str) -> list[str]:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        conf = self.home / "nginx.conf"
        return [binary, "-p", str(self.home), "-c", str(conf), "-e", str(self.home / "error.log"), *extra]

    def check_config(self) -> None:
        result = subprocess.run(self._command("-t"), capture_output=True, text=True, timeout=30, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"nginx -t failed:\n{result.stderr}")

    def start(self, timeout: float = 15.0) -> None:
        self.check_config()
        self.process = subprocess.Popen(
            self._command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        self.pid = self.process.pid
        context = self.tls_context()
        wait_for("nginx", lambda: http_request(self.url + "/healthz", timeout=2, tls=context).status == 200, timeout)

    def stop(self) -> None:
        """SIGQUIT: graceful, requests in flight finish."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        else:
            stop_pid(self.pid, "nginx", sig=signal.SIGQUIT)
        self.process = None


# --- The whole topology ---------------------------------------------------------------------


@dataclass
class Topology:
    home: Path
    primary: PrivatePostgres
    replica: ReplicaPostgres
    pgbouncer: PgBouncer
    redis: PrivateRedis
    instances: list[Gunicorn]
    nginx: Nginx
    secret_key: str
    # Process ids from state.json, for a topology that another process started.
    recorded: dict[str, Any] = field(default_factory=dict)

    # --- starting and stopping

    @classmethod
    def up(
        cls,
        *,
        home: Path | None = None,
        seed_args: tuple[str, ...] = ("--size", "small"),
        instance_env: Mapping[str, str] | None = None,
        instances: int = 2,
    ) -> Topology:
        """Start everything; on any failure, stop what was started and raise."""
        bin_dir = postgres_bin_dir()
        if bin_dir is None:
            raise RuntimeError("no PostgreSQL server binaries (initdb): apt-get install postgresql")
        for program in ("pgbouncer", "nginx", "openssl", "redis-server"):
            if shutil.which(program) is None and not Path(f"/usr/sbin/{program}").exists():
                raise RuntimeError(f"{program} is not installed: apt-get install {program}")
        home = home or Path(tempfile.mkdtemp(prefix="brisk-topology-"))
        home.mkdir(parents=True, exist_ok=True)
        home.chmod(0o755)  # postgres (and nginx's workers) must reach their folders
        started = time.monotonic()
        primary = PrivatePostgres(bin_dir, datadir=home / "primary")
        replica = ReplicaPostgres(bin_dir, datadir=home / "replica")
        for server in (primary, replica):
            server.datadir.mkdir()
        pgbouncer = PgBouncer(home / "pgbouncer", server_port=primary.port)
        redis = PrivateRedis(log=home / "redis.log")
        ports = [free_port() for _ in range(instances)]
        topology = cls(
            home=home,
            primary=primary,
            replica=replica,
            pgbouncer=pgbouncer,
            redis=redis,
            instances=[],
            nginx=Nginx(home / "nginx", upstreams=ports),
            secret_key=secrets.token_urlsafe(60),
        )
        try:
            topology._start_primary(seed_args)
            log(f"replica: pg_basebackup -R from {primary.port}")
            replica.init_from(primary)
            replica.start()
            wait_for("replica in recovery", replica.in_recovery)
            pgbouncer.write_config()
            pgbouncer.start()
            redis.start()
            env = topology.instance_env(**dict(instance_env or {}))
            for index, port in enumerate(ports, 1):
                instance = Gunicorn(env, port=port, log=home / f"gunicorn-{index}.log")
                topology.instances.append(instance)
                instance.start(ready_timeout=60)
            topology.nginx.write_config()
            topology.nginx.start()
            topology.write_state()
        except BaseException:
            topology.down(remove=False)
            raise
        log(f"up in {time.monotonic() - started:.0f}s")
        return topology

    def _start_primary(self, seed_args: tuple[str, ...]) -> None:
        primary = self.primary
        log(f"primary: initdb in {primary.datadir}")
        primary.init()
        with (primary.datadir / "data" / "postgresql.conf").open("a") as conf:
            conf.write(POSTGRES_CONF)
        primary.start()
        primary.psql(f"CREATE ROLE {ROLE} LOGIN")
        for name, value in ROLE_SETTINGS.items():
            primary.psql(f"ALTER ROLE {ROLE} SET {name} = '{value}'")
        primary.psql(f"CREATE DATABASE {DATABASE} OWNER {ROLE}")
        primary.psql("CREATE EXTENSION pg_stat_statements", DATABASE)
        # Migrations and seeding on the primary directly, with no statement timeout (the
        # startup option wins over the role's setting).
        env = production_env(primary.url(DATABASE).replace("postgres@", f"{ROLE}@"), DB_STATEMENT_TIMEOUT_MS="0")
        log("migrate")
        manage(env, "migrate", "--noinput", timeout=600)
        log(f"seed_demo {' '.join(seed_args)}")
        manage(env, "seed_demo", *seed_args, timeout=1800)
        primary.psql("VACUUM ANALYZE", DATABASE)

    def instance_env(self, **extra: str) -> dict[str, str]:
        """The environment of every Brisk instance: production settings, one SECRET_KEY (a
        token from one instance is valid on the other), PgBouncer, the replica, Redis."""
        return gunicorn_env(
            production_env(
                self.pgbouncer.url(),
                SECRET_KEY=self.secret_key,
                DATABASE_PGBOUNCER="true",
                DATABASE_REPLICA_URL=f"postgres://{ROLE}@127.0.0.1:{self.replica.port}/{DATABASE}",
                DATABASE_REPLICA_PGBOUNCER="false",
                REDIS_URL=self.redis.url(0),
                NUM_PROXIES="1",
                SECURE_SSL_REDIRECT="true",  # production's default: TLS ends at nginx
            ),
            **extra,
        )

    def down(self, *, remove: bool = True) -> None:
        """Stop everything (nginx first, PostgreSQL last) and remove the folder."""
        steps = [
            self.nginx.stop,
            self._stop_instances,
            self.pgbouncer.stop,
            self._stop_redis,
            lambda: _pg_stop(self.replica),
            lambda: _pg_stop(self.primary),
        ]
        for step in steps:
            began = time.monotonic()
            try:
                step()
            except Exception as error:  # stop the rest whatever happens
                log(f"while stopping: {error!r}")
            if time.monotonic() - began > 3:
                log(f"stopping took {time.monotonic() - began:.1f}s: {getattr(step, '__name__', 'a step')}")
        if remove:
            shutil.rmtree(self.home, ignore_errors=True)
            if LAST_HOME.exists() and LAST_HOME.read_text().strip() == str(self.home):
                LAST_HOME.unlink()

    def _stop_instances(self) -> None:
        """All at once: each drains its requests in flight (graceful_timeout) on its own."""
        threads = [threading.Thread(target=self._stop_instance(instance)) for instance in self.instances]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    def _stop_instance(self, instance: Gunicorn) -> Any:
        def stop() -> None:
            if instance.process is not None:
                instance.stop()
            else:
                stop_pid(self.recorded.get(f"gunicorn:{instance.port}"), "gunicorn")

        return stop

    def _stop_redis(self) -> None:
        if self.redis.process is not None:
            self.redis.stop()
        else:
            stop_pid(self.recorded.get("redis"), "redis-server", sig=signal.SIGKILL)

    # --- state

    def state(self) -> dict[str, Any]:
        redis_pid = self.redis.process.pid if self.redis.process else self.recorded.get("redis")
        nginx, primary, replica = self.nginx, self.primary, self.replica
        return {
            "home": str(self.home),
            "nginx": {"url": self.nginx.url, "port": self.nginx.port, "pid": self.nginx.pid, "cert": str(nginx.cert)},
            "instances": [
                {"url": i.base_url, "port": i.port, "pid": i.process.pid if i.process else None} for i in self.instances
            ],
            "pgbouncer": {"url": self.pgbouncer.url(), "port": self.pgbouncer.port, "pid": self.pgbouncer.pid},
            "primary": {"url": primary.url(DATABASE), "port": primary.port, "datadir": str(primary.datadir)},
            "replica": {"url": replica.url(DATABASE), "port": replica.port, "datadir": str(replica.datadir)},
            "redis": {"url": self.redis.url(0), "port": self.redis.port, "pid": redis_pid},
            "secret_key": self.secret_key,
        }

    def write_state(self) -> None:
        path = self.home / "state.json"
        path.write_text(json.dumps(self.state(), indent=2))
        path.chmod(0o600)  # the SECRET_KEY

    @classmethod
    def load(cls, home: Path) -> Topology:
        """A topology brought up by another process, from its state.json (to stop it)."""
        state = json.loads((home / "state.json").read_text())
        bin_dir = postgres_bin_dir()
        assert bin_dir is not None
        topology = cls(
            home=home,
            primary=PrivatePostgres(bin_dir, port=state["primary"]["port"], datadir=Path(state["primary"]["datadir"])),
            replica=ReplicaPostgres(bin_dir, port=state["replica"]["port"], datadir=Path(state["replica"]["datadir"])),
            pgbouncer=PgBouncer(
                home / "pgbouncer", server_port=state["primary"]["port"], port=state["pgbouncer"]["port"]
            ),
            redis=PrivateRedis(port=state["redis"]["port"], log=home / "redis.log"),
            instances=[],
            nginx=Nginx(home / "nginx", upstreams=[i["port"] for i in state["instances"]], port=state["nginx"]["port"]),
            secret_key=state["secret_key"],
        )
        topology.pgbouncer.pid = state["pgbouncer"]["pid"]
        topology.nginx.pid = state["nginx"]["pid"]
        topology.recorded["redis"] = state["redis"]["pid"]
        for item in state["instances"]:
            topology.instances.append(Gunicorn({}, port=item["port"], log=home / f"gunicorn-{item['port']}.log"))
            topology.recorded[f"gunicorn:{item['port']}"] = item["pid"]
        return topology

    # --- helpers for tests and the bench

    def tokens(self, emails: list[str]) -> dict[str, str]:
        """Access tokens for these users, made by the application's own code (the same
        claims as POST /auth/token/ gives), without hashing a password for each."""
        script = (
            "import json, sys\n"
            "from accounts.models import User\n"
            "from accounts.serializers import TokenObtainSerializer\n"
            "emails = json.loads(sys.argv[-1])\n"
            "users = {u.email: u for u in User.objects.filter(email__in=emails)}\n"
            "print(json.dumps({e: str(TokenObtainSerializer.get_token(users[e]).access_token) for e in emails}))\n"
        )
        env = self.instance_env()
        result = subprocess.run(
            [sys.executable, "-c", "import django; django.setup(); exec(open(0).read())", json.dumps(emails)],
            input=script,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return dict(json.loads(result.stdout.strip().splitlines()[-1]))

    def restart_primary(self) -> None:
        """A planned restart of PostgreSQL behind PgBouncer: PAUSE (transactions in flight
        finish, PgBouncer closes its server connections, new queries wait in PgBouncer up to
        query_wait_timeout), restart, RESUME. Clients see a slower answer, not an error."""
        self.pgbouncer.admin(f"PAUSE {DATABASE}")
        try:
            self.primary.restart()
        finally:
            self.pgbouncer.admin(f"RESUME {DATABASE}")

    def replica_caught_up(self, timeout: float = 30.0) -> None:
        """Wait until the replica has replayed everything the primary has written so far."""
        target = self.primary.psql("SELECT pg_current_wal_lsn()")
        wait_for(
            "replica replay",
            lambda: self.replica.psql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn") == "t",
            timeout,
        )


def _pg_stop(server: PrivatePostgres) -> None:
    if (server.datadir / "data" / "postmaster.pid").exists():
        server.stop()


# --- Command line ----------------------------------------------------------------------------


def _home_argument(value: str | None) -> Path:
    if value:
        return Path(value)
    if not LAST_HOME.exists():
        raise SystemExit("no topology recorded in .topology: pass --home DIR")
    return Path(LAST_HOME.read_text().strip())


def describe(state: dict[str, Any]) -> str:
    home = state["home"]
    lines = [
        f"state folder: {home}  (state.json, logs: nginx/, gunicorn-N.log, pgbouncer/, primary/, replica/)",
        f"nginx (TLS, self-signed): {state['nginx']['url']}",
        f"    curl --cacert {state['nginx']['cert']} '{state['nginx']['url']}/programmes/?page_size=3'",
        "instances: " + "  ".join(i["url"] for i in state["instances"]),
        f"PgBouncer: {state['pgbouncer']['url']}"
        f"   (admin console: psql -h 127.0.0.1 -p {state['pgbouncer']['port']} -U postgres pgbouncer)",
        f"primary: {state['primary']['url']}   replica: {state['replica']['url']}",
        f"Redis: {state['redis']['url']}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--home", help="the state folder (default: a new temporary one for up, the last one otherwise)")
    parser.add_argument("--size", default="small", help="seed_demo --size (default small)")
    args = parser.parse_args(argv)
    if args.command == "up":
        topology = Topology.up(home=Path(args.home) if args.home else None, seed_args=("--size", args.size))
        LAST_HOME.write_text(f"{topology.home}\n")
        print(describe(topology.state()))
        print("stop it with: make topology-down")
        return 0
    home = _home_argument(args.home)
    if args.command == "status":
        print(describe(json.loads((home / "state.json").read_text())))
        return 0
    Topology.load(home).down()
    print(f"topology in {home} stopped and removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
