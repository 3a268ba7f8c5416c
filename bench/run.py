"""`make bench`: load and scale benchmarks of Brisk against two reference apps.

    .venv/bin/python -m bench.run                     # everything (what `make bench` runs)
    .venv/bin/python -m bench.run --only warm,ref_redis --duration 5 --rounds 1
    .venv/bin/python -m bench.run --only scale --sizes small,medium

Starts its own PostgreSQL (bench/out/pg, pg_stat_statements) and Redis on spare ports,
loads the demo data sets once (kept between runs), starts Brisk with gunicorn_config.py
and the production settings (twice: catalogue cache on and off) and the reference apps
with the same Gunicorn configuration, drives each scenario with wrk for several rounds,
interleaved so that noise hits every scenario alike, and reports medians. Then the scale
curve, EXPLAIN ANALYZE of the headline page, and py-spy profiles where a target is
missed. Writes bench/RESULTS.md and bench/scale.png (a run of some parts only writes
bench/out/RESULTS-partial.md; --output elsewhere). Stops everything it started, even
on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import platform
import secrets
import signal
import subprocess
import sys
import threading
import time
import traceback
from contextlib import ExitStack, suppress
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import redis

from bench import profiling, report, scale, scenarios
from bench.common import LOGS, OUT, VENV_BIN, log
from bench.load import CpuMeter, Req, Round, SqlCounter, run_wrk, write_requests
from bench.ref_redis import page_key
from bench.report import Outcome, ProfileResult, RunInfo
from bench.scenarios import HEADLINE, SCENARIOS, Context, Scenario, Unavailable
from harness import (
    BENCH_SETTINGS,
    ROOT,
    Gunicorn,
    PrivatePostgres,
    PrivateRedis,
    http_request,
    manage,
    production_env,
    stop_all,
    which_or_install,
)

SIZES = ("small", "medium", "large")
MAIN_SIZE = "large"
# Below Linux's ephemeral range (32768-60999): a port in it can be taken at any moment by
# the client end of some connection (seen here: "Address already in use" on 58002).
PG_PORT = int(os.environ.get("BENCH_PG_PORT", "25433"))
REDIS_PORT = int(os.environ.get("BENCH_REDIS_PORT", "26380"))
BASE_PORT = int(os.environ.get("BENCH_BASE_PORT", "28000"))
# Redis databases: one per server, so their keys never meet.
REDIS_DBS = {"brisk": 0, "brisk_cold": 1, "ref_redis": 2, "scale": 3}
STEPS = ("scale", "explain", "profile")
# One per run, shared by every server of the run (and its JWTs).
SECRET_KEY = secrets.token_urlsafe(64)


def parse_args(argv: list[str]) -> argparse.Namespace:
    names = [scenario.name for scenario in SCENARIOS]
    parser = argparse.ArgumentParser(
        prog="bench.run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only",
        default="",
        help=f"comma-separated parts to run: scenarios ({', '.join(names)}) and/or steps ({', '.join(STEPS)})",
    )
    parser.add_argument("--duration", type=float, default=10, help="seconds of each measured round (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds per scenario (default 3)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of unmeasured load first (default 3)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1: wrk shares 2 cores)")
    parser.add_argument("--size", choices=SIZES, default=MAIN_SIZE, help="data set of the scenarios (default large)")
    parser.add_argument("--sizes", default=",".join(SIZES), help="data sizes of the scale curve")
    parser.add_argument("--scale-requests", type=int, default=200, help="sequential requests per scale point")
    parser.add_argument("--profile", choices=("auto", "always", "never"), default="auto")
    parser.add_argument("--profile-seconds", type=float, default=8)
    parser.add_argument("--reseed", action="store_true", help="seed the data sets again even when present")
    parser.add_argument("--output", type=Path, help="where to write the report")
    return parser.parse_args(argv)


# --- Data --------------------------------------------------------------------------------


def bench_env(pg: PrivatePostgres, database: str, redis_url: str, *, cache: bool = True) -> dict[str, str]:
    """The environment of a production container, pointed at the bench's services: the
    login throttle raised so the bench can log in its users; tokens outlive the run."""
    return production_env(
        pg.url(database),
        SECRET_KEY=SECRET_KEY,
        REDIS_URL=redis_url,
        CATALOGUE_CACHE_ENABLED="true" if cache else "false",
        THROTTLE_AUTH_TOKEN="100000/minute",
        JWT_ACCESS_MINUTES="240",
    )


def ensure_seeded(pg: PrivatePostgres, redis_server: PrivateRedis, size: str, *, reseed: bool) -> str:
    """The database brisk_<size>, migrated and holding `seed_demo --size <size>` (seeded
    once; a row in the bench's own table in the `postgres` database records it)."""
    database = f"brisk_{size}"
    pg.ensure_database(database)
    env = bench_env(pg, database, redis_server.url(REDIS_DBS["scale"]))
    with pg.connect("postgres") as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_seeded "
            "(datname text PRIMARY KEY, size text NOT NULL, enrollments bigint, seeded_at timestamptz DEFAULT now())"
        )
        marker = conn.execute("SELECT size, enrollments FROM bench_seeded WHERE datname = %s", [database]).fetchone()
    log(f"{database}: migrate")
    manage(env, "migrate", "--noinput", "-v", "0", timeout=1800, show=True)
    if marker is not None and marker[0] == size and not reseed:
        log(f"{database}: demo data present ({marker[1]:,} enrollments), not seeded again")
        return database
    log(f"{database}: seed_demo --size {size} --reset")
    started = time.monotonic()
    manage(env, "seed_demo", "--size", size, "--reset", timeout=1800, show=True)
    seeded = time.monotonic() - started
    with pg.connect(database) as conn:
        log(f"{database}: VACUUM ANALYZE (visibility map for index-only scans, fresh statistics)")
        conn.execute("VACUUM (ANALYZE)")
        row = conn.execute("SELECT count(*) FROM courses_enrollment").fetchone()
        enrollments = int(row[0]) if row else 0
    with pg.connect("postgres") as conn:
        conn.execute(
            "INSERT INTO bench_seeded (datname, size, enrollments) VALUES (%s, %s, %s) "
            "ON CONFLICT (datname) DO UPDATE SET size = EXCLUDED.size, enrollments = EXCLUDED.enrollments, "
            "seeded_at = now()",
            [database, size, enrollments],
        )
    log(f"{database}: seeded in {seeded:.0f} s ({enrollments:,} enrollments)")
    return database


