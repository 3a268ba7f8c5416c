"""Course, enrollment and review writes through the API: shapes, rules, exact query
budgets, and the two races on PostgreSQL.

Budgets use force_authenticate (a Bearer token adds exactly one query, the user row: see
tests/accounts/test_auth.py) and count the SAVEPOINT/RELEASE of each service's
transaction (a test runs inside one; in production they are BEGIN/COMMIT, not logged).
"""

from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from courses.models import Course, Enrollment, Review
from programmes.models import ProgrammeCourse
from tests.conftest import RunInThreads
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


def as_user(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def course_body(**overrides: Any) -> dict[str, Any]:
    return {
        "title": "Rust",
        "slug": "rust",
        "summary": "S",
        "description": "D",
        "price": "19.50",
        "category": CategoryFactory().pk,
        **overrides,
    }


DETAIL_KEYS = {
    "id",
    "slug",
    "title",
    "summary",
    "price",
    "category",
    "instructor",
    "is_published",
    "enrollment_count",
    "rating_average",
    "rating_count",
    "created_at",
    "description",
    "capacity",
    "seats_left",
    "programmes",
}
ENROLLMENT_KEYS = {"id", "user", "course", "status", "progress", "amount_paid", "enrolled_at", "completed_at"}


# --- POST /courses/ --------------------------------------------------------------------


def test_create_course_answers_the_detail() -> None:
    instructor = InstructorFactory()
    programmes = ProgrammeFactory.create_batch(2)
    response = as_user(instructor).post(
        "/courses/", course_body(capacity=20, programmes=[p.pk for p in programmes], is_published=False)
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == DETAIL_KEYS
    assert body["instructor"]["id"] == instructor.pk
    assert (body["price"], body["capacity"], body["seats_left"], body["is_published"]) == ("19.50", 20, 20, False)
    assert {p["id"] for p in body["programmes"]} == {p.pk for p in programmes}


@pytest.mark.parametrize("programmes", [1, 30])
def test_create_course_query_budget(django_assert_num_queries: Any, programmes: int) -> None:
    client, body = (
        as_user(InstructorFactory()),
        course_body(programmes=[p.pk for p in ProgrammeFactory.create_batch(programmes)]),
    )
    # category lookup; course_create: SAVEPOINT, lock programmes, INSERT,
    # programme ends, INSERT links, RELEASE; the answer: course detail + its programmes.
    with django_assert_num_queries(9):
        response = client.post("/courses/", body)
    assert response.status_code == 201
    assert len(response.json()["programmes"]) == programmes


def test_create_course_as_staff_for_an_instructor_query_budget(django_assert_num_queries: Any) -> None:
    teacher = InstructorFactory()
    client, body = as_user(StaffFactory()), course_body(instructor=teacher.pk)
    # category and instructor lookups; SAVEPOINT, INSERT, RELEASE; detail + programmes.
    with django_assert_num_queries(7):
        response = client.post("/courses/", body)
    assert response.json()["instructor"]["id"] == teacher.pk


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"slug": "taken"}, "slug"),
        ({"slug": "not a slug"}, "slug"),
        ({"price": "-1.00"}, "price"),
        ({"price": "abc"}, "price"),
        ({"price": "123456789.00"}, "price"),
        ({"capacity": -1}, "capacity"),
        ({"category": 999_999}, "category"),
        ({"category": 2**70}, "category"),
        ({"category": "x"}, "category"),
        ({"programmes": [999_999]}, "programmes"),
        ({"programmes": "1"}, "programmes"),
        ({"title": ""}, "title"),
    ],
)
def test_create_course_bad_input_is_400_naming_the_field(overrides: dict[str, Any], field: str) -> None:
    CourseFactory(slug="taken")
    response = as_user(InstructorFactory()).post("/courses/", course_body(**overrides))
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert Course.objects.count() == 1


def test_create_course_staff_with_a_student_as_instructor_is_400() -> None:
    response = as_user(StaffFactory()).post("/courses/", course_body(instructor=UserFactory().pk))
    assert response.status_code == 400
    assert "instructor" in response.json()


# --- PATCH|PUT|DELETE /courses/{id}/ -----------------------------------------------------


def test_patch_course_by_its_instructor() -> None:
    course = CourseFactory(price=Decimal("10.00"))
    response = as_user(course.instructor).patch(f"/courses/{course.pk}/", {"title": "New", "price": "12.00"})
    assert response.status_code == 200
    assert (response.json()["title"], response.json()["price"]) == ("New", "12.00")
    course.refresh_from_db()
    assert (course.title, course.price) == ("New", Decimal("12.00"))


