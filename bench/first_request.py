"""The first request of a new Gunicorn worker against its tenth, with and without warm-up.

    .venv/bin/python -m bench.first_request [--rounds 3] [--output bench/first_request.md]

Uses the bench's own PostgreSQL and Redis (bench/out/, as `make bench`; the small demo
set, seeded once) and production settings with the catalogue cache off, so every request
computes its page. For each endpoint, round and mode (GUNICORN_WARMUP true or false) it
starts a fresh Gunicorn with one worker (gunicorn_config.py, 4 threads), waits until the
worker answers GET /healthz (what a load balancer's probe sends: no URL resolver, view or
database), then sends the same request 10 times, one after another, and records each
duration. Rounds are interleaved (each mode once per endpoint and round) so background
load hits both alike; the table shows medians. Also the time from starting Gunicorn to the
first answered /healthz, which includes the warm-up. A benchmark, not a test: nothing
fails on a figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from bench.common import LOGS, OUT, log
from bench.run import PG_PORT, REDIS_DBS, REDIS_PORT, bench_env, ensure_seeded
from harness import (
    BENCH_SETTINGS,
    ROOT,
    Gunicorn,
    PrivatePostgres,
    PrivateRedis,
    http_request,
    which_or_install,
)

PORT = int(os.environ.get("BENCH_FIRST_REQUEST_PORT", "28050"))
ENDPOINTS = (
    "/programmes/?page=1&page_size=10",
    "/courses/?page=1&page_size=10",
    "/programmes/1/",
    "/courses/1/",
    "/schema/",
)
REQUESTS = 10
MODES = ("cold", "warm")


def boot_and_measure(env: dict[str, str], path: str) -> tuple[float, list[float]]:
    """(seconds from start to the first /healthz answer, [seconds of each request])."""
    server = Gunicorn(env, port=PORT, name="first-request", log=LOGS / "gunicorn-first-request.log")
    started = time.monotonic()
    try:
        server.start(ready_paths=("/healthz",))
        boot = time.monotonic() - started
        durations = []
        for _ in range(REQUESTS):
            begin = time.perf_counter()
            answer = http_request(server.base_url + path, timeout=60)
            durations.append(time.perf_counter() - begin)
            if answer.status != 200:
                raise RuntimeError(f"GET {path}: {answer.status} {answer.body[:200]!r}")
        return boot, durations
    finally:
        server.stop()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}" if seconds >= 0.01 else f"{seconds * 1000:.1f}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench.first_request", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "first_request.md")
    args = parser.parse_args(argv)
    which_or_install("redis-server", "redis-server", "the benchmark runs its own Redis")
    results: dict[tuple[str, str], list[tuple[float, list[float]]]] = {}
    with ExitStack() as stack:
        pg = PrivatePostgres(port=PG_PORT, datadir=OUT / "pg", settings=BENCH_SETTINGS)
        stack.callback(pg.stop)
        pg.start()
        redis_server = PrivateRedis(REDIS_PORT, log=LOGS / "redis.log", pidfile=OUT / "redis.pid")
        stack.callback(redis_server.stop)
        redis_server.start()
        database = ensure_seeded(pg, redis_server, "small", reseed=False)
        base = bench_env(pg, database, redis_server.url(REDIS_DBS["brisk_cold"]), cache=False)
        base.update(GUNICORN_WORKERS="1", GUNICORN_MAX_REQUESTS="0")
        for round_number in range(1, args.rounds + 1):
            for path in ENDPOINTS:
                for mode in MODES if round_number % 2 else reversed(MODES):
                    env = {**base, "GUNICORN_WARMUP": "true" if mode == "warm" else "false"}
                    boot, durations = boot_and_measure(env, path)
                    results.setdefault((path, mode), []).append((boot, durations))
                    shown = f"first {ms(durations[0])} ms, tenth {ms(durations[-1])} ms"
                    log(f"round {round_number} {mode:4} {path}: {shown}")

    lines = [
        "# The first request of a new worker",
        "",
        f"`python -m bench.first_request --rounds {args.rounds}`, {datetime.now(tz=UTC):%Y-%m-%d %H:%M} UTC, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end. Production settings, "
        "the small demo set on PostgreSQL, Redis, catalogue cache off, one gthread worker with 4 threads, "
        "a fresh Gunicorn for each measurement. *cold*: `GUNICORN_WARMUP=false`; *warm*: the default "
        "(config/warmup.py). Medians of the rounds, in milliseconds, measured by the client.",
        "",
        "| Endpoint | Mode | Start to first /healthz | 1st request | 2nd | 10th |",
        "|---|---|---|---|---|---|",
    ]
    for path in ENDPOINTS:
        for mode in MODES:
            runs = results[(path, mode)]
            boot = statistics.median(run[0] for run in runs)
            first, second, tenth = (statistics.median(run[1][i] for run in runs) for i in (0, 1, -1))
            lines.append(f"| `{path}` | {mode} | {ms(boot)} | {ms(first)} | {ms(second)} | {ms(tenth)} |")
    lines.append("")
    args.output.write_text("\n".join(lines))
    print("\n".join(lines))
    log(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
