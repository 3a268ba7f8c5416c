"""Writes lose nothing: learners enrol, move their progress, cancel and review, all at
once and on the same few courses (two of them nearly full), while the private PostgreSQL
is restarted under them. Clients behave as the contract asks: a 503 is retried with the
same Idempotency-Key.

Each learner is driven by one thread, so its own writes are ordered: the last write
answered 2xx for a (learner, course) says exactly what its enrollment must look like
afterwards, and nothing answered with an error (or never answered) may have changed it.
Then the database is read directly and checked:

- every enrollment answered 2xx is there, in the state of its last 2xx answer (status,
  progress, completed_at, amount_paid at the course's price), and a pair that never got
  a 2xx is as it was before;
- every review answered 201 is there as sent; no other review appeared;
- the invariants: one enrollment per learner and course, progress 0-100, `completed`
  exactly when progress is 100 and completed_at is set, held seats never above capacity,
  each new review by a learner with an enrollment.
"""

import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from harness import (
    LEARNER_PASSWORD,
    STAFF,
    Answer,
    Client,
    PrivatePostgres,
    demo_learners,
    login,
    published_ids,
    running_gunicorn,
    summary,
)

pytestmark = [pytest.mark.postgres, pytest.mark.fault]

LEARNERS = 8
COURSES = 5
LOAD_SECONDS = 14
RESTART_AFTER = 4


@dataclass
class Write:
    """One write as its client saw it (after its retries)."""

    op: str  # enroll | progress | cancel | review
    course: int
    answer: Answer
    sent: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.answer.status < 300


def send(client: Client, method: str, path: str, body: Any = None, *, idempotent: bool) -> Answer:
    """A client that follows the contract: a 503 (or no answer) is retried, after
    Retry-After, with the same Idempotency-Key, a few times."""
    headers = {"Idempotency-Key": uuid.uuid4().hex} if idempotent else {}
    answer = client.request(method, path, body, headers=headers)
    for _ in range(3):
        if answer.status not in (0, 503) or not idempotent:
            break
        time.sleep(1)
        answer = client.request(method, path, body, headers=headers)
    return answer


def learner_loop(port: int, token: str, courses: list[int], seed: int, stop: threading.Event) -> list[Write]:
    rng = random.Random(seed)
    enrollment_ids: dict[int, int] = {}
    writes: list[Write] = []
    with Client(port, token=token) as client:
        mine = client.get("/enrollments/?page_size=100")
        if mine.status == 200:
            enrollment_ids = {row["course"]["id"]: row["id"] for row in mine.json()["results"]}
        while not stop.is_set():
            course = rng.choice(courses)
            roll = rng.random()
            if course not in enrollment_ids or roll < 0.2:
                answer = send(client, "POST", f"/courses/{course}/enroll/", idempotent=rng.random() < 0.7)
                writes.append(Write("enroll", course, answer))
                if answer.status in (200, 201):
                    enrollment_ids[course] = answer.json()["id"]
            elif roll < 0.65:
                progress = 100 if rng.random() < 0.1 else rng.randint(0, 99)
                body: dict[str, Any] = {"progress": progress}
                answer = send(client, "PATCH", f"/enrollments/{enrollment_ids[course]}/", body, idempotent=False)
                writes.append(Write("progress", course, answer, body))
            elif roll < 0.8:
                path = f"/enrollments/{enrollment_ids[course]}/cancel/"
                writes.append(Write("cancel", course, send(client, "POST", path, idempotent=rng.random() < 0.7)))
            else:
                body = {"rating": rng.randint(1, 5), "comment": f"load {uuid.uuid4().hex}"}
                answer = send(client, "POST", f"/courses/{course}/reviews/", body, idempotent=rng.random() < 0.7)
                writes.append(Write("review", course, answer, body))
            time.sleep(rng.uniform(0, 0.05))
    return writes


def query_json(pg: PrivatePostgres, database: str, sql: str) -> list[dict[str, Any]]:
    out = pg.psql(f"SELECT coalesce(json_agg(t), '[]') FROM ({sql}) t", database)
    return list(json.loads(out))