# --- Running the scenarios ------------------------------------------------------------


def start_servers(
    stack: ExitStack, pg: PrivatePostgres, redis_server: PrivateRedis, database: str, wanted: set[str]
) -> dict[str, Gunicorn]:
    """The servers the wanted scenarios load, each stopped when the stack unwinds."""
    servers: dict[str, Gunicorn] = {}
    specs = {
        "brisk": ("config.wsgi", True),
        "brisk_cold": ("config.wsgi", False),
        "ref_sql": ("bench.ref_sql:application", False),
        "ref_redis": ("bench.ref_redis:application", False),
    }
    # Brisk first: ref_redis serves a copy of Brisk's page.
    for offset, name in enumerate(specs):
        if name not in wanted and not (name == "brisk" and "ref_redis" in wanted):
            continue
        app, cache = specs[name]
        env = bench_env(pg, database, redis_server.url(REDIS_DBS.get(name, 0)), cache=cache)
        server = Gunicorn(
            env,
            port=BASE_PORT + 1 + offset,
            app=app,
            name=name,
            log=LOGS / f"gunicorn-{name}.log",
            stop_signal=signal.SIGINT,  # quick shutdown: no waiting for wrk's idle connections
        )
        stack.callback(server.stop)
        if name == "ref_redis":
            body = http_request(servers["brisk"].base_url + HEADLINE).body
            path, query = HEADLINE.split("?")
            redis.Redis.from_url(env["REDIS_URL"]).set(page_key(path, query), body)
        ready = ("/healthz", "/programmes/") if name.startswith("brisk") else (HEADLINE,)
        server.start(ready_paths=ready)
        servers[name] = server
    return servers