def test_put_course_needs_the_required_fields() -> None:
    course = CourseFactory()
    response = as_user(course.instructor).put(f"/courses/{course.pk}/", {"title": "Only"})
    assert response.status_code == 400
    assert {"slug", "price", "category"} <= set(response.json())


def test_patch_capacity_below_held_seats_is_400() -> None:
    course = CourseFactory(capacity=5)
    EnrollmentFactory.create_batch(3, course=course)
    response = as_user(course.instructor).patch(f"/courses/{course.pk}/", {"capacity": 2})
    assert response.status_code == 400
    assert "capacity" in response.json()
    assert Course.objects.get(pk=course.pk).capacity == 5


@pytest.mark.parametrize("enrollments", [1, 30])
def test_patch_course_query_budget(django_assert_num_queries: Any, enrollments: int) -> None:
    course = CourseFactory(capacity=100)
    EnrollmentFactory.create_batch(enrollments, course=course)
    client = as_user(course.instructor)
    # the course; SAVEPOINT, lock, count held, UPDATE, RELEASE; detail + programmes.
    with django_assert_num_queries(8):
        response = client.patch(f"/courses/{course.pk}/", {"slug": "renamed", "capacity": 60})
    assert response.json()["seats_left"] == 60 - enrollments


def test_delete_course() -> None:
    course = CourseFactory(programmes=[ProgrammeFactory()])
    ReviewFactory(course=course)
    assert as_user(course.instructor).delete(f"/courses/{course.pk}/").status_code == 204
    assert not Course.objects.filter(pk=course.pk).exists()


def test_delete_course_with_enrollments_is_409() -> None:
    course = CourseFactory()
    EnrollmentFactory(course=course, status=Enrollment.Status.CANCELLED)
    response = as_user(StaffFactory()).delete(f"/courses/{course.pk}/")
    assert response.status_code == 409
    assert "enrollment" in response.json()["detail"]
    assert Course.objects.filter(pk=course.pk).exists()


def test_delete_course_query_budget(django_assert_num_queries: Any) -> None:
    course = CourseFactory(programmes=ProgrammeFactory.create_batch(3))
    ReviewFactory.create_batch(3, course=course)
    client = as_user(course.instructor)
    # the course; course_delete (8, see tests/courses/test_services.py).
    with django_assert_num_queries(9):
        assert client.delete(f"/courses/{course.pk}/").status_code == 204


def test_write_to_missing_course_is_404() -> None:
    client = as_user(StaffFactory())
    assert client.patch("/courses/999999/", {"title": "X"}).status_code == 404
    assert client.post("/courses/999999/enroll/").status_code == 404


# --- POST /courses/{id}/enroll/ ---------------------------------------------------------


def test_enrol_201_then_200_with_the_same_enrollment() -> None:
    course, user = CourseFactory(price=Decimal("49.00")), UserFactory()
    client = as_user(user)
    first = client.post(f"/courses/{course.pk}/enroll/")
    assert first.status_code == 201
    body = first.json()
    assert set(body) == ENROLLMENT_KEYS
    assert (body["status"], body["progress"], body["amount_paid"]) == ("active", 0, "49.00")
    assert body["user"] == {"id": user.pk, "name": user.name}
    assert body["course"] == {"id": course.pk, "slug": course.slug, "title": course.title}
    second = client.post(f"/courses/{course.pk}/enroll/")
    assert second.status_code == 200
    assert second.json() == body


def test_re_enrol_after_cancel_reactivates_with_200() -> None:
    enrollment = EnrollmentFactory(status=Enrollment.Status.CANCELLED)
    response = as_user(enrollment.user).post(f"/courses/{enrollment.course_id}/enroll/")
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["status"]) == (enrollment.pk, "active")


def test_enrol_full_course_is_409_with_detail() -> None:
    course = CourseFactory(capacity=1)
    EnrollmentFactory(course=course)
    response = as_user(UserFactory()).post(f"/courses/{course.pk}/enroll/")
    assert response.status_code == 409
    assert "full" in response.json()["detail"]


def test_enrol_unpublished_is_404_even_for_staff() -> None:
    course = CourseFactory(is_published=False)
    assert as_user(StaffFactory()).post(f"/courses/{course.pk}/enroll/").status_code == 404
    assert not Enrollment.objects.exists()


