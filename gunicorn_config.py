"""Gunicorn settings: `gunicorn -c gunicorn_config.py config.wsgi`.

Every value comes from a GUNICORN_* environment variable with a default that fits one
container on a small machine. The worker class and thread count were chosen by measuring
(bench/serving.md); the timeouts are one link of the deadline chain written out in
docs/production.md: proxy read timeout (60 s) > Gunicorn `timeout` (30 s) > PostgreSQL
statement_timeout (10 s) > connect timeouts (3 s) > Redis socket timeouts (0.2 s).
"""

import glob
import os
import shutil
import tempfile
from typing import Any


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def _cores() -> int:
    # The cores this process may run on (a CPU-pinned container sees its own share).
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# All interfaces: in a container the proxy reaches it from outside; the port is not public.
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Threads, not more processes: a request spends most of its time waiting on PostgreSQL
# and Redis, and threads wait in parallel for a fraction of a process's memory; gthread
# also keeps idle keep-alive connections off the workers (measured: bench/serving.md).
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
# One process per core plus one, so a core is never idle while a process is in a GC pause.
workers = _int("GUNICORN_WORKERS", _cores() + 1)
# PostgreSQL connections = workers x threads (one per thread, persistent or pooled): keep
# that product below max_connections with room for migrations and psql. (Gunicorn turns
# a "sync" worker with more than one thread into gthread, so sync defaults to one.)
threads = _int("GUNICORN_THREADS", 4 if worker_class == "gthread" else 1)
# A worker silent for this long is killed. Above every deadline below it, so a slow query
# ends as a 503 from Django long before; below the proxy's read timeout, so the proxy
# never answers 504 for a request Gunicorn still owns.
timeout = _int("GUNICORN_TIMEOUT", 30)
# On SIGTERM (deploys), in-flight requests get this long to finish: more than the
# statement_timeout, less than the orchestrator's kill delay (compose: stop_grace_period).
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 25)
# Idle keep-alive connections stay open longer than the proxy's own idle timeout (nginx
# upstream and cloud load balancers use 60 s), so the proxy, not Gunicorn, closes them and
# never reuses one Gunicorn has just closed (a 502). Gunicorn's docs advise a higher value
# behind a load balancer. Only gthread keeps connections alive; sync workers ignore this.
keepalive = _int("GUNICORN_KEEPALIVE", 75)
# Recycle a worker after this many requests, bounding the memory any leak can take; the
# jitter spreads the restarts so the workers do not all restart at once.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)
# Import Django once in the master, then fork: faster worker (re)starts, shared memory, and
# a broken settings file fails the start instead of every worker in a loop. No database
# connection is opened at import, so none is shared across the fork.
preload_app = _bool("GUNICORN_PRELOAD", True)
# The workers' heartbeat files: in memory, because a container's /tmp on an overlay
# filesystem can block the heartbeat and get healthy workers killed.
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR", "/dev/shm" if os.path.isdir("/dev/shm") else None)
# Access log on stdout, one line per request with its duration (ms) and request id (set by
# core.middleware.RequestIDMiddleware), to join it to the application's log lines.
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
access_log_format = os.environ.get(
    "GUNICORN_ACCESS_LOG_FORMAT",
    '%(h)s "%(r)s" %(s)s %(b)s duration_ms=%(M)s request_id=%({x-request-id}o)s',
)
errorlog = os.environ.get("GUNICORN_ERRORLOG", "-")
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# Only these addresses may tell Gunicorn the request came over HTTPS (X-Forwarded-Proto).
# In a container set it to the proxy's address, or "*" when only the proxy can connect.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# Gunicorn's control socket (gunicornc) is off unless a path is given: one fixed default
# path would be shared, and fought over, by every Gunicorn of the same user on a host.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True

# Warm-up (config/warmup.py): the URL resolver, every serializer's fields and the OpenAPI
# schema are built in the master before it forks, so every worker, restarts included,
# inherits them; each worker then opens its database connection per thread before it
# serves. The first request of a new worker then costs what later ones do (measured:
# bench/first_request.py). GUNICORN_WARMUP=false turns it off.
warmup = _bool("GUNICORN_WARMUP", True)


def when_ready(server: object) -> None:
    if warmup and preload_app:
        from config.warmup import warm_process

        server.log.info("warm-up in the master (ms): %s", warm_process())  # type: ignore[attr-defined]


def post_worker_init(worker: object) -> None:
    if warmup:
        from config.warmup import warm_worker

        worker.log.info("warm-up of worker %s (ms): %s", worker.pid, warm_worker(worker))  # type: ignore[attr-defined]


# --- Prometheus (core.metrics) ---------------------------------------------------------------
# Each worker writes its metrics to files in PROMETHEUS_MULTIPROC_DIR (prometheus-client's
# multiprocess mode) and a scrape adds them up. The directory belongs to this server: set
# before the application (and prometheus_client) is imported, emptied at start (values of a
# previous run would be added in), made in memory when not given, and removed at exit if
# made here. A dead worker's live gauges are removed in child_exit; its counters stay, so
# totals never go backwards.
def _metrics_dir() -> tuple[str, bool]:
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if not given:
        made = tempfile.mkdtemp(prefix="brisk-metrics-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
        return made, True
    os.makedirs(given, exist_ok=True)
    for stale in glob.glob(os.path.join(given, "*.db")):
        os.remove(stale)
    return given, False


metrics_dir, _metrics_dir_made_here = _metrics_dir()


def child_exit(server: Any, worker: Any) -> None:
    """In the master, for every worker that exited (and is replaced while serving)."""
    from prometheus_client import multiprocess

    from core.metrics import WORKER_RESTARTS

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
    WORKER_RESTARTS.inc()


def on_exit(server: Any) -> None:
    if _metrics_dir_made_here:
        shutil.rmtree(metrics_dir, ignore_errors=True)
