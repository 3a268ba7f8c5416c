"""The permission matrix: every endpoint and method of the contract, for every kind of caller.

Each case builds the same small world, sends one request as one caller with a real Bearer
token, checks the status, and, when the request was refused (4xx), that no row of any table
changed.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.tokens import default_token_generator
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts.emails import email_verification_token, password_reset_uid
from accounts.tokens import RefreshToken
from courses.models import Enrollment
from tests.factories import (
    CategoryFactory,
    CourseFactory,
    EnrollmentFactory,
    InstructorFactory,
    ProgrammeFactory,
    ReviewFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ACTORS = ("anonymous", "student", "other_student", "instructor", "other_instructor", "staff")


@dataclass
class World:
    users: dict[str, Any]
    programme: Any
    course: Any  # published, taught by "instructor", "student" holds a seat
    empty_course: Any  # published, taught by "instructor", no enrollments
    unpublished: Any  # taught by "instructor"
    category: Any
    enrollment: Any  # "student" in `course`
    bystander: Any  # a user no caller is


@pytest.fixture
def world() -> World:
    users = {
        "student": UserFactory(),
        "other_student": UserFactory(),
        "instructor": InstructorFactory(),
        "other_instructor": InstructorFactory(),
        "staff": StaffFactory(),
    }
    programme = ProgrammeFactory()
    course = CourseFactory(instructor=users["instructor"], programmes=[programme], capacity=50)
    empty_course = CourseFactory(instructor=users["instructor"], programmes=[programme])
    unpublished = CourseFactory(instructor=users["instructor"], is_published=False)
    enrollment = EnrollmentFactory(user=users["student"], course=course, progress=10)
    EnrollmentFactory(user=users["other_student"], course=unpublished)
    ReviewFactory(course=course, user=EnrollmentFactory(course=course).user)
    return World(
        users=users,
        programme=programme,
        course=course,
        empty_course=empty_course,
        unpublished=unpublished,
        category=CategoryFactory(),
        enrollment=enrollment,
        bystander=UserFactory(),
    )


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every project table (sessions and idempotency keys aside)."""
    labels = ("accounts", "programmes", "courses")
    return {
        model._meta.label: sorted(model._default_manager.values(), key=lambda row: row["id"])
        for model in apps.get_models()
        if model._meta.app_label in labels
    }


def client_for(world: World, actor: str) -> APIClient:
    client = APIClient()
    if actor != "anonymous":
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(world.users[actor])}")
    return client


@dataclass(frozen=True)
class Case:
    method: str
    path: Callable[[World], str]
    body: Callable[[World, str], dict[str, Any]] | None
    expected: dict[str, int]


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ACTORS, status)


def signed_in(status: int, **overrides: int) -> dict[str, int]:
    return {"anonymous": 401, **dict.fromkeys(ACTORS[1:], status), **overrides}


def staff_only(status: int) -> dict[str, int]:
    return signed_in(403, staff=status)


def owner_or_staff(status: int) -> dict[str, int]:
    return signed_in(403, instructor=status, staff=status)


def own_enrollment(status: int) -> dict[str, int]:
    # Someone else's enrollment is a 404, not a 403; staff reach any.
    return signed_in(404, student=status, staff=status)


def course_body(world: World, actor: str) -> dict[str, Any]:
    return {
        "title": "New course",
        "slug": f"new-course-{actor}",
        "summary": "S",
        "description": "D",
        "price": "10.00",
        "category": world.category.pk,
        "capacity": 60,
    }


def programme_body(world: World, actor: str) -> dict[str, Any]:
    return {"title": "New programme", "slug": f"new-programme-{actor}", "summary": "S", "description": "D"}