@pytest.mark.parametrize("others", [1, 30])
def test_enrol_query_budget(django_assert_num_queries: Any, others: int) -> None:
    course, client = CourseFactory(capacity=100), as_user(UserFactory())
    EnrollmentFactory.create_batch(others, course=course)
    # the course; SAVEPOINT, lock, existing, count held, INSERT, RELEASE.
    with django_assert_num_queries(7):
        assert client.post(f"/courses/{course.pk}/enroll/").status_code == 201
    # the course; SAVEPOINT, lock, existing, RELEASE.
    with django_assert_num_queries(5):
        assert client.post(f"/courses/{course.pk}/enroll/").status_code == 200


def test_enrol_with_idempotency_key_query_budget(django_assert_num_queries: Any) -> None:
    course, client = CourseFactory(), as_user(UserFactory())
    # + SAVEPOINT, claim, read back, store the answer, RELEASE.
    with django_assert_num_queries(6 + 5):
        first = client.post(f"/courses/{course.pk}/enroll/", HTTP_IDEMPOTENCY_KEY="k1")
    # Replay: SAVEPOINT, claim, read back, RELEASE; the handler (and its lookup) does not run.
    with django_assert_num_queries(4):
        second = client.post(f"/courses/{course.pk}/enroll/", HTTP_IDEMPOTENCY_KEY="k1")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json() == second.json()
    assert Enrollment.objects.count() == 1


# --- POST /courses/{id}/enrollments/bulk/ -----------------------------------------------


def test_bulk_enrol() -> None:
    course = CourseFactory()
    existing = EnrollmentFactory(course=course)
    users = UserFactory.create_batch(3)
    response = as_user(StaffFactory()).post(
        f"/courses/{course.pk}/enrollments/bulk/", {"user_ids": [u.pk for u in users] + [existing.user_id]}
    )
    assert response.status_code == 200
    assert response.json() == {"created": 3, "skipped": 1}


@pytest.mark.parametrize(
    "body",
    [{}, {"user_ids": []}, {"user_ids": "1,2"}, {"user_ids": [0]}, {"user_ids": ["x"]}, {"user_ids": [2**70]}],
)
def test_bulk_bad_input_is_400(body: dict[str, Any]) -> None:
    response = as_user(StaffFactory()).post(f"/courses/{CourseFactory().pk}/enrollments/bulk/", body)
    assert response.status_code == 400
    assert "user_ids" in response.json()


def test_bulk_over_10000_ids_is_400() -> None:
    ids = list(range(1, 10_002))
    response = as_user(StaffFactory()).post(f"/courses/{CourseFactory().pk}/enrollments/bulk/", {"user_ids": ids})
    assert response.status_code == 400


def test_bulk_unknown_ids_400_and_capacity_409() -> None:
    course = CourseFactory(capacity=1)
    users = UserFactory.create_batch(2)
    client = as_user(StaffFactory())
    unknown = client.post(f"/courses/{course.pk}/enrollments/bulk/", {"user_ids": [users[0].pk, 999_999]})
    assert unknown.status_code == 400
    assert "999999" in str(unknown.json()["user_ids"])
    full = client.post(f"/courses/{course.pk}/enrollments/bulk/", {"user_ids": [u.pk for u in users]})
    assert full.status_code == 409
    assert "detail" in full.json()
    assert not Enrollment.objects.exists()


@pytest.mark.parametrize("users", [1, 30, 2000])
def test_bulk_query_budget_is_constant(django_assert_num_queries: Any, users: int) -> None:
    from accounts.models import User

    course, client = CourseFactory(capacity=5000), as_user(StaffFactory())
    User.objects.bulk_create([User(email=f"bulk{i}@example.com") for i in range(users)])
    ids = list(User.objects.filter(email__startswith="bulk").values_list("pk", flat=True))
    # the course; SAVEPOINT, lock, known ids, UPDATE cancelled, INSERT ... SELECT, count held, RELEASE.
    with django_assert_num_queries(8):
        response = client.post(f"/courses/{course.pk}/enrollments/bulk/", {"user_ids": ids})
    assert response.json() == {"created": users, "skipped": 0}


# --- POST /courses/{id}/reviews/ --------------------------------------------------------


def test_review_create_and_second_is_409() -> None:
    enrollment = EnrollmentFactory(status=Enrollment.Status.COMPLETED)
    client = as_user(enrollment.user)
    url = f"/courses/{enrollment.course_id}/reviews/"
    response = client.post(url, {"rating": 5, "comment": "Great", "user": 1, "course": 2})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "user", "rating", "comment", "created_at"}
    assert body["user"]["id"] == enrollment.user_id
    review = Review.objects.get()
    assert (review.user_id, review.course_id, review.rating) == (enrollment.user_id, enrollment.course_id, 5)
    second = client.post(url, {"rating": 1})
    assert second.status_code == 409
    assert "detail" in second.json()
    assert Review.objects.count() == 1


