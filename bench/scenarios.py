"""The scenarios: which server each one loads, with which list of requests.

Ids, search words, users and their enrollments are read from the bench database with
fixed, deterministic queries, so every run sends the same requests.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from bench.common import log
from bench.load import Req
from harness import INSTRUCTOR, LEARNER_PASSWORD, STUDENT, http_request

HEADLINE = "/programmes/?page=1&page_size=10"

# The demo accounts of `seed_demo` (README); generated users share one password.
GENERATED_DOMAIN = "demo.brisk.local"
GENERATED_PASSWORD = LEARNER_PASSWORD
MIXED_USERS = 8  # generated students writing in the mixed scenario, besides the demo student


class Unavailable(Exception):
    """The scenario cannot run here (its endpoint or its data is not there yet)."""


@dataclass
class Context:
    """What the scenarios are built from: the servers' URLs and the bench database."""

    urls: dict[str, str]
    db: psycopg.Connection[Any]
    tokens: dict[str, str] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    def token(self, email: str, password: str) -> str:
        """An access token from POST /auth/token/ (kept for the run)."""
        if email not in self.tokens:
            answer = http_request(
                self.urls["brisk"] + "/auth/token/",
                method="POST",
                headers={"Content-Type": "application/json"},
                body=json.dumps({"email": email, "password": password}).encode(),
            )
            if answer.status != 200:
                raise Unavailable(f"POST /auth/token/ for {email} answered {answer.status}")
            self.tokens[email] = json.loads(answer.body)["access"]
        return self.tokens[email]

    def bearer(self, email: str, password: str) -> tuple[tuple[str, str], ...]:
        return (("Authorization", f"Bearer {self.token(email, password)}"),)

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        try:
            return self.db.execute(sql, params or []).fetchall()  # type: ignore[arg-type]
        except psycopg.Error as error:
            raise Unavailable(f"the bench database has no such data: {error}".splitlines()[0]) from error


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    server: str  # key of Context.urls
    build: Callable[[Context], list[Req]]
    probe_statuses: tuple[int, ...] = (200,)
    writes: bool = False


def _get(label: str, path: str, headers: tuple[tuple[str, str], ...] = ()) -> Req:
    return Req(label, "GET", path, headers)


def headline(ctx: Context) -> list[Req]:
    return [_get("programmes_p1", HEADLINE)]


def revalidated(ctx: Context) -> list[Req]:
    etag = ctx.facts.get("etag")
    if not etag:
        raise Unavailable("GET /programmes/ sent no ETag")
    return [_get("programmes_p1_304", HEADLINE, (("If-None-Match", etag),))]


def deep_page(ctx: Context) -> list[Req]:
    return [_get("programmes_last", f"/programmes/?page={ctx.facts['last_page']}&page_size=10")]


def course_search(ctx: Context) -> list[Req]:
    """A category filter and a title search that match, ten different pairs."""
    rows = ctx.rows(
        """
        SELECT DISTINCT ON (category_id) category_id, lower(split_part(title, ' ', 1))
          FROM courses_course
         WHERE is_published AND length(split_part(title, ' ', 1)) >= 4
         ORDER BY category_id, id
         LIMIT 10
        """
    )
    if not rows:
        raise Unavailable("no published courses")
    return [
        _get("courses_search", f"/courses/?category={category}&search={word}&page=1&page_size=10")
        for category, word in rows
    ]


def _course_ids(ctx: Context, count: int = 50) -> list[int]:
    rows = ctx.rows(
        "SELECT id FROM courses_course WHERE is_published AND capacity IS NULL ORDER BY md5(id::text) LIMIT %s",
        [count],
    )
    if not rows:
        raise Unavailable("no published courses")
    return [row[0] for row in rows]


def course_detail(ctx: Context) -> list[Req]:
    return [_get("course_detail", f"/courses/{course_id}/") for course_id in _course_ids(ctx)]


def my_enrollments(ctx: Context) -> list[Req]:
    return [_get("enrollments", "/enrollments/?page=1&page_size=10", ctx.bearer(*STUDENT))]


def instructor_dashboard(ctx: Context) -> list[Req]:
    return [_get("instructor", "/instructor/courses/?page=1&page_size=10", ctx.bearer(*INSTRUCTOR))]