def prepare(scenario: Scenario, ctx: Context) -> list[Req]:
    """The scenario's requests, after the first of each kind (label) answered as expected:
    a read with `probe_statuses`, a write with 200 or 201 (its effect is undone after the run)."""
    requests = scenario.build(ctx)
    probes = {request.label: request for request in reversed(requests)}
    for probe in probes.values():
        expected = scenario.probe_statuses if probe.method == "GET" else (200, 201)
        answer = http_request(
            ctx.urls[scenario.server] + probe.path,
            method=probe.method,
            headers=dict(probe.headers),
            body=probe.body.encode() if probe.body else None,
        )
        if answer.status not in expected:
            raise Unavailable(f"{probe.method} {probe.path.split('?')[0]} answered {answer.status}")
    return requests


def run_profile(server: Gunicorn, requests_file: Path, args: argparse.Namespace, name: str) -> ProfileResult:
    """py-spy on all of the server's workers while wrk loads them (not a measured round)."""
    log(f"profiling {name}: py-spy on {server.name}'s workers for {args.profile_seconds:g} s under load")
    load = threading.Thread(
        target=run_wrk,
        args=(server.base_url, requests_file),
        kwargs={"seconds": args.profile_seconds + 3, "connections": args.connections, "threads": args.threads},
    )
    load.start()
    time.sleep(1.5)
    assert server.process is not None
    try:
        raw = profiling.record(server.process.pid, args.profile_seconds, name)
        return ProfileResult(name, profiling.summarise(raw), None)
    except (subprocess.CalledProcessError, OSError) as error:
        return ProfileResult(name, None, f"py-spy failed: {error}")
    finally:
        load.join()