@pytest.mark.parametrize("rating", [0, 6, "x", None])
def test_review_bad_rating_is_400(rating: Any) -> None:
    enrollment = EnrollmentFactory()
    response = as_user(enrollment.user).post(f"/courses/{enrollment.course_id}/reviews/", {"rating": rating})
    assert response.status_code == 400
    assert "rating" in response.json()


def test_review_without_enrollment_is_403_and_unpublished_404() -> None:
    course = CourseFactory()
    assert as_user(UserFactory()).post(f"/courses/{course.pk}/reviews/", {"rating": 3}).status_code == 403
    hidden = EnrollmentFactory(course=CourseFactory(is_published=False))
    assert as_user(hidden.user).post(f"/courses/{hidden.course_id}/reviews/", {"rating": 3}).status_code == 404
    assert not Review.objects.exists()


def test_review_query_budget(django_assert_num_queries: Any) -> None:
    enrollment = EnrollmentFactory()
    ReviewFactory.create_batch(5, course=enrollment.course)
    client = as_user(enrollment.user)
    # the course; SAVEPOINT, enrollment check, INSERT, RELEASE.
    with django_assert_num_queries(5):
        assert client.post(f"/courses/{enrollment.course_id}/reviews/", {"rating": 4}).status_code == 201


# --- PATCH /enrollments/{id}/ and cancel ---------------------------------------------------


def test_patch_progress_and_completion() -> None:
    enrollment = EnrollmentFactory()
    client = as_user(enrollment.user)
    assert client.patch(f"/enrollments/{enrollment.pk}/", {"progress": 30}).json()["progress"] == 30
    done = client.patch(f"/enrollments/{enrollment.pk}/", {"progress": 100}).json()
    assert (done["status"], done["progress"]) == ("completed", 100)
    assert done["completed_at"] is not None


@pytest.mark.parametrize("progress", [-1, 101, "x", None, 50.5])
def test_patch_bad_progress_is_400(progress: Any) -> None:
    enrollment = EnrollmentFactory(progress=10)
    response = as_user(enrollment.user).patch(f"/enrollments/{enrollment.pk}/", {"progress": progress})
    assert response.status_code == 400
    assert "progress" in response.json()
    assert Enrollment.objects.get(pk=enrollment.pk).progress == 10


def test_patch_progress_of_cancelled_is_409() -> None:
    enrollment = EnrollmentFactory(status=Enrollment.Status.CANCELLED, progress=10)
    response = as_user(enrollment.user).patch(f"/enrollments/{enrollment.pk}/", {"progress": 20})
    assert response.status_code == 409
    assert Enrollment.objects.get(pk=enrollment.pk).progress == 10


def test_patch_without_progress_changes_nothing() -> None:
    enrollment = EnrollmentFactory(progress=10)
    response = as_user(enrollment.user).patch(f"/enrollments/{enrollment.pk}/", {"status": "completed"})
    assert response.status_code == 200
    stored = Enrollment.objects.get(pk=enrollment.pk)
    assert (stored.status, stored.progress) == ("active", 10)


def test_patch_progress_query_budget(django_assert_num_queries: Any) -> None:
    enrollment = EnrollmentFactory()
    client = as_user(enrollment.user)
    # the enrollment with user and course; SAVEPOINT, conditional UPDATE, RELEASE.
    with django_assert_num_queries(4):
        assert client.patch(f"/enrollments/{enrollment.pk}/", {"progress": 70}).status_code == 200


def test_cancel_and_cancel_again() -> None:
    enrollment = EnrollmentFactory()
    client = as_user(enrollment.user)
    response = client.post(f"/enrollments/{enrollment.pk}/cancel/")
    assert (response.status_code, response.json()["status"]) == (200, "cancelled")
    assert client.post(f"/enrollments/{enrollment.pk}/cancel/").status_code == 200
    done = EnrollmentFactory(user=enrollment.user, status=Enrollment.Status.COMPLETED, progress=100)
    assert client.post(f"/enrollments/{done.pk}/cancel/").status_code == 409


def test_cancel_query_budget(django_assert_num_queries: Any) -> None:
    enrollment = EnrollmentFactory()
    client = as_user(enrollment.user)
    # the enrollment with user and course; SAVEPOINT, conditional UPDATE, RELEASE.
    with django_assert_num_queries(4):
        assert client.post(f"/enrollments/{enrollment.pk}/cancel/").status_code == 200


