"""The documented production topology, run for real (deploy/topology.py): nginx with
deploy/nginx.conf in front of two Gunicorn instances, PgBouncer (transaction mode) in front
of the PostgreSQL primary, a streaming replica for reads, one Redis.

1. The contract through the balancer: reads answer byte for byte as each instance does;
   the write paths, login, refusals and idempotency keys answer as on one machine.
2. Read-your-writes with replay paused on the replica: the writer sees its write through
   either instance; another client's reads go to the replica (pg_stat_statements).
3. Replica stopped under load: reads move to the primary, no 5xx; back to the replica when
   it returns.
4. PgBouncer: the races (20 enrols of one user, 30 users for 5 seats, one idempotency key
   sent 10 times) through it; no prepared statement or SET left on its server
   connections; a PgBouncer restart under load loses no idempotent request; a PostgreSQL
   restart under a read load through PgBouncer fails no GET.
5. An instance killed (SIGKILL) under a read load through nginx: no failed GET; SIGTERM
   lets the request in flight finish.
6. One Redis for both instances: a write through one is seen by the next anonymous read
   through the other; throttling counts across instances.
7. The mixed load of bench/ through nginx and to one instance: zero errors.

Each test leaves the topology as it found it (every process running).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from deploy.topology_load import measure
from harness import Answer, Client, Load, summary, wait_until
from tests.topology.conftest import Site, statement_calls

pytestmark = [pytest.mark.postgres, pytest.mark.topology]

CONNECT_TIMEOUT = 3.0  # DB_CONNECT_TIMEOUT
REPLICA_RETRY_SECONDS = 5.0  # settings.REPLICA_RETRY_SECONDS
ENROLLMENT_READS = '%FROM "courses_enrollment"%'


def run_in_parallel(count: int, request: Callable[[int], Answer]) -> list[Answer]:
    """`request(i)` from `count` threads released at once."""
    barrier = threading.Barrier(count)
    answers: list[Answer | None] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        answers[i] = request(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(answer is not None for answer in answers)
    return [answer for answer in answers if answer is not None]


def once(client: Client, method: str, path: str, body: Any = None, **headers: str) -> Answer:
    try:
        return client.request(method, path, body, headers=headers)
    finally:
        client.close()


def retried(client: Client, method: str, path: str, body: Any = None, *, tries: int = 8) -> Answer:
    """The contract's client: a 503 or no answer is sent again, after a pause, with the
    same Idempotency-Key."""
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    for _ in range(tries):
        answer = client.request(method, path, body, headers=headers)
        if answer.status not in (0, 503):
            return answer
        time.sleep(0.5)
    return answer


# --- 1. The contract through the balancer -------------------------------------------------------


def test_the_contract_through_the_balancer(site: Site) -> None:
    programme = int(site.primary_sql("SELECT id FROM programmes_programme WHERE is_active ORDER BY id LIMIT 1"))
    course = site.open_courses(1)[0]
    reads = {
        "/programmes/?page_size=5&page=2": 200,
        f"/programmes/{programme}/": 200,
        f"/programmes/{programme}/courses/": 200,
        "/courses/?ordering=price&page_size=7": 200,
        f"/courses/{course}/": 200,
        f"/courses/{course}/reviews/": 200,
        "/programmes/?page=0": 400,
        "/programmes/?page=999": 404,
        "/courses/99999999/": 404,
    }
    for path, status in reads.items():
        through = once(site.nginx(), "GET", path)
        assert through.status == status, (path, through.status, through.body[:300])
        for index in (0, 1):
            direct = once(site.direct(index), "GET", path)
            assert (direct.status, direct.body) == (through.status, through.body), (path, index)
    # What nginx adds and keeps: HSTS (Django saw HTTPS), links on the site's own origin.
    page = once(site.nginx(), "GET", "/programmes/?page_size=5")
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    assert page.json()["next"] == f"{site.topology.nginx.url}/programmes/?page=2&page_size=5"
    assert once(site.nginx(), "GET", "/healthz", **{"X-Request-ID": "topology-1"}).headers["X-Request-ID"] == (
        "topology-1"
    )

    # Login with a password (the real hasher), then the caller's own pages.
    login = once(
        site.nginx(), "POST", "/auth/token/", {"email": "student@brisk.local", "password": "brisk-student-demo"}
    )
    assert login.status == 200, login.body
    student = login.json()["access"]
    assert once(site.nginx(student), "GET", "/me/").json()["email"] == "student@brisk.local"
    assert once(site.nginx("not-a-token"), "GET", "/me/").status == 401

    # Writes: an instructor creates and edits a course; a student enrols, progresses, cancels.
    instructor, staff = site.tokens(["instructor@brisk.local", "staff@brisk.local"])
    category = int(site.primary_sql("SELECT id FROM courses_category ORDER BY id LIMIT 1"))
    body: dict[str, Any] = {
        "title": "Topology",
        "slug": f"topology-{uuid.uuid4().hex[:8]}",
        "summary": "S",
        "description": "D",
    }
    body |= {"price": "19.50", "category": category, "is_published": True}
    assert once(site.nginx(), "POST", "/courses/", body).status == 401
    assert once(site.nginx(student), "POST", "/courses/", body).status == 403
    created = once(site.nginx(instructor), "POST", "/courses/", body)
    assert created.status == 201, created.body
    new_course = created.json()["id"]
    edited = once(site.nginx(instructor), "PATCH", f"/courses/{new_course}/", {"title": "Topology, edited"})
    assert (edited.status, edited.json()["title"]) == (200, "Topology, edited")
    key = {"Idempotency-Key": uuid.uuid4().hex}
    enrolled = once(site.nginx(student), "POST", f"/courses/{new_course}/enroll/", **key)
    replayed = once(site.nginx(student), "POST", f"/courses/{new_course}/enroll/", **key)
    assert enrolled.status == 201, enrolled.body
    assert (replayed.status, replayed.body, replayed.headers.get("Idempotent-Replayed")) == (201, enrolled.body, "true")
    enrollment = enrolled.json()["id"]
    progress = once(site.nginx(student), "PATCH", f"/enrollments/{enrollment}/", {"progress": 40})
    assert (progress.status, progress.json()["progress"]) == (200, 40)
    assert once(site.nginx(student), "POST", f"/enrollments/{enrollment}/cancel/").json()["status"] == "cancelled"
    deleted = once(site.nginx(staff), "DELETE", f"/courses/{new_course}/")
    assert deleted.status == 409  # it has an enrollment: deleting would orphan it


# --- 2. Read-your-writes with replication lag ----------------------------------------------------


def test_a_writer_reads_its_write_while_the_replica_lags(site: Site) -> None:
    primary, replica = site.topology.primary, site.topology.replica
    writer_email, reader_email = site.learners(2, offset=20)
    writer, reader = site.tokens([writer_email, reader_email])
    course = site.open_courses(1, offset=30)[0]
    site.replica_sql("SELECT pg_wal_replay_pause()")
    try:
        enrolled = once(site.nginx(writer, source="127.0.0.21"), "POST", f"/courses/{course}/enroll/")
        assert enrolled.status in (200, 201), enrolled.body
        enrollment = enrolled.json()["id"]
        assert site.replica_sql(f"SELECT count(*) FROM courses_enrollment WHERE id = {enrollment}") == "0"
        # The writer, through nginx and through each instance: its own write, at once.
        for client in (site.nginx(writer, source="127.0.0.21"), site.direct(0, writer), site.direct(1, writer)):
            mine = once(client, "GET", "/enrollments/?page_size=100")
            assert mine.status == 200
            assert enrollment in {row["id"] for row in mine.json()["results"]}
            assert once(client, "GET", f"/enrollments/{enrollment}/").status == 200
        # Another client (other token, other address) reads from the replica, lagging.
        before = statement_calls(replica, ENROLLMENT_READS), statement_calls(primary, ENROLLMENT_READS)
        for client in (
            site.nginx(reader, source="127.0.0.22"),
            site.direct(0, reader, source="127.0.0.22"),
            site.direct(1, reader, source="127.0.0.22"),
        ):
            assert once(client, "GET", "/enrollments/").status == 200
        after = statement_calls(replica, ENROLLMENT_READS), statement_calls(primary, ENROLLMENT_READS)
        assert after[0] - before[0] >= 6, (before, after)  # count + page, three times, on the replica
        assert after[1] == before[1], (before, after)  # none on the primary
    finally:
        site.replica_sql("SELECT pg_wal_replay_resume()")
    site.topology.replica_caught_up()


# --- 3. The replica goes away -----------------------------------------------------------------


def reader_step(courses: list[int]) -> Callable[[Client, int], Answer]:
    """Signed-in reads (never served from the cache: they reach a database) and catalogue."""

    def step(client: Client, i: int) -> Answer:
        rng = random.Random(i)
        return client.get(
            rng.choice(["/enrollments/", "/me/", f"/courses/{rng.choice(courses)}/", "/courses/?ordering=price"])
        )

    return step


def test_replica_down_then_back(site: Site) -> None:
    primary, replica = site.topology.primary, site.topology.replica
    tokens = site.tokens(site.learners(4, offset=40))
    load = Load(
        site.topology.nginx.port,
        reader_step(site.open_courses(20)),
        threads=4,
        max_seconds=60,
        pause=0.02,
        tokens=tokens,  # type: ignore[arg-type]
        client_options={"tls": site.topology.nginx.tls_context(), "source": "127.0.0.31"},
    ).start()
    try:
        time.sleep(2)
        replica.stop()
        stopped = time.monotonic()
        on_primary = statement_calls(primary, ENROLLMENT_READS)
        time.sleep(4)
        assert statement_calls(primary, ENROLLMENT_READS) - on_primary > 10  # the reads moved
        replica.start()
        back = time.monotonic()
        time.sleep(REPLICA_RETRY_SECONDS + 1)
        on_replica = statement_calls(replica, ENROLLMENT_READS)
        time.sleep(2)
        assert statement_calls(replica, ENROLLMENT_READS) - on_replica > 10  # and came back
    finally:
        answers = load.stop()
        try:
            replica.psql("SELECT 1")
        except subprocess.CalledProcessError:  # the test failed while it was down
            replica.start()
    down = [a for a in answers if stopped <= a.started < back]
    print(f"replica down: {summary(down)}; all: {summary(answers)}")
    assert len(down) > 20, summary(answers)
    assert all(a.status == 200 for a in answers), summary(answers)
    assert max(a.seconds for a in down) < CONNECT_TIMEOUT + 1.5, summary(down)


# --- 4. PgBouncer in transaction mode ---------------------------------------------------------


def test_races_and_idempotency_through_pgbouncer(site: Site) -> None:
    instructor = site.tokens(["instructor@brisk.local"])[0]
    learners = site.learners(31, offset=60)
    tokens = site.tokens(learners)
    # 20 simultaneous enrolments of one user in one course: one row.
    course, other = site.courses_without(learners[:1], 2)
    answers = run_in_parallel(20, lambda i: once(site.nginx(tokens[0]), "POST", f"/courses/{course}/enroll/"))
    assert Counter(a.status for a in answers) == {201: 1, 200: 19}, summary(answers)
    user = f"(SELECT id FROM accounts_user WHERE email = '{learners[0]}')"
    assert (
        site.primary_sql(f"SELECT count(*) FROM courses_enrollment WHERE course_id = {course} AND user_id = {user}")
        == "1"
    )
    # 30 users for 5 seats: exactly 5.
    category = int(site.primary_sql("SELECT id FROM courses_category ORDER BY id LIMIT 1"))
    body: dict[str, Any] = {
        "title": "Five seats",
        "slug": f"five-{uuid.uuid4().hex[:8]}",
        "summary": "S",
        "description": "D",
    }
    body |= {"price": "10.00", "category": category, "is_published": True, "capacity": 5}
    created = once(site.nginx(instructor), "POST", "/courses/", body)
    assert created.status == 201, created.body
    small = created.json()["id"]
    answers = run_in_parallel(30, lambda i: once(site.nginx(tokens[i + 1]), "POST", f"/courses/{small}/enroll/"))
    assert sorted(a.status for a in answers) == [201] * 5 + [409] * 25, summary(answers)
    assert site.primary_sql(f"SELECT count(*) FROM courses_enrollment WHERE course_id = {small}") == "5"
    # One Idempotency-Key sent 10 times at once: one effect, the same answer for all.
    key = uuid.uuid4().hex
    answers = run_in_parallel(
        10, lambda i: once(site.nginx(tokens[0]), "POST", f"/courses/{other}/enroll/", **{"Idempotency-Key": key})
    )
    assert {a.status for a in answers} == {201}, summary(answers)
    assert len({a.body for a in answers}) == 1
    assert sum(1 for a in answers if a.headers.get("Idempotent-Replayed")) == 9


def test_no_prepared_statement_or_setting_left_on_pgbouncer_connections(site: Site) -> None:
    """After the application's traffic, every server connection PgBouncer hands out is as
    a new session: no prepared statement, no setting changed by SET. (Each client below
    holds its server connection in an open transaction, so each sees a different one.)"""
    load = Load(site.topology.nginx.port, reader_step(site.open_courses(20)), threads=4, max_seconds=3)
    load.client_options = {"tls": site.topology.nginx.tls_context()}
    tokens = site.tokens(site.learners(2, offset=95))
    load.tokens = tokens  # type: ignore[assignment]
    load.start()
    for token in tokens:  # writes too: transactions, locks, savepoints
        for course in site.open_courses(3, offset=50):
            once(site.nginx(token, source="127.0.0.41"), "POST", f"/courses/{course}/enroll/")
    answers = load.stop()
    assert all(a.status == 200 for a in answers), summary(answers)
    servers = len(site.topology.pgbouncer.admin("SHOW SERVERS").splitlines())
    assert servers > 0
    # PgBouncer itself sets these per client (it tracks them); nothing else may differ.
    tracked = "'client_encoding', 'DateStyle', 'TimeZone', 'standard_conforming_strings', 'application_name'"
    clients = [site.pgbouncer_connection() for _ in range(servers)]
    try:
        for connection in clients:
            connection.execute("SELECT 1")  # BEGIN (autocommit off): this server is ours now
        for connection in clients:
            prepared = connection.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()
            changed = connection.execute(
                f"SELECT name, setting FROM pg_settings WHERE source = 'session' AND name NOT IN ({tracked})"
            ).fetchall()
            timeout = connection.execute("SHOW statement_timeout").fetchone()
            cursors = connection.execute("SELECT count(*) FROM pg_cursors").fetchone()
            assert (prepared, changed, timeout, cursors) == ((0,), [], ("10s",), (0,))
    finally:
        for connection in clients:
            connection.close()


def test_pgbouncer_restart_under_load_loses_no_idempotent_request(site: Site) -> None:
    learners = site.learners(4, offset=100)
    tokens = site.tokens(learners)
    courses = site.courses_without(learners, 40)
    results: list[tuple[str, int, Answer]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(index: int) -> None:
        client = site.nginx(tokens[index], source=f"127.0.0.{50 + index}")
        try:
            for course in courses[index::4]:
                if stop.is_set():
                    break
                answer = retried(client, "POST", f"/courses/{course}/enroll/")
                with lock:
                    results.append((learners[index], course, answer))
                time.sleep(0.1)
        finally:
            client.close()

    load = Load(
        site.topology.nginx.port,
        reader_step(courses),
        threads=2,
        max_seconds=30,
        tokens=tokens,  # type: ignore[arg-type]
        client_options={"tls": site.topology.nginx.tls_context(), "source": "127.0.0.59"},
    ).start()
    writers = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for thread in writers:
        thread.start()
    try:
        time.sleep(1.5)
        site.topology.pgbouncer.restart()  # online: the new process takes the old one's sockets
        time.sleep(1.5)
    finally:
        stop.set()
        for thread in writers:
            thread.join(timeout=60)
        reads = load.stop()
    print(f"PgBouncer restart: writes {Counter(a.status for _, _, a in results)}; reads {summary(reads)}")
    assert len(results) > 8
    assert all(a.status == 201 for _, _, a in results), [(a.status, a.body[:100]) for _, _, a in results]
    for email, course, _ in results:  # each effect exactly once
        row = f"course_id = {course} AND user_id = (SELECT id FROM accounts_user WHERE email = '{email}')"
        assert site.primary_sql(f"SELECT count(*) FROM courses_enrollment WHERE {row}") == "1"
    assert all(a.status == 200 for a in reads), summary(reads)


def test_postgres_restart_under_a_read_load_through_pgbouncer_fails_no_get(site: Site) -> None:
    """The reads go through PgBouncer to the primary: their callers write now and then, so
    they are pinned to it (core.db_router). Restarted as planned (PAUSE, restart, RESUME),
    PgBouncer holds their queries while PostgreSQL comes back (query_wait_timeout 10 s).
    (Unannounced, pg_ctl restart alone: PgBouncer answers the queries that find the
    server down with an error at once, and Brisk with fast 503s: 31 of 215 GETs for a
    0.5 s restart when measured.)"""
    primary, pgbouncer = site.topology.primary, site.topology.pgbouncer
    learners = site.learners(3, offset=110)
    tokens = site.tokens(learners)
    enrollments = [
        int(once(site.nginx(token, source="127.0.0.61"), "POST", f"/courses/{course}/enroll/").json()["id"])
        for token, course in zip(tokens, site.courses_without(learners, 3), strict=True)
    ]
    stop = threading.Event()
    writes: list[Answer] = []

    def pin() -> None:  # a write from the readers' address every second: all pinned
        client = site.nginx(tokens[0], source="127.0.0.61")
        while not stop.is_set():
            writes.append(retried(client, "PATCH", f"/enrollments/{enrollments[0]}/", {"progress": 10}))
            stop.wait(1)
        client.close()

    pinner = threading.Thread(target=pin)
    pinner.start()
    time.sleep(0.5)
    load = Load(
        site.topology.nginx.port,
        lambda client, i: client.get(random.Random(i).choice(["/enrollments/", "/me/"])),
        threads=4,
        max_seconds=40,
        pause=0.02,
        tokens=tokens,  # type: ignore[arg-type]
        client_options={"tls": site.topology.nginx.tls_context(), "source": "127.0.0.61"},
    ).start()
    try:
        time.sleep(2)
        began = time.monotonic()
        site.topology.restart_primary()  # PAUSE, pg_ctl stop -m fast, start -w, RESUME
        restart_seconds = time.monotonic() - began
        time.sleep(3)
    finally:
        answers = load.stop()
        stop.set()
        pinner.join(timeout=30)
    print(f"PostgreSQL restart ({restart_seconds:.1f}s) behind PgBouncer: {summary(answers)}")
    print(f"PgBouncer pools: {pgbouncer.admin('SHOW POOLS')}")
    # Counted since the restart (pg_stat_statements starts again): the reads were on the primary.
    assert statement_calls(primary, ENROLLMENT_READS) > 0
    assert len(answers) > 50, summary(answers)
    failed = [a for a in answers if a.status != 200]
    assert not failed, summary(answers)
    assert all(a.status == 200 for a in writes), summary(writes)


# --- 5. An instance dies ---------------------------------------------------------------------


def test_an_instance_killed_or_stopped_under_load(site: Site) -> None:
    instances = site.topology.instances
    in_flight: dict[str, Answer] = {}
    load = Load(
        site.topology.nginx.port,
        reader_step(site.open_courses(20)),
        threads=4,
        max_seconds=90,
        pause=0.01,
        tokens=site.tokens(site.learners(2, offset=120)),  # type: ignore[arg-type]
        client_options={"tls": site.topology.nginx.tls_context(), "source": "127.0.0.71"},
    ).start()
    try:
        time.sleep(2)
        killed = instances[0]
        assert killed.process is not None
        os.killpg(killed.process.pid, signal.SIGKILL)
        killed.process.wait(timeout=10)
        time.sleep(3)
        killed.start(ready_timeout=60)  # a new log: this run's lines only
        # nginx skips a failed upstream for fail_timeout (10 s): stop the other one only
        # once nginx sends the restarted one requests again, or no upstream is left.
        wait_until(
            lambda: (log := killed.log_text()).count('"GET /') - log.count('"GET /healthz') > 3,
            timeout=30,
            what="nginx routing to the restarted instance",
        )
        # SIGTERM to the other: its request in flight (an enrolment waiting on a row lock
        # held here) still gets its answer.
        stopped = instances[1]
        assert stopped.process is not None
        learner = site.learners(1, offset=125)
        course = site.courses_without(learner, 1)[0]
        token = site.tokens(learner)[0]
        with psycopg.connect(site.topology.primary.url("brisk")) as lock:
            lock.execute(f"SELECT id FROM courses_course WHERE id = {course} FOR UPDATE")
            sender = threading.Thread(
                target=lambda: in_flight.update(
                    answer=once(site.direct(1, token, source="127.0.0.72"), "POST", f"/courses/{course}/enroll/")
                )
            )
            sender.start()
            time.sleep(1)
            stopped.process.send_signal(signal.SIGTERM)
            time.sleep(1)
            lock.rollback()
        sender.join(timeout=30)
        assert stopped.process.wait(timeout=30) == 0
        stopped.start(ready_timeout=60)
        time.sleep(1)
    finally:
        answers = load.stop()
        for instance in instances:
            if instance.process is None or instance.process.poll() is not None:
                instance.start(ready_timeout=60)
    print(f"instance killed, then one stopped: {summary(answers)}; in flight: {in_flight['answer'].status}")
    assert in_flight["answer"].status == 201, in_flight["answer"]
    assert len(answers) > 100, summary(answers)
    assert all(a.status == 200 for a in answers), summary(answers)


# --- 6. One Redis for both instances ------------------------------------------------------------


def test_cache_and_throttles_are_shared_by_the_instances(site: Site) -> None:
    course = site.courses_without([], 1)[0]
    staff = site.tokens(["staff@brisk.local"])[0]
    path = f"/courses/{course}/"
    assert once(site.direct(1), "GET", path).status == 200
    warm = once(site.direct(1), "GET", path)
    assert warm.headers["X-Cache"] == "hit"
    title = f"Renamed {uuid.uuid4().hex[:6]}"
    assert once(site.direct(0, staff), "PATCH", path, {"title": title}).status == 200
    fresh = once(site.direct(1), "GET", path)  # the other instance, anonymous
    assert (fresh.headers["X-Cache"], fresh.json()["title"]) == ("miss", title)
    again = once(site.nginx(), "GET", path)
    assert (again.headers["X-Cache"], again.json()["title"]) == ("hit", title)

    # Registration: 10 a minute per client address (THROTTLE_AUTH_REGISTER), counted in
    # Redis: alternating instances, the 11th is refused wherever it lands.
    statuses = [once(site.direct(i % 2, source="127.0.0.81"), "POST", "/auth/register/", {}).status for i in range(12)]
    assert statuses == [400] * 10 + [429] * 2, statuses


# --- 7. The mixed load ---------------------------------------------------------------------------


def test_mixed_load_through_nginx_and_one_instance_has_no_error(site: Site) -> None:
    figures = measure(site.topology, seconds=6, rounds=1, connections=8)
    for item in figures:
        result = item.rounds[0]
        print(f"{item.target}: {result.rps:.0f} req/s, p99 {result.latency_us['99'] / 1000:.1f} ms, {result.statuses}")
        assert result.requests > 100
        assert result.errors == 0, (item.target, result.statuses, result.socket_errors, result.label_errors)