def run_scenarios(
    stack: ExitStack,
    pg: PrivatePostgres,
    redis_server: PrivateRedis,
    database: str,
    chosen: list[Scenario],
    args: argparse.Namespace,
) -> tuple[list[Outcome], list[ProfileResult]]:
    servers = start_servers(stack, pg, redis_server, database, {scenario.server for scenario in chosen})
    db = stack.enter_context(pg.connect(database))
    ctx = Context(urls={name: server.base_url for name, server in servers.items()}, db=db)
    if "brisk" in servers or "brisk_cold" in servers:
        url = (servers.get("brisk") or servers["brisk_cold"]).base_url + HEADLINE
        first = http_request(url)
        if first.status != 200:
            raise RuntimeError(f"GET {HEADLINE} answered {first.status}: {first.body[:300]!r}")
        ctx.facts["count"] = json.loads(first.body)["count"]
        ctx.facts["last_page"] = max(1, math.ceil(ctx.facts["count"] / 10))
        ctx.facts["etag"] = http_request(url).headers.get("ETag")

    # Scenarios that write run last, on their own: their writes change counts (and so
    # bodies and ETags) that the read-only scenarios must see as seeded.
    readers = [scenario for scenario in chosen if not scenario.writes]
    writers = [scenario for scenario in chosen if scenario.writes]
    files: dict[str, Path] = {}
    outcomes = {scenario.name: Outcome(scenario.name, scenario.title, scenario.server) for scenario in chosen}
    sql = SqlCounter(db)

    def measure(scenarios: list[Scenario]) -> None:
        runnable: list[Outcome] = []
        for scenario in scenarios:
            outcome = outcomes[scenario.name]
            try:
                requests = prepare(scenario, ctx)
            except Unavailable as error:
                outcome.unavailable = str(error)
                log(f"{scenario.name}: not available ({error})")
                continue
            outcome.distinct_requests = len({(r.method, r.path) for r in requests})
            files[scenario.name] = write_requests(scenario.name, requests)
            runnable.append(outcome)
        # Each run goes on in the list where the previous one stopped: new writes, not repeats.
        offsets = dict.fromkeys(files, 0)

        def load(outcome: Outcome, seconds: float) -> Round:
            result = run_wrk(
                ctx.urls[outcome.server],
                files[outcome.name],
                seconds=seconds,
                connections=args.connections,
                threads=args.threads,
                offset=offsets[outcome.name],
            )
            offsets[outcome.name] += result.requests
            return result

        if args.warmup > 0:
            for outcome in runnable:
                log(f"warm-up {outcome.name} ({args.warmup:g} s)")
                load(outcome, args.warmup)
        # Round by round, every scenario once: noise hits them all alike.
        for index in range(args.rounds):
            for outcome in runnable:
                server = servers[outcome.server]
                assert server.process is not None
                cpu = CpuMeter(
                    {"app": server.process.pid, "postgres": pg.postmaster_pid(), "redis": redis_server.pid()}
                )
                sql.reset()
                cpu.start()
                result = load(outcome, args.duration)
                result.cpu_seconds = cpu.stop()
                result.sql_calls, result.sql_ms, result.top_sql = sql.read()
                outcome.rounds.append(result)
                app_cpu, pg_cpu = result.cpu_ms_per_request("app") or 0, result.cpu_ms_per_request("postgres") or 0
                log(
                    f"round {index + 1}/{args.rounds} {outcome.name:13s} {result.rps:7.0f} req/s  "
                    f"p50 {result.latency_us['50'] / 1000:6.2f} ms  p99 {result.latency_us['99'] / 1000:7.2f} ms  "
                    f"errors {result.errors}  SQL/req {result.sql_per_request or 0:.2f}  "
                    f"CPU ms/req: app {app_cpu:.2f}, PostgreSQL {pg_cpu:.2f}"
                )

    measure(readers)
    if writers:
        try:
            max_enrollment = int(db.execute("SELECT coalesce(max(id), 0) FROM courses_enrollment").fetchone()[0])  # type: ignore[index]
        except psycopg.Error as error:
            for scenario in writers:
                outcomes[scenario.name].unavailable = f"no enrollments table: {error}".splitlines()[0]
            writers = []
    if writers:
        try:
            measure(writers)
        finally:
            undo_writes(db, max_enrollment, ctx.facts.get("progress_before", []))

    profiles: list[ProfileResult] = []
    if args.profile != "never" and want("profile", args):
        read_only = {scenario.name for scenario in readers}  # a profile's load is not undone
        profiles = [
            run_profile(servers[outcomes[name].server], files[name], args, name)
            for name in report.profile_candidates(outcomes, always=args.profile == "always")
            if name in read_only
        ]
    stop_all(list(servers.values()))  # idle, but no need to keep them through the scale curve
    return list(outcomes.values()), profiles


def undo_writes(db: psycopg.Connection[Any], max_enrollment: int, progress_before: list[tuple[int, int]]) -> None:
    """Leave the data set as seeded: drop the enrollments the run created, put progress back."""
    removed = db.execute("DELETE FROM courses_enrollment WHERE id > %s", [max_enrollment]).rowcount
    with db.cursor() as cursor:
        cursor.executemany(
            "UPDATE courses_enrollment SET progress = %s WHERE id = %s",
            [(progress, enrollment) for enrollment, progress in progress_before],
        )
    log(f"writes undone: {removed} new enrollments removed, {len(progress_before)} progress values restored")


# --- Scale curve and EXPLAIN -----------------------------------------------------------