CASES: dict[str, Case] = {
    # Authentication
    "register": Case(
        "post",
        lambda w: "/auth/register/",
        lambda w, a: {"email": f"{a}-new@example.com", "password": "Xq7!long-pass"},
        everyone(201),
    ),
    "token": Case(
        "post",
        lambda w: "/auth/token/",
        lambda w, a: {"email": w.bystander.email, "password": "password-123"},
        everyone(200),
    ),
    "token-wrong": Case(
        "post", lambda w: "/auth/token/", lambda w, a: {"email": w.bystander.email, "password": "nope"}, everyone(401)
    ),
    "token-refresh": Case(
        "post",
        lambda w: "/auth/token/refresh/",
        lambda w, a: {"refresh": str(RefreshToken.for_user(w.bystander))},
        everyone(200),
    ),
    "token-refresh-garbage": Case(
        "post", lambda w: "/auth/token/refresh/", lambda w, a: {"refresh": "not-a-token"}, everyone(401)
    ),
    # Whoever holds a refresh token may revoke it; the Authorization header is not read.
    "logout": Case(
        "post",
        lambda w: "/auth/logout/",
        lambda w, a: {"refresh": str(RefreshToken.for_user(w.bystander))},
        everyone(204),
    ),
    "logout-garbage": Case("post", lambda w: "/auth/logout/", lambda w, a: {"refresh": "not-a-token"}, everyone(401)),
    "password-reset": Case(
        "post", lambda w: "/auth/password-reset/", lambda w, a: {"email": w.bystander.email}, everyone(202)
    ),
    "password-reset-confirm": Case(
        "post",
        lambda w: "/auth/password-reset/confirm/",
        lambda w, a: {
            "uid": password_reset_uid(w.bystander),
            "token": default_token_generator.make_token(w.bystander),
            "new_password": "Xq7!long-pass",
        },
        everyone(204),
    ),
    "password-reset-confirm-bad-token": Case(
        "post",
        lambda w: "/auth/password-reset/confirm/",
        lambda w, a: {"uid": password_reset_uid(w.bystander), "token": "bad-token", "new_password": "Xq7!long-pass"},
        everyone(400),
    ),
    "verify-email": Case(
        "post",
        lambda w: "/auth/verify-email/",
        lambda w, a: {"token": email_verification_token(w.bystander)},
        everyone(200),
    ),
    "verify-email-bad-token": Case("post", lambda w: "/auth/verify-email/", lambda w, a: {"token": "x"}, everyone(400)),
    "me-get": Case("get", lambda w: "/me/", None, signed_in(200)),
    "me-patch": Case("patch", lambda w: "/me/", lambda w, a: {"first_name": "New"}, signed_in(200)),
    "me-password": Case(
        "post",
        lambda w: "/me/password/",
        lambda w, a: {"current_password": "password-123", "new_password": "Xq7!long-pass"},
        signed_in(200),
    ),
    "me-password-wrong": Case(
        "post",
        lambda w: "/me/password/",
        lambda w, a: {"current_password": "nope", "new_password": "Xq7!long-pass"},
        signed_in(400),
    ),
    "me-verify-email": Case("post", lambda w: "/me/verify-email/", None, signed_in(202)),
    # Programmes
    "programme-list": Case("get", lambda w: "/programmes/", None, everyone(200)),
    "programme-detail": Case("get", lambda w: f"/programmes/{w.programme.pk}/", None, everyone(200)),
    "programme-courses": Case("get", lambda w: f"/programmes/{w.programme.pk}/courses/", None, everyone(200)),
    "programme-create": Case("post", lambda w: "/programmes/", programme_body, staff_only(201)),
    "programme-patch": Case(
        "patch", lambda w: f"/programmes/{w.programme.pk}/", lambda w, a: {"title": "Changed"}, staff_only(200)
    ),
    "programme-put": Case("put", lambda w: f"/programmes/{w.programme.pk}/", programme_body, staff_only(200)),
    "programme-delete": Case("delete", lambda w: f"/programmes/{w.programme.pk}/", None, staff_only(204)),
    # Courses
    "course-list": Case("get", lambda w: "/courses/", None, everyone(200)),
    "course-detail": Case("get", lambda w: f"/courses/{w.course.pk}/", None, everyone(200)),
    "course-detail-unpublished": Case(
        "get", lambda w: f"/courses/{w.unpublished.pk}/", None, {**everyone(404), "staff": 200}
    ),
    "course-create": Case("post", lambda w: "/courses/", course_body, signed_in(201, student=403, other_student=403)),
    "course-patch": Case(
        "patch", lambda w: f"/courses/{w.course.pk}/", lambda w, a: {"title": "Changed"}, owner_or_staff(200)
    ),
    "course-patch-unpublished": Case(
        "patch", lambda w: f"/courses/{w.unpublished.pk}/", lambda w, a: {"title": "Changed"}, owner_or_staff(200)
    ),
    "course-put": Case("put", lambda w: f"/courses/{w.course.pk}/", course_body, owner_or_staff(200)),
    "course-delete-with-enrollments": Case("delete", lambda w: f"/courses/{w.course.pk}/", None, owner_or_staff(409)),
    "course-delete": Case("delete", lambda w: f"/courses/{w.empty_course.pk}/", None, owner_or_staff(204)),
    "course-enroll": Case("post", lambda w: f"/courses/{w.course.pk}/enroll/", None, signed_in(201, student=200)),
    "course-enroll-unpublished": Case("post", lambda w: f"/courses/{w.unpublished.pk}/enroll/", None, signed_in(404)),
    "course-bulk": Case(
        "post",
        lambda w: f"/courses/{w.course.pk}/enrollments/bulk/",
        lambda w, a: {"user_ids": [w.bystander.pk, w.users["student"].pk]},
        staff_only(200),
    ),
    "course-reviews": Case("get", lambda w: f"/courses/{w.course.pk}/reviews/", None, everyone(200)),
    "course-review-create": Case(
        "post",
        lambda w: f"/courses/{w.course.pk}/reviews/",
        lambda w, a: {"rating": 5, "comment": "Good"},
        signed_in(403, student=201),
    ),
    # Enrollments
    "enrollment-list": Case("get", lambda w: "/enrollments/", None, signed_in(200)),
    "enrollment-detail": Case("get", lambda w: f"/enrollments/{w.enrollment.pk}/", None, own_enrollment(200)),
    "enrollment-patch": Case(
        "patch", lambda w: f"/enrollments/{w.enrollment.pk}/", lambda w, a: {"progress": 55}, own_enrollment(200)
    ),
    "enrollment-put": Case(
        "put", lambda w: f"/enrollments/{w.enrollment.pk}/", lambda w, a: {"progress": 55}, signed_in(405)
    ),
    "enrollment-delete": Case("delete", lambda w: f"/enrollments/{w.enrollment.pk}/", None, signed_in(405)),
    "enrollment-cancel": Case("post", lambda w: f"/enrollments/{w.enrollment.pk}/cancel/", None, own_enrollment(200)),
    # Instructor dashboard
    "instructor-courses": Case(
        "get", lambda w: "/instructor/courses/", None, signed_in(200, student=403, other_student=403)
    ),
}


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("name", list(CASES))
def test_permission_matrix(world: World, name: str, actor: str) -> None:
    case = CASES[name]
    client = client_for(world, actor)
    before = snapshot()
    kwargs = {"data": case.body(world, actor)} if case.body else {}
    response = getattr(client, case.method)(case.path(world), **kwargs)
    expected = case.expected[actor]
    assert response.status_code == expected, (name, actor, response.status_code, response.content[:300])
    if response.status_code >= 400:
        assert response.json()  # every error is JSON with a message
        assert snapshot() == before, f"{name} as {actor} was refused but changed the database"