def _writers(ctx: Context) -> dict[int, tuple[tuple[str, str], ...]]:
    """Students who write in the mixed scenario: user id -> Authorization header."""
    rows = ctx.rows(
        """
        SELECT u.id, u.email FROM accounts_user u
         WHERE u.email = %s
            OR (u.id IN (SELECT id FROM accounts_user WHERE role = 'student' AND email LIKE %s ORDER BY id LIMIT %s))
        """,
        [STUDENT[0], f"%@{GENERATED_DOMAIN}", MIXED_USERS],
    )
    writers: dict[int, tuple[tuple[str, str], ...]] = {}
    for user_id, email in rows:
        password = STUDENT[1] if email == STUDENT[0] else GENERATED_PASSWORD
        try:
            writers[user_id] = ctx.bearer(email, password)
        except Unavailable as error:
            log(f"  mixed: {error}; going on without this user")
    if not writers:
        raise Unavailable("no student could log in")
    return writers


def mixed(ctx: Context) -> list[Req]:
    """A frontend's traffic: 90% anonymous catalogue reads, 10% writes by several students
    (5% enrol in a course, 5% progress on one of their enrollments)."""
    writers = _writers(ctx)
    course_ids = _course_ids(ctx, 400)
    enrollments = ctx.rows(
        "SELECT id, user_id, course_id, status, progress FROM courses_enrollment WHERE user_id = ANY(%s) ORDER BY id",
        [list(writers)],
    )
    held = [(row[0], row[1]) for row in enrollments if row[3] == "active"]
    if not held:
        raise Unavailable("the writers have no active enrollment")
    # Put back after the run (bench/run.py undoes the scenario's writes).
    ctx.facts["progress_before"] = [(row[0], row[4]) for row in enrollments if row[3] == "active"]
    taken = {(row[1], row[2]) for row in enrollments}
    new_pairs = [(user, course) for course in course_ids for user in writers if (user, course) not in taken]
    json_type = (("Content-Type", "application/json"),)
    rng = random.Random(8)
    requests: list[Req] = []
    for _ in range(20_000):  # long enough that a whole run sends each write once
        draw = rng.random()
        if draw < 0.40:
            requests.append(_get("read_programmes_p1", HEADLINE))
        elif draw < 0.50:
            requests.append(_get("read_programmes_pN", f"/programmes/?page={rng.randint(2, 5)}&page_size=10"))
        elif draw < 0.65:
            requests.append(_get("read_courses", f"/courses/?page={rng.randint(1, 3)}&page_size=10"))
        elif draw < 0.90:
            requests.append(_get("read_course_detail", f"/courses/{rng.choice(course_ids[:50])}/"))
        elif draw < 0.95 and new_pairs:
            user, course = new_pairs.pop(rng.randrange(len(new_pairs)))
            requests.append(Req("write_enroll", "POST", f"/courses/{course}/enroll/", writers[user] + json_type, "{}"))
        else:
            enrollment, user = rng.choice(held)
            body = json.dumps({"progress": rng.randint(1, 99)})
            path = f"/enrollments/{enrollment}/"
            requests.append(Req("write_progress", "PATCH", path, writers[user] + json_type, body))
    return requests


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("warm", "GET /programmes/ page 1, warm (catalogue cache on)", "brisk", headline),
    Scenario("ref_redis", "reference: pre-rendered page from one Redis GET", "ref_redis", headline),
    Scenario("cold", "GET /programmes/ page 1, cold (catalogue cache off)", "brisk_cold", headline),
    Scenario("ref_sql", "reference: page + live aggregates in SQL, bare WSGI", "ref_sql", headline),
    Scenario("revalidated", "GET /programmes/ page 1, If-None-Match -> 304", "brisk", revalidated, (304,)),
    Scenario("deep", "GET /programmes/ last page, cold", "brisk_cold", deep_page),
    Scenario("courses", "GET /courses/ category filter + search, cold", "brisk_cold", course_search),
    Scenario("course_detail", "GET /courses/{id}/ (50 ids), cold", "brisk_cold", course_detail),
    Scenario("enrollments", "GET /enrollments/ (demo student, JWT)", "brisk", my_enrollments),
    Scenario("instructor", "GET /instructor/courses/ (demo instructor, JWT)", "brisk", instructor_dashboard),
    Scenario("mixed", "mixed: 90% catalogue reads, 10% writes (students)", "brisk", mixed, writes=True),
)