def run_scale(
    stack: ExitStack, pg: PrivatePostgres, redis_server: PrivateRedis, args: argparse.Namespace
) -> list[scale.ScalePoint]:
    """Headline latency, one request at a time, at each data size: a Brisk with one worker
    per size and cache setting, all up at once, their requests taking turns."""
    sizes = [size.strip() for size in args.sizes.split(",") if size.strip()]
    databases = {size: ensure_seeded(pg, redis_server, size, reseed=args.reseed) for size in sizes}
    redis_server.cli("-n", str(REDIS_DBS["scale"]), "flushdb")
    servers: dict[str, Gunicorn] = {}
    port = BASE_PORT + 20
    for size in sizes:
        for kind, cache in (("cold", False), ("warm", True)):
            port += 1
            env = bench_env(pg, databases[size], redis_server.url(REDIS_DBS["scale"]), cache=cache)
            env["GUNICORN_WORKERS"] = "1"  # every request on the same, warmed-up worker
            env["SERVER_TIMING"] = "true"  # the app's own total and database time, per request
            name = f"scale-{size}-{kind}"
            server = Gunicorn(env, port=port, name=name, log=LOGS / f"gunicorn-{name}.log", stop_signal=signal.SIGINT)
            stack.callback(server.stop)
            server.start()
            servers[f"{size}/{kind}"] = server
    log(f"scale: {args.scale_requests} sequential requests on each of {len(servers)} servers, in turns")
    clients = {name: scale.SequentialClient(server.port, HEADLINE) for name, server in servers.items()}
    try:
        latencies = scale.interleaved_latency(clients, count=args.scale_requests)
    finally:
        for client in clients.values():
            client.close()
        stop_all(list(servers.values()))
    points: list[scale.ScalePoint] = []
    for size in sizes:
        counts = dataset(pg, databases[size])
        cold, warm = latencies[f"{size}/cold"], latencies[f"{size}/warm"]
        log(f"scale {size}: cold median {cold.median:.2f} ms (p90 {cold.p90:.2f}), warm {warm.median:.2f} ms")
        points.append(scale.ScalePoint(size, counts.get("programmes", 0), counts.get("enrollments", 0), cold, warm))
    return points


def run_explain(pg: PrivatePostgres, redis_server: PrivateRedis, database: str) -> dict[str, Any] | None:
    """EXPLAIN ANALYZE of what Brisk sends for one request of each read scenario."""
    with pg.connect(database) as conn:
        ctx = Context(urls={}, db=conn)
        count = int(conn.execute("SELECT count(*) FROM programmes_programme").fetchone()[0])  # type: ignore[index]
        specs = [HEADLINE, f"/programmes/?page={max(1, math.ceil(count / 10))}&page_size=10"]
        for build in (scenarios.course_search, scenarios.course_detail):
            with suppress(Unavailable):
                specs.append(build(ctx)[0].path)
    specs += [
        f"{scenarios.STUDENT[0]}:/enrollments/?page=1&page_size=10",
        f"{scenarios.INSTRUCTOR[0]}:/instructor/courses/?page=1&page_size=10",
    ]
    env = bench_env(pg, database, redis_server.url(REDIS_DBS["scale"]), cache=False)
    log(f"EXPLAIN ANALYZE of the SQL behind {len(specs)} requests")
    result = subprocess.run(
        [str(VENV_BIN / "python"), "-m", "bench.explain", *specs],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        log(f"EXPLAIN failed: {result.stderr.strip().splitlines()[-1:]}")
        return None
    data: dict[str, Any] = json.loads(result.stdout)
    return data


# --- Main ---------------------------------------------------------------------------------


def want(part: str, args: argparse.Namespace) -> bool:
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    return not only or part in only


def machine_info() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=False)
    code = git.stdout.strip() or "unknown"
    if dirty.stdout.strip():
        code += " + uncommitted changes"
    return {
        "code": code,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_at_start": load,
    }


