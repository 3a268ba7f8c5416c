"""`seats_left` on a course detail is exact on the next read after every write that moves it.

Each test warms the detail page through the cache, writes one way, and reads it again as an
anonymous caller: the answer is computed afresh (`X-Cache: miss`) with the new count.
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client, override_settings
from rest_framework.test import APIClient

from courses.models import Course, Enrollment
from tests.factories import CourseFactory, EnrollmentFactory, ProgrammeFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def catalogue_cache_on() -> Iterator[None]:
    with override_settings(CATALOGUE_CACHE_ENABLED=True):
        yield


@pytest.fixture
def reader() -> APIClient:
    return APIClient()


def as_user(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def seats(reader: APIClient, course: Course, *, cache: str) -> int:
    response = reader.get(f"/courses/{course.pk}/")
    assert response.status_code == 200, response.content
    assert response["X-Cache"] == cache
    return int(response.json()["seats_left"])


def warm(reader: APIClient, course: Course) -> int:
    reader.get(f"/courses/{course.pk}/")
    return seats(reader, course, cache="hit")


def test_enroll(reader: APIClient) -> None:
    course = CourseFactory(capacity=3)
    assert warm(reader, course) == 3
    assert as_user(UserFactory()).post(f"/courses/{course.pk}/enroll/").status_code == 201
    assert seats(reader, course, cache="miss") == 2


def test_cancel_frees_the_last_seat(reader: APIClient) -> None:
    course = CourseFactory(capacity=1)
    enrollment = EnrollmentFactory(course=course)
    assert warm(reader, course) == 0
    assert as_user(enrollment.user).post(f"/enrollments/{enrollment.pk}/cancel/").status_code == 200
    assert seats(reader, course, cache="miss") == 1


def test_complete(reader: APIClient) -> None:
    course = CourseFactory(capacity=2)
    enrollment = EnrollmentFactory(course=course)
    assert warm(reader, course) == 1
    response = as_user(enrollment.user).patch(f"/enrollments/{enrollment.pk}/", {"progress": 100}, format="json")
    assert response.json()["status"] == "completed"
    # A completed enrollment still holds its seat: the answer is recomputed and unchanged.
    assert seats(reader, course, cache="miss") == 1


def test_progress_alone_keeps_the_cached_detail(reader: APIClient) -> None:
    course = CourseFactory(capacity=2)
    enrollment = EnrollmentFactory(course=course)
    assert warm(reader, course) == 1
    response = as_user(enrollment.user).patch(f"/enrollments/{enrollment.pk}/", {"progress": 40}, format="json")
    assert response.status_code == 200, response.content
    assert seats(reader, course, cache="hit") == 1


def test_bulk_enrollment(reader: APIClient) -> None:
    course = CourseFactory(capacity=5)
    assert warm(reader, course) == 5
    users = UserFactory.create_batch(3)
    response = as_user(StaffFactory()).post(
        f"/courses/{course.pk}/enrollments/bulk/", {"user_ids": [u.pk for u in users]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert seats(reader, course, cache="miss") == 2


def test_capacity_change(reader: APIClient) -> None:
    course = CourseFactory(capacity=5)
    assert warm(reader, course) == 5
    response = as_user(StaffFactory()).patch(f"/courses/{course.pk}/", {"capacity": 8}, format="json")
    assert response.status_code == 200, response.content
    assert seats(reader, course, cache="miss") == 8


def test_admin_cancel_action(reader: APIClient) -> None:
    course = CourseFactory(capacity=2)
    enrollment = EnrollmentFactory(course=course)
    assert warm(reader, course) == 1
    admin = Client()
    admin.force_login(StaffFactory(is_superuser=True))
    response = admin.post(
        "/admin/courses/enrollment/", {"action": "cancel", "_selected_action": [enrollment.pk], "index": 0}
    )
    assert response.status_code == 302
    assert seats(reader, course, cache="miss") == 2


def test_orm_update(reader: APIClient) -> None:
    course = CourseFactory(capacity=2)
    enrollment = EnrollmentFactory(course=course)
    assert warm(reader, course) == 1
    Enrollment.objects.filter(pk=enrollment.pk).update(status=Enrollment.Status.CANCELLED)
    assert seats(reader, course, cache="miss") == 2


@override_settings(CATALOGUE_CACHE_TTL=60)
def test_lists_keep_their_staleness_bound(reader: APIClient) -> None:
    """Only the detail reads the seats family: an enrollment leaves cached lists alone."""
    programme = ProgrammeFactory()
    course = CourseFactory(programmes=[programme], capacity=5)
    reader.get("/courses/")
    EnrollmentFactory(course=course)
    listed = reader.get("/courses/")
    assert listed["X-Cache"] == "hit"
    assert listed.json()["results"][0]["enrollment_count"] == 0
    assert seats(reader, course, cache="miss") == 4


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_write_from_another_process(reader: APIClient) -> None:
    """A management command's process never loads the middleware: its write watcher comes
    from CoreConfig.ready(), so the reader here sees the write at once."""
    course = CourseFactory(capacity=1)
    enrollment = EnrollmentFactory(course=course)
    assert warm(reader, course) == 0
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{connection.settings_dict['NAME']}",
    }
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    code = (
        "from courses.models import Enrollment; "
        f"Enrollment.objects.filter(pk={enrollment.pk}).update(status=Enrollment.Status.CANCELLED)"
    )
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True, capture_output=True
    )
    assert seats(reader, course, cache="miss") == 1