def test_someone_elses_enrollment_is_404_for_writes() -> None:
    enrollment = EnrollmentFactory(progress=10)
    client = as_user(UserFactory())
    assert client.patch(f"/enrollments/{enrollment.pk}/", {"progress": 90}).status_code == 404
    assert client.post(f"/enrollments/{enrollment.pk}/cancel/").status_code == 404
    stored = Enrollment.objects.get(pk=enrollment.pk)
    assert (stored.progress, stored.status) == (10, "active")


# --- Races (PostgreSQL: real row locks, real threads, one APIClient each) ------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_enrolments_of_one_user_make_one_row(in_threads: RunInThreads) -> None:
    course, user = CourseFactory(), UserFactory()

    def enrol(i: int) -> Any:
        return as_user(user).post(f"/courses/{course.pk}/enroll/")

    responses = in_threads(20, enrol)
    statuses = [getattr(r, "status_code", r) for r in responses]
    assert set(statuses) <= {200, 201}, statuses
    assert statuses.count(201) == 1
    assert len({r.json()["id"] for r in responses}) == 1
    assert Enrollment.objects.filter(user=user, course=course).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_thirty_users_race_for_five_seats(in_threads: RunInThreads) -> None:
    course = CourseFactory(capacity=5)
    users = UserFactory.create_batch(30)

    def enrol(i: int) -> Any:
        return as_user(users[i]).post(f"/courses/{course.pk}/enroll/")

    statuses: list[Any] = [getattr(r, "status_code", r) for r in in_threads(30, enrol)]
    assert sorted(statuses) == [201] * 5 + [409] * 25, statuses
    assert Enrollment.objects.filter(course=course, status__in=Enrollment.HELD_STATUSES).count() == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_bulk_and_single_enrolments_race_within_capacity(in_threads: RunInThreads) -> None:
    course = CourseFactory(capacity=10)
    staff, users = StaffFactory(), UserFactory.create_batch(20)

    def enrol(i: int) -> Any:
        if i == 0:
            return as_user(staff).post(
                f"/courses/{course.pk}/enrollments/bulk/", {"user_ids": [u.pk for u in users[:8]]}
            )
        return as_user(users[i + 7]).post(f"/courses/{course.pk}/enroll/")

    statuses = [getattr(r, "status_code", r) for r in in_threads(13, enrol)]
    assert set(statuses) <= {200, 201, 409}, statuses
    assert Enrollment.objects.filter(course=course, status__in=Enrollment.HELD_STATUSES).count() <= 10


def test_programme_positions_after_api_create() -> None:
    programme = ProgrammeFactory()
    CourseFactory.create_batch(2, programmes=[programme])
    response = as_user(InstructorFactory()).post("/courses/", course_body(programmes=[programme.pk]))
    assert response.status_code == 201
    link = ProgrammeCourse.objects.get(course_id=response.json()["id"])
    assert link.position == 2


# --- Found by tests/fault (fuzzing, bad input) -------------------------------------------


@pytest.mark.parametrize(("field", "value"), [("title", 7), ("slug", 0), ("is_published", 1), ("is_published", "no")])
def test_course_text_and_booleans_take_json_types_only(field: str, value: Any) -> None:
    """DRF would store `{"title": 7}` as "7" and read `{"is_published": "no"}` as false."""
    response = as_user(StaffFactory()).post("/courses/", course_body(**{field: value}), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Course.objects.exists()


@pytest.mark.parametrize("category", [0, -1, 2**63])
def test_a_category_id_out_of_range_does_not_exist(category: int) -> None:
    """It used to say "Incorrect type. Expected pk value, received int." for -1."""
    response = as_user(StaffFactory()).post("/courses/", course_body(category=category), format="json")
    assert response.status_code == 400
    assert response.json() == {"category": [f'Invalid pk "{category}" - object does not exist.']}


def test_course_description_is_bounded() -> None:
    client = as_user(StaffFactory())
    response = client.post("/courses/", course_body(description="x" * 20_001), format="json")
    assert response.status_code == 400
    assert response.json() == {"description": ["Ensure this field has no more than 20000 characters."]}


def test_bulk_on_a_missing_course_is_404_whatever_the_body() -> None:
    """The course is looked up first, as on every other write to one (it was a 400 for the
    body before the 404)."""
    response = as_user(StaffFactory()).post("/courses/999999/enrollments/bulk/", {}, format="json")
    assert response.status_code == 404