def test_writes_under_a_postgres_restart_lose_nothing(
    live_env: dict[str, str], fault_pg: PrivatePostgres, fault_db: str
) -> None:
    emails = demo_learners(fault_pg, fault_db, LEARNERS)
    with running_gunicorn(live_env) as server:
        staff = Client(server.port, token=login(server.port, *STAFF))
        courses = published_ids(server.port, "/courses/")[:COURSES]
        prices = {}
        for index, course in enumerate(courses):
            detail = staff.get(f"/courses/{course}/").json()
            prices[course] = Decimal(detail["price"])
            # Two courses nearly full: learners race for their last seats.
            capacity = detail["enrollment_count"] + 3 if index < 2 else None
            assert staff.request("PATCH", f"/courses/{course}/", {"capacity": capacity}).status == 200
        staff.close()
        tokens = {email: login(server.port, email, LEARNER_PASSWORD) for email in emails}
        user_ids = {
            row["email"]: row["id"] for row in query_json(fault_pg, fault_db, "SELECT id, email FROM accounts_user")
        }
        learners = [user_ids[email] for email in emails]
        scope = f"user_id IN ({','.join(map(str, learners))}) AND course_id IN ({','.join(map(str, courses))})"
        enrollments_before = {
            (row["user_id"], row["course_id"]): row
            for row in query_json(fault_pg, fault_db, f"SELECT * FROM courses_enrollment WHERE {scope}")
        }
        reviews_before = {
            row["id"] for row in query_json(fault_pg, fault_db, f"SELECT id FROM courses_review WHERE {scope}")
        }

        stop = threading.Event()
        results: dict[str, list[Write]] = {}

        def run(email: str, seed: int) -> None:
            results[email] = learner_loop(server.port, tokens[email], courses, seed, stop)

        threads = [threading.Thread(target=run, args=(email, seed)) for seed, email in enumerate(emails)]
        for thread in threads:
            thread.start()
        try:
            time.sleep(RESTART_AFTER)
            fault_pg.restart()
            back = time.monotonic()
            time.sleep(LOAD_SECONDS - RESTART_AFTER)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
        log = server.log_text()

    writes = [write for email in emails for write in results[email]]
    answers = [write.answer for write in writes]
    print(f"{len(writes)} writes: {summary(answers)}")
    assert len(writes) > 100, summary(answers)
    # Every answer is one the contract knows: no 500, no dropped connection; a 503 only
    # while PostgreSQL restarted (and retried then).
    assert {a.status for a in answers} <= {200, 201, 403, 409, 503}, summary(answers)
    assert [w for w in writes if w.ok and w.answer.started >= back], "no write succeeded after the restart"
    assert "WORKER TIMEOUT" not in log
    assert "Internal Server Error" not in log

    enrollments = {
        (row["user_id"], row["course_id"]): row
        for row in query_json(fault_pg, fault_db, f"SELECT * FROM courses_enrollment WHERE {scope}")
    }
    reviews = {row["id"]: row for row in query_json(fault_pg, fault_db, f"SELECT * FROM courses_review WHERE {scope}")}

    # Durability, and nothing half-applied: the final state of each pair is its last 2xx.
    for email in emails:
        user = user_ids[email]
        for course in courses:
            done = [w for w in results[email] if w.course == course and w.op != "review" and w.ok]
            row = enrollments.get((user, course))
            if not done:
                assert row == enrollments_before.get((user, course)), (email, course, row)
                continue
            last = done[-1].answer.json()
            assert row is not None, (email, course, last)
            assert (row["id"], row["status"], row["progress"]) == (last["id"], last["status"], last["progress"]), (
                email,
                course,
                row,
                last,
            )
            assert (row["completed_at"] is None) == (last["completed_at"] is None), (row, last)
            assert Decimal(str(row["amount_paid"])) == Decimal(last["amount_paid"]), (row, last)
            if any(w.op == "enroll" and w.answer.status == 201 for w in done):
                assert Decimal(str(row["amount_paid"])) == prices[course]

    created = {w.answer.json()["id"]: w for w in writes if w.op == "review" and w.answer.status == 201}
    for review_id, write in created.items():
        row = reviews.get(review_id)
        assert row is not None, f"review {review_id} was answered 201 and is gone"
        assert (row["rating"], row["comment"], row["course_id"]) == (
            write.sent["rating"],
            write.sent["comment"],
            write.course,
        )
    appeared = set(reviews) - reviews_before
    assert appeared == set(created), f"reviews without a 201: {sorted(appeared - set(created))}"

    # Invariants over the whole database.
    assert not query_json(
        fault_pg, fault_db, "SELECT user_id, course_id FROM courses_enrollment GROUP BY 1, 2 HAVING count(*) > 1"
    )
    broken = query_json(
        fault_pg,
        fault_db,
        "SELECT id, status, progress, completed_at FROM courses_enrollment WHERE progress NOT BETWEEN 0 AND 100 "
        "OR (status = 'completed') <> (completed_at IS NOT NULL) "
        "OR (status = 'completed' AND progress <> 100)",
    )
    assert not broken, broken[:5]
    overbooked = query_json(
        fault_pg,
        fault_db,
        "SELECT c.id, c.capacity, count(e.id) AS held FROM courses_course c JOIN courses_enrollment e "
        "ON e.course_id = c.id AND e.status IN ('active', 'completed') WHERE c.capacity IS NOT NULL "
        "GROUP BY c.id HAVING count(e.id) > c.capacity",
    )
    assert not overbooked, overbooked
    for review_id in appeared:
        row = reviews[review_id]
        assert (row["user_id"], row["course_id"]) in enrollments, row