def gunicorn_settings() -> dict[str, Any]:
    """What gunicorn_config.py gives in this environment (the servers read the same one)."""
    config = importlib.import_module("gunicorn_config")
    names = ("worker_class", "workers", "threads", "preload_app", "max_requests", "keepalive")
    return {"worker_class": "sync"} | {name: getattr(config, name) for name in names if hasattr(config, name)}


def dataset(pg: PrivatePostgres, database: str) -> dict[str, int]:
    tables = {
        "programmes": "programmes_programme",
        "courses": "courses_course",
        "users": "accounts_user",
        "enrollments": "courses_enrollment",
    }
    counts: dict[str, int] = {}
    with pg.connect(database) as conn:
        for name, table in tables.items():
            try:
                row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            except psycopg.Error:
                continue  # not there (yet)
            counts[name] = int(row[0]) if row else 0
    return counts


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    known = {scenario.name for scenario in SCENARIOS} | set(STEPS)
    if only - known:
        print(f"unknown parts: {', '.join(sorted(only - known))}; known: {', '.join(sorted(known))}", file=sys.stderr)
        return 2
    partial = bool(only)
    output = (args.output or (OUT / "RESULTS-partial.md" if partial else ROOT / "bench" / "RESULTS.md")).resolve()
    chosen = [scenario for scenario in SCENARIOS if want(scenario.name, args)]
    started = datetime.now(tz=UTC)
    info = RunInfo(
        started=started,
        argv=["python", "-m", "bench.run", *argv],
        machine=machine_info(),
        options={k: v for k, v in vars(args).items() if k not in {"output"}},
        gunicorn=gunicorn_settings(),
    )

    # SIGTERM (a CI timeout, kill) unwinds like Ctrl-C, so everything started is stopped.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    OUT.mkdir(parents=True, exist_ok=True)
    which_or_install("wrk", "wrk", "the bench drives its load with wrk")
    which_or_install("redis-server", "redis-server", "the bench runs its own Redis for the catalogue cache")
    outcomes: list[Outcome] = []
    profiles: list[ProfileResult] = []
    points: list[scale.ScalePoint] = []
    explained: dict[str, Any] | None = None
    failure: Exception | None = None
    try:
        with ExitStack() as stack:
            pg = PrivatePostgres(port=PG_PORT, datadir=OUT / "pg", settings=BENCH_SETTINGS)
            stack.callback(pg.stop)
            pg.start()
            redis_server = PrivateRedis(REDIS_PORT, log=LOGS / "redis.log", pidfile=OUT / "redis.pid")
            stack.callback(redis_server.stop)
            redis_server.start()
            database = ensure_seeded(pg, redis_server, args.size, reseed=args.reseed)
            info.dataset = dataset(pg, database)
            if chosen:
                outcomes, profiles = run_scenarios(stack, pg, redis_server, database, chosen, args)
            if want("explain", args):
                explained = run_explain(pg, redis_server, database)
            if want("scale", args):
                points = run_scale(stack, pg, redis_server, args)
    except Exception as error:  # everything is stopped by now; report what was measured
        failure = error
        traceback.print_exc()
        info.failure = f"{type(error).__name__}: {error}".splitlines()[0]
    info.finished = datetime.now(tz=UTC)
    info.machine["load_at_end"] = " ".join(f"{value:.2f}" for value in os.getloadavg())
    # The plot beside the report: bench/scale.png for bench/RESULTS.md.
    plot = output.parent / ("scale.png" if output.name == "RESULTS.md" else f"{output.stem}-scale.png")
    if points:
        scale.plot(points, plot)
    (OUT / "last-run.json").write_text(
        json.dumps(
            {"outcomes": [asdict(outcome) for outcome in outcomes], "scale": [asdict(point) for point in points]},
            default=str,
        )
    )
    output.write_text(report.render(info, outcomes, profiles, points, explained, plot=plot.name, partial=partial))
    log(f"wrote {output}" + (f" and {plot}" if points else ""))
    print(report.summary(outcomes), flush=True)
    if failure is not None:
        log(f"the run failed: {info.failure}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
