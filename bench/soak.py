"""`make soak`: the mixed load for 10 minutes at concurrency 32 against the large data set.

    .venv/bin/python -m bench.soak                       # what `make soak` runs
    .venv/bin/python -m bench.soak --minutes 1 --size small --output /tmp/soak.md

Starts its own PostgreSQL (a cluster kept in bench/out/soak/pg, seeded once with
`seed_demo --size large`, ~3 minutes the first time), its own Redis and Gunicorn
(gunicorn_config.py, production settings, its default workers and threads), all on spare
ports, and stops them at the end, also on failure or Ctrl-C. The shared PostgreSQL (5432)
and Redis (6379) are never touched, nor the bench's own cluster (bench/out/pg).

`--concurrency` client threads (32) each loop over a mix: catalogue reads (anonymous and
signed in), the learner's own pages, the instructor dashboard, and writes (enrol, progress,
cancel, review) by 64 learners. Every `--sample-seconds` it samples worker memory (RSS),
PostgreSQL connections and the answers so far. The verdict: zero errors (a 5xx, an answer
the contract does not list for that request, or no answer), no WORKER TIMEOUT, worker RSS
and connections flat (the last minute's against the first's). Writes bench/SOAK.md.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness import (
    INSTRUCTOR,
    LEARNER_PASSWORD,
    ROOT,
    STUDENT,
    Answer,
    Client,
    Gunicorn,
    PrivatePostgres,
    PrivateRedis,
    demo_learners,
    login,
    manage,
    pg_connection_count,
    postgres_bin_dir,
    production_env,
    report_to,
    worker_rss_kib,
)

HOME = ROOT / "bench" / "out" / "soak"
DATABASE = "brisk_soak"
LEARNERS = 64

# What each kind of request may answer under this load, by the contract. Anything else,
# and any 5xx or missing answer, is an error.
EXPECTED: dict[str, set[int]] = {
    "read": {200},
    "enroll": {200, 201, 409},  # 409: the course is full
    "progress": {200, 409},  # 409: cancelled or completed meanwhile
    "cancel": {200, 409},  # 409: completed
    "review": {201, 403, 409},  # 403: no seat held; 409: reviewed already
}


def log(message: str) -> None:
    print(f"[soak {datetime.now(tz=UTC):%H:%M:%S}] {message}", flush=True)


@dataclass
class Sample:
    at: float  # seconds since the load started
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p99_ms: float
    workers: int
    rss_mib: list[float]
    pg_connections: int


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # since the last sample
    total: int = 0
    error_count: int = 0

    def add(self, kind: str, answer: Answer) -> None:
        with self.lock:
            self.total += 1
            self.statuses[(kind, answer.status)] += 1
            self.latencies.append(answer.seconds)
            if answer.status not in EXPECTED[kind]:
                self.error_count += 1
                if len(self.errors) < 50:
                    detail = answer.error or answer.body[:200].decode(errors="replace")
                    self.errors.append(f"{answer.status} {answer.method} {answer.path}: {detail}")

    def take_latencies(self) -> list[float]:
        with self.lock:
            taken, self.latencies = self.latencies, []
        return taken


# --- Services ------------------------------------------------------------------------------


def start_postgres(size: str) -> PrivatePostgres:
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise SystemExit("no PostgreSQL server binaries: apt-get install postgresql")
    home = HOME / f"pg-{size}"
    home.mkdir(parents=True, exist_ok=True)
    pg = PrivatePostgres(bin_dir, datadir=home)
    pg.start()  # initdb the first time; a server left running by an interrupted run is stopped first
    log(f"PostgreSQL on 127.0.0.1:{pg.port}")
    if pg.psql(f"SELECT count(*) FROM pg_database WHERE datname = '{DATABASE}'") == "0":
        pg.psql(f'CREATE DATABASE "{DATABASE}"')
    env = production_env(pg.url(DATABASE))
    manage(env, "migrate", "--noinput", timeout=600)
    log(f"seed_demo --size {size} (only the first time: it does nothing on a seeded database)")
    started = time.monotonic()
    manage(env, "seed_demo", "--size", size, timeout=3600)
    log(f"data ready in {time.monotonic() - started:.0f}s")
    pg.psql("VACUUM ANALYZE", DATABASE)
    return pg


# --- Load ----------------------------------------------------------------------------------


@dataclass
class World:
    courses: list[int]
    programmes: list[int]
    learner_tokens: list[str]
    reader_tokens: list[str]
    instructor_token: str
    course_pages: int
    programme_pages: int
    seed: int  # of this run: other courses each run


def prepare_world(port: int, pg: PrivatePostgres) -> World:
    with Client(port) as client:
        recent = client.get("/courses/?page_size=100&ordering=-created_at").json()
        courses = [row["id"] for row in recent["results"]]
        courses += [row["id"] for row in client.get("/courses/?page_size=100").json()["results"]]
        listed = client.get("/programmes/?page_size=100").json()
        programmes = [row["id"] for row in listed["results"]]
    # Other learners each run: the cluster is kept, and the last run's learners have
    # enrolled, completed and reviewed already.
    emails = demo_learners(pg, DATABASE, LEARNERS, shuffled=True)
    log(f"logging in {len(emails)} learners")
    tokens = [login(port, email, LEARNER_PASSWORD) for email in emails]
    return World(
        courses=sorted(set(courses)),
        programmes=programmes,
        learner_tokens=tokens,
        reader_tokens=[login(port, *STUDENT)],
        instructor_token=login(port, *INSTRUCTOR),
        # Pages of 10 that exist, at most the first 50 / 20 (deep pages are not the mix).
        course_pages=min(50, -(-recent["count"] // 10)),
        programme_pages=min(20, -(-listed["count"] // 10)),
        seed=random.SystemRandom().randrange(2**32),
    )


def client_loop(index: int, port: int, world: World, tally: Tally, deadline: float) -> None:
    rng = random.Random(f"{world.seed}-{index}")
    # Even threads write as two learners of their own; odd ones read.
    writer = index % 2 == 0
    tokens = world.learner_tokens[index :: max(1, len(world.learner_tokens) // 2)][:2] if writer else []
    enrollments: dict[tuple[str, int], int] = {}
    # A writer's learners come back to the same few courses: progress, cancel and review.
    own_courses = rng.sample(world.courses, min(8, len(world.courses)))
    anonymous = Client(port)
    signed_in = Client(port, token=rng.choice(world.reader_tokens))
    instructor = Client(port, token=world.instructor_token)
    learners = [Client(port, token=token) for token in tokens]
    try:
        while time.monotonic() < deadline:
            roll = rng.random()
            course = rng.choice(world.courses)
            if learners and roll < 0.35:
                course = rng.choice(own_courses)
                learner = rng.choice(learners)
                key = (learner.token or "", course)
                action = rng.random()
                if key not in enrollments or action < 0.25:
                    answer = learner.request(
                        "POST", f"/courses/{course}/enroll/", headers={"Idempotency-Key": uuid.uuid4().hex}
                    )
                    tally.add("enroll", answer)
                    if answer.status in (200, 201):
                        enrollments[key] = answer.json()["id"]
                elif action < 0.7:
                    body: dict[str, Any] = {"progress": 100 if rng.random() < 0.05 else rng.randint(0, 99)}
                    tally.add("progress", learner.request("PATCH", f"/enrollments/{enrollments[key]}/", body))
                elif action < 0.8:
                    tally.add("cancel", learner.request("POST", f"/enrollments/{enrollments[key]}/cancel/"))
                else:
                    body = {"rating": rng.randint(1, 5), "comment": "soak"}
                    tally.add("review", learner.request("POST", f"/courses/{course}/reviews/", body))
                continue
            if roll < 0.05:
                tally.add("read", instructor.get("/instructor/courses/"))
            elif roll < 0.15:
                tally.add("read", signed_in.get(rng.choice(["/me/", "/enrollments/", "/courses/?ordering=price"])))
            else:
                programme = rng.choice(world.programmes)
                client = signed_in if rng.random() < 0.3 else anonymous
                path = rng.choice(
                    [
                        f"/programmes/?page={rng.randint(1, world.programme_pages)}",
                        f"/programmes/{programme}/",
                        f"/programmes/{programme}/courses/",
                        f"/courses/?page={rng.randint(1, world.course_pages)}",
                        f"/courses/?search={rng.choice(['python', 'data', 'design', 'intro'])}",
                        f"/courses/{course}/",
                        f"/courses/{course}/reviews/",
                    ]
                )
                tally.add("read", client.get(path))
    finally:
        for client in (anonymous, signed_in, instructor, *learners):
            client.close()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def run_load(
    server: Gunicorn, pg: PrivatePostgres, world: World, *, concurrency: int, seconds: float, every: float
) -> tuple[Tally, list[Sample]]:
    tally = Tally()
    start = time.monotonic()
    deadline = start + seconds
    threads = [
        threading.Thread(target=client_loop, args=(i, server.port, world, tally, deadline), daemon=True)
        for i in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    samples: list[Sample] = []
    last_total, last_at = 0, start
    while time.monotonic() < deadline:
        time.sleep(min(every, max(0.0, deadline - time.monotonic())))
        now = time.monotonic()
        latencies = tally.take_latencies()
        rss = worker_rss_kib(server)
        sample = Sample(
            at=now - start,
            requests=tally.total,
            errors=tally.error_count,
            rps=(tally.total - last_total) / max(now - last_at, 1e-9),
            p50_ms=percentile(latencies, 0.5),
            p99_ms=percentile(latencies, 0.99),
            workers=len(rss),
            rss_mib=sorted(round(kib / 1024, 1) for kib in rss.values()),
            pg_connections=pg_connection_count(pg, DATABASE),
        )
        samples.append(sample)
        last_total, last_at = tally.total, now
        log(
            f"{sample.at:5.0f}s {sample.requests:7d} requests {sample.rps:6.1f}/s errors {sample.errors} "
            f"p50 {sample.p50_ms:.0f} ms p99 {sample.p99_ms:.0f} ms rss {sample.rss_mib} MiB "
            f"pg connections {sample.pg_connections}"
        )
    for thread in threads:
        thread.join(timeout=60)
    return tally, samples


# --- Report --------------------------------------------------------------------------------


def window(samples: list[Sample], first: bool, seconds: float = 60) -> list[Sample]:
    if not samples:
        return []
    if first:
        return [s for s in samples if s.at <= samples[0].at + seconds]
    return [s for s in samples if s.at >= samples[-1].at - seconds]


def verdict(tally: Tally, samples: list[Sample], log_text: str) -> dict[str, Any]:
    def rss_max(group: list[Sample]) -> float:
        return max((max(s.rss_mib) for s in group if s.rss_mib), default=0.0)

    def conns(group: list[Sample]) -> float:
        return statistics.median(s.pg_connections for s in group) if group else 0.0

    first, last = window(samples, True), window(samples, False)
    result: dict[str, Any] = {
        "errors": tally.error_count,
        "worker_timeouts": log_text.count("WORKER TIMEOUT"),
        "tracebacks": log_text.count("Traceback") - log_text.count('"message":"Exception ignored"'),
        "recycled_workers": log_text.count("Autorestarting worker"),
        "rss_first": rss_max(first),
        "rss_last": rss_max(last),
        "conns_first": conns(first),
        "conns_last": conns(last),
        "conns_max": max((s.pg_connections for s in samples), default=0),
    }
    return result


def write_report(
    path: Path,
    args: argparse.Namespace,
    env: dict[str, str],
    tally: Tally,
    samples: list[Sample],
    result: dict[str, Any],
) -> None:
    seconds = samples[-1].at if samples else 0
    flat_rss = result["rss_last"] <= result["rss_first"] * 1.15 + 5
    flat_conns = result["conns_last"] <= result["conns_first"] + 2
    passed = not result["errors"] and not result["worker_timeouts"] and flat_rss and flat_conns
    lines = [
        "# Soak: 10 minutes of mixed load",
        "",
        f"`make soak` (`python -m bench.soak`), run {datetime.now(tz=UTC):%Y-%m-%d %H:%M} UTC on this 2-core machine "
        f"(client, Gunicorn, PostgreSQL and Redis share it). Data set: `seed_demo --size {args.size}`. "
        f"Gunicorn: gunicorn_config.py defaults ({env.get('GUNICORN_WORKERS') or 'cores + 1'} workers x "
        f"{env.get('GUNICORN_THREADS') or 4} threads, gthread"
        + (", max_requests 2000 +- 200" if args.recycle else ", max_requests off so that a leak would show")
        + "), production settings, "
        f"catalogue cache on (a private Redis). Load: {args.concurrency} client threads, closed loop, for "
        f"{seconds / 60:.1f} minutes: about a third of the threads' requests are writes (enrol, progress, cancel, "
        "review by 64 learners), the rest catalogue reads (anonymous and signed in), the learner's own pages and "
        "the instructor dashboard. Each client closes a connection idle for 60 s, as the proxy in front of "
        "Gunicorn does (its idle timeout is below Gunicorn's keepalive of 75 s; see gunicorn_config.py).",
        "",
        f"**Verdict: {'PASS' if passed else 'FAIL'}.** {tally.total:,} requests, "
        f"{tally.total / max(seconds, 1):.0f}/s on average; errors: {result['errors']} "
        "(5xx, no answer, or a status the contract does not list for that request); "
        f"WORKER TIMEOUT: {result['worker_timeouts']}; tracebacks logged: {result['tracebacks']}; "
        f"workers recycled by max_requests: {result['recycled_workers']}.",
        "",
        f"- Worker RSS (largest worker): {result['rss_first']:.1f} MiB in the first minute, "
        f"{result['rss_last']:.1f} MiB in the last: {'flat' if flat_rss else 'GROWING'}.",
        f"- PostgreSQL connections to the database: median {result['conns_first']:.0f} in the first minute, "
        f"{result['conns_last']:.0f} in the last, at most {result['conns_max']} "
        f"(persistent connections, one per Gunicorn thread): {'flat' if flat_conns else 'GROWING'}.",
        "",
        "## Answers",
        "",
        "| request | status | count |",
        "| --- | --- | ---: |",
        *(f"| {kind} | {status} | {count:,} |" for (kind, status), count in sorted(tally.statuses.items())),
        "",
        "## Samples",
        "",
        "| t (s) | requests | rps | errors | p50 ms | p99 ms | workers | worker RSS MiB | PG connections |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
        *(
            f"| {s.at:.0f} | {s.requests:,} | {s.rps:.0f} | {s.errors} | {s.p50_ms:.0f} | {s.p99_ms:.0f} | "
            f"{s.workers} | {', '.join(map(str, s.rss_mib))} | {s.pg_connections} |"
            for s in samples
        ),
        "",
    ]
    if tally.errors:
        lines += ["## First errors", "", *(f"- `{error}`" for error in tally.errors), ""]
    path.write_text("\n".join(lines))
    log(f"wrote {path}: {'PASS' if passed else 'FAIL'}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--size", choices=("small", "medium", "large"), default="large")
    parser.add_argument("--sample-seconds", type=float, default=10)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "SOAK.md")
    parser.add_argument(
        "--recycle", action="store_true", help="keep gunicorn_config.py's max_requests (off by default: see main)"
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    pg = start_postgres(args.size)
    redis = PrivateRedis()
    server: Gunicorn | None = None
    try:
        redis.start()
        env = production_env(
            pg.url(DATABASE),
            REDIS_URL=redis.url(0),
            THROTTLE_AUTH_TOKEN="10000/minute",  # the soak logs 66 users in from one address
            JWT_ACCESS_MINUTES=str(int(args.minutes) + 30),
        )
        env = {k: v for k, v in env.items() if not k.startswith("GUNICORN_")}  # the config file's defaults
        if not args.recycle:
            # max_requests recycles each worker every ~2000 requests: it bounds a leak and
            # would hide one. Off, flat memory means there is none.
            env["GUNICORN_MAX_REQUESTS"] = "0"
        server = Gunicorn(env)
        server.start(ready_timeout=120)
        log(f"Gunicorn on {server.base_url}, workers {sorted(server.worker_pids())}")
        world = prepare_world(server.port, pg)
        log(f"load: {args.concurrency} threads for {args.minutes} minutes")
        tally, samples = run_load(
            server, pg, world, concurrency=args.concurrency, seconds=args.minutes * 60, every=args.sample_seconds
        )
        result = verdict(tally, samples, server.log_text())
        write_report(args.output, args, env, tally, samples, result)
        return 0 if not result["errors"] and not result["worker_timeouts"] else 1
    finally:
        if server is not None:
            server.stop()
        redis.destroy()
        pg.stop()
        log("stopped Gunicorn, Redis and PostgreSQL")


if __name__ == "__main__":
    report_to(log)
    os.chdir(ROOT)
    sys.exit(main(sys.argv[1:]))
