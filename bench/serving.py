"""Serving benchmark: Gunicorn worker classes and PostgreSQL connection reuse.

    .venv/bin/python -m bench.serving [--seconds 8] [--rounds 3] [--clients 16]
    .venv/bin/python -m bench.serving --outage 20

Starts a private PostgreSQL (harness/postgres.py; the shared one is never touched),
migrates it and fills it with a small demo data set (`seed_demo`: 60 programmes, 240
courses, 100 users, 4,800 enrollments), then starts one Gunicorn
(`gunicorn -c gunicorn_config.py config.wsgi`, production settings) per configuration and
runs `wrk` (`apt-get install wrk`) against GET /healthz and GET /programmes/. The rounds
are interleaved (every configuration once per round) so that a change in the machine's
background load hits all of them alike; the table shows the median round. The catalogue
cache is off, so every /programmes/ request reaches PostgreSQL. `--outage N` instead
stops PostgreSQL for N seconds under each connection mode. Prints Markdown for
bench/serving.md.
"""

import argparse
import datetime
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import Gunicorn, PrivatePostgres, manage, private_postgres, production_env

# The size the tables of bench/serving.md were measured at: 4 courses a programme, 20
# enrollments a course.
SEED = ("--programmes", "60", "--courses", "240", "--users", "100", "--enrollments", "4800", "--no-progress")

GTHREAD_3X4 = {"GUNICORN_WORKER_CLASS": "gthread", "GUNICORN_WORKERS": "3", "GUNICORN_THREADS": "4"}
# name -> (label, environment overrides)
SERVERS = {
    "sync5": (
        "sync, 5 workers (2 x cores + 1)",
        {"GUNICORN_WORKER_CLASS": "sync", "GUNICORN_WORKERS": "5", "GUNICORN_THREADS": "1"},
    ),
    "gthread3x4": ("gthread, 3 workers x 4 threads", GTHREAD_3X4),
    "gthread2x8": (
        "gthread, 2 workers x 8 threads",
        {"GUNICORN_WORKER_CLASS": "gthread", "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "8"},
    ),
    "cma0": ("gthread 3 x 4, CONN_MAX_AGE=0 (a connection per request)", {**GTHREAD_3X4, "CONN_MAX_AGE": "0"}),
    "pool": ("gthread 3 x 4, psycopg pool (max_size 4 per worker)", {**GTHREAD_3X4, "DB_POOL": "true"}),
}
WORKER_TABLE = [(name, path) for name in ("sync5", "gthread3x4", "gthread2x8") for path in ("/healthz", "/programmes/")]
CONNECTION_TABLE = [("cma0", "/programmes/"), ("gthread3x4", "/programmes/"), ("pool", "/programmes/")]


def wrk(url: str, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)

    def percentile(p: str) -> float:
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    non_2xx = int(errors.group(1)) if errors else 0
    return {"rps": rps, "p50": percentile("50"), "p99": percentile("99"), "errors": non_2xx}


def server_connections(pg: PrivatePostgres, name: str) -> int:
    """Client connections one server holds (each server sets its own application_name)."""
    sql = f"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{name}'"
    return int(pg.psql(sql))


def run_one(
    pg: PrivatePostgres, server: Gunicorn, name: str, path: str, seconds: int, clients: int
) -> dict[str, float]:
    samples: list[int] = []
    # Mid-run: how many server connections the workers hold under load.
    sampler = threading.Timer(seconds / 2, lambda: samples.append(server_connections(pg, name)))
    sampler.start()
    result = wrk(server.base_url + path, seconds, clients)
    sampler.join()
    return {**result, "connections": samples[0]}


def table(rows: list[tuple[str, str]], results: dict[tuple[str, str], list[dict[str, float]]]) -> None:
    print("| configuration | path | req/s | p50 ms | p99 ms | non-2xx | PG connections under load | each round req/s |")
    print("|---|---|---|---|---|---|---|---|")
    for name, path in rows:
        runs = results[name, path]
        med = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        each = " / ".join(f"{run['rps']:.0f}" for run in runs)
        print(
            f"| {SERVERS[name][0]} | {path} | {med['rps']:.0f} | {med['p50']:.1f} | {med['p99']:.1f}"
            f" | {sum(int(run['errors']) for run in runs)} | {max(int(run['connections']) for run in runs)} | {each} |"
        )


def outage(seconds: float) -> None:
    """PostgreSQL stopped for `seconds`, then started: how fast requests fail meanwhile and
    how long after the restart the first one succeeds, per connection mode."""
    print(f"\nPostgreSQL down for {seconds:.0f} s (gthread 1 x 2), GET /programmes/ once a second\n")
    print("| connection mode | 503s while down | slowest 503 | first 200 after PostgreSQL is back |")
    print("|---|---|---|---|")
    for label, overrides in [("CONN_MAX_AGE=60 + health checks", {}), ("psycopg pool", {"DB_POOL": "true"})]:
        with private_postgres() as pg:
            pg.psql("CREATE DATABASE brisk")
            env = production_env(
                pg.url("brisk"), CATALOGUE_CACHE_ENABLED="false", GUNICORN_WORKERS="1", GUNICORN_THREADS="2"
            )
            manage(env, "migrate", "--noinput")
            server = Gunicorn({**env, **overrides})
            server.start()
            try:
                assert server.get("/programmes/").status == 200
                pg.stop()
                failures, start = [], time.monotonic()
                while time.monotonic() - start < seconds:
                    response = server.get("/programmes/")
                    assert response.status == 503
                    failures.append(response.seconds)
                    time.sleep(1)
                pg.start()
                back = time.monotonic()
                while server.get("/programmes/").status != 200:
                    time.sleep(0.1)
                recovered = time.monotonic() - back
            finally:
                server.stop()
        print(f"| {label} | {len(failures)} | {max(failures):.2f} s | {recovered:.2f} s |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--outage", type=float, default=0, help="outage test only: seconds PostgreSQL is down")
    args = parser.parse_args()
    if args.outage:
        outage(args.outage)
        return
    with private_postgres() as pg:
        pg.psql("CREATE DATABASE brisk")
        base = production_env(pg.url("brisk"), CATALOGUE_CACHE_ENABLED="false", GUNICORN_ACCESSLOG="/dev/null")
        manage(base, "migrate", "--noinput")
        manage(base, "seed_demo", *SEED, timeout=600)
        servers = {
            name: Gunicorn({**base, **overrides, "DATABASE_URL": pg.url("brisk") + f"?application_name={name}"})
            for name, (_, overrides) in SERVERS.items()
        }
        try:
            for server in servers.values():
                server.start()
            for name, path in {*WORKER_TABLE, *CONNECTION_TABLE}:
                wrk(servers[name].base_url + path, 2, args.clients)  # warm-up: imports, connections
            results: dict[tuple[str, str], list[dict[str, float]]] = {}
            for _ in range(args.rounds):
                for name, path in dict.fromkeys([*WORKER_TABLE, *CONNECTION_TABLE]):
                    run = run_one(pg, servers[name], name, path, args.seconds, args.clients)
                    results.setdefault((name, path), []).append(run)
        finally:
            for server in servers.values():
                server.stop()
    when = datetime.date.today()
    print(f"{when}: wrk -t2 -c{args.clients} -d{args.seconds}s --latency, {args.rounds} interleaved rounds\n")
    print("Worker class (CONN_MAX_AGE=60, health checks on)\n")
    table(WORKER_TABLE, results)
    print("\nConnection reuse, GET /programmes/\n")
    table(CONNECTION_TABLE, results)


if __name__ == "__main__":
    main()