@pytest.mark.parametrize("actor", ACTORS)
def test_refused_course_writes_leave_the_row_as_it_was(world: World, actor: str) -> None:
    """The row itself, field by field, after every refused write attempt on the course."""
    client = client_for(world, actor)
    before = snapshot()
    attempts = [
        ("patch", {"title": "X", "price": "1.00"}),
        ("put", course_body(world, actor)),
        ("delete", None),
    ]
    for method, body in attempts:
        response = getattr(client, method)(f"/courses/{world.course.pk}/", **({"data": body} if body else {}))
        if actor in ("instructor", "staff"):
            continue
        assert response.status_code in (401, 403)
    if actor not in ("instructor", "staff"):
        assert snapshot() == before


def test_enrollment_patch_cannot_assign_user_course_amount_or_status(world: World) -> None:
    client = client_for(world, "student")
    other_course = world.empty_course
    response = client.patch(
        f"/enrollments/{world.enrollment.pk}/",
        {
            "progress": 40,
            "user": world.users["other_student"].pk,
            "course": other_course.pk,
            "amount_paid": "0.00",
            "status": "completed",
            "enrolled_at": "2000-01-01T00:00:00Z",
            "completed_at": "2000-01-01T00:00:00Z",
        },
    )
    assert response.status_code == 200
    row = Enrollment.objects.get(pk=world.enrollment.pk)
    assert (row.user_id, row.course_id, row.amount_paid, row.status, row.progress, row.completed_at) == (
        world.users["student"].pk,
        world.course.pk,
        world.course.price,
        "active",
        40,
        None,
    )
    assert row.enrolled_at == world.enrollment.enrolled_at


def test_course_write_by_instructor_cannot_set_instructor_or_timestamps(world: World) -> None:
    client = client_for(world, "instructor")
    body = {
        **course_body(world, "x"),
        "instructor": world.users["other_instructor"].pk,
        "created_at": "2000-01-01T00:00:00Z",
        "id": 999_999,
        "enrollment_count": 99,
    }
    response = client.post("/courses/", body)
    assert response.status_code == 201
    from courses.models import Course

    row = Course.objects.get(slug=body["slug"])
    assert row.instructor_id == world.users["instructor"].pk
    assert row.pk != 999_999
    assert row.created_at.year > 2000
    patched = client.patch(f"/courses/{row.pk}/", {"instructor": world.users["other_instructor"].pk})
    assert patched.status_code == 200
    assert Course.objects.get(pk=row.pk).instructor_id == world.users["instructor"].pk


def test_enrol_ignores_any_body(world: World) -> None:
    client = client_for(world, "other_student")
    response = client.post(
        f"/courses/{world.course.pk}/enroll/",
        {"user": world.users["staff"].pk, "amount_paid": "0.00", "status": "completed", "progress": 100},
    )
    assert response.status_code == 201
    row = Enrollment.objects.get(pk=response.json()["id"])
    assert (row.user_id, row.amount_paid, row.status, row.progress) == (
        world.users["other_student"].pk,
        Decimal(world.course.price),
        "active",
        0,
    )
