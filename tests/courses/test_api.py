from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from courses.models import Course, Enrollment
from tests.factories import (
    CategoryFactory,
    CourseFactory,
    EnrollmentFactory,
    InstructorFactory,
    ProgrammeFactory,
    ReviewFactory,
)

pytestmark = pytest.mark.django_db

COURSES = "/courses/"
ENROLLMENTS = "/enrollments/"
DASHBOARD = "/instructor/courses/"
HUGE_ID = "99999999999999999999999"
BEYOND_BIGINT = str(2**63)


@pytest.fixture(autouse=True)
def _json_support_probed() -> None:
    """SQLite probes its JSON support once per connection (SELECT JSON(...)); probe it
    before a budget counts, as any earlier request of the process would have."""
    assert connection.features.has_json_object_function


def round2(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def build_course(*, instructor: Any = None, programmes: Any = None, **kwargs: Any) -> Any:
    """A course with every kind of child: two programmes, held and cancelled enrollments
    with different prices and progress, and reviews."""
    course = CourseFactory(
        instructor=instructor or InstructorFactory(),
        programmes=programmes if programmes is not None else ProgrammeFactory.create_batch(2),
        **kwargs,
    )
    EnrollmentFactory(course=course, progress=10, amount_paid=Decimal("49.00"))
    EnrollmentFactory(course=course, progress=35, amount_paid=Decimal("19.99"))
    EnrollmentFactory(course=course, status=Enrollment.Status.COMPLETED, progress=100, amount_paid=Decimal("0.01"))
    EnrollmentFactory(course=course, status=Enrollment.Status.CANCELLED, progress=50, amount_paid=Decimal("99.00"))
    ReviewFactory(course=course, rating=5)
    ReviewFactory(course=course, rating=4)
    ReviewFactory(course=course, rating=4)
    return course


def build_courses(n: int, **kwargs: Any) -> list[Any]:
    return [build_course(**kwargs) for _ in range(n)]


def expected_course_aggregates(course: Course) -> dict[str, Any]:
    """The course list's aggregates computed in Python over the rows."""
    held = [e for e in Enrollment.objects.filter(course=course) if e.status in Enrollment.HELD_STATUSES]
    ratings = [r.rating for r in course.reviews.all()]
    return {
        "enrollment_count": len(held),
        "rating_count": len(ratings),
        "rating_average": round2(Decimal(sum(ratings)) / len(ratings)) if ratings else None,
    }


def expected_dashboard_row(course: Course) -> dict[str, Any]:
    enrollments = list(Enrollment.objects.filter(course=course))
    held = [e for e in enrollments if e.status in Enrollment.HELD_STATUSES]
    ratings = [r.rating for r in course.reviews.all()]
    return {
        "id": course.id,
        "title": course.title,
        "is_published": course.is_published,
        "student_count": len({e.user_id for e in held}),
        "active_count": sum(1 for e in enrollments if e.status == Enrollment.Status.ACTIVE),
        "completed_count": sum(1 for e in enrollments if e.status == Enrollment.Status.COMPLETED),
        "revenue": str(sum((e.amount_paid for e in held), Decimal("0.00")).quantize(Decimal("0.01"))),
        "average_progress": round2(Decimal(sum(e.progress for e in held)) / len(held)) if held else None,
        "rating_average": round2(Decimal(sum(ratings)) / len(ratings)) if ratings else None,
        "rating_count": len(ratings),
    }


# --- GET /courses/ --------------------------------------------------------------------


@pytest.mark.parametrize("rows", [1, 30])
@pytest.mark.parametrize("as_user", [None, "student", "staff"])
def test_course_list_query_budget(
    api_client: APIClient, django_assert_num_queries: Any, rows: int, as_user: str | None, request: Any
) -> None:
    build_courses(rows)
    if as_user:
        api_client.force_authenticate(request.getfixturevalue(as_user))
    # 1 count (no joins) + 1 page query: category and instructor joined, enrollment_count
    # and review_stats as one subquery each.
    with django_assert_num_queries(2):
        response = api_client.get(COURSES, {"page_size": 100})
    assert response.status_code == 200
    assert len(response.json()["results"]) == rows


def test_course_list_shape(api_client: APIClient) -> None:
    course = build_course()
    item = api_client.get(COURSES).json()["results"][0]
    assert set(item) == {
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
    }
    assert item["price"] == "49.00"
    assert item["category"] == {"id": course.category.id, "name": course.category.name}
    assert item["instructor"] == {"id": course.instructor.id, "name": course.instructor.name}
    assert item["rating_average"] == 4.33
    assert isinstance(item["rating_average"], float)


def test_course_list_aggregates_match_python(api_client: APIClient) -> None:
    courses = build_courses(3)
    bare = CourseFactory(title="No children")  # no enrollments, no reviews
    only_cancelled = CourseFactory(title="Only cancelled")
    EnrollmentFactory(course=only_cancelled, status=Enrollment.Status.CANCELLED)
    ReviewFactory(course=courses[0], rating=1)  # 5, 4, 4, 1
    rows = {row["id"]: row for row in api_client.get(COURSES, {"page_size": 100}).json()["results"]}
    for course in [*courses, bare, only_cancelled]:
        expected = expected_course_aggregates(course)
        assert {key: rows[course.id][key] for key in expected} == expected
    assert rows[bare.id]["rating_average"] is None
    assert rows[bare.id]["enrollment_count"] == 0
    assert rows[only_cancelled.id]["enrollment_count"] == 0


@pytest.mark.parametrize(
    ("ratings", "average"),
    [([4, 5], 4.5), ([1, 2, 2], 1.67), ([5, 5, 4, 4, 4, 4, 4, 4], 4.25), ([1, 1, 2, 2, 2, 2, 2, 2], 1.75)],
)
def test_rating_average_is_rounded_half_up(api_client: APIClient, ratings: list[int], average: float) -> None:
    course = CourseFactory()
    for rating in ratings:
        ReviewFactory(course=course, rating=rating)
    assert api_client.get(COURSES).json()["results"][0]["rating_average"] == average


def test_unpublished_courses_only_for_staff(api_client: APIClient, staff: Any, student: Any) -> None:
    CourseFactory(title="Public")
    CourseFactory(title="Draft", is_published=False)
    assert [r["title"] for r in api_client.get(COURSES).json()["results"]] == ["Public"]
    api_client.force_authenticate(student)
    assert [r["title"] for r in api_client.get(COURSES).json()["results"]] == ["Public"]
    api_client.force_authenticate(staff)
    assert [r["title"] for r in api_client.get(COURSES).json()["results"]] == ["Draft", "Public"]


def test_course_filters(api_client: APIClient) -> None:
    programme = ProgrammeFactory()
    category = CategoryFactory()
    instructor = InstructorFactory()
    cheap = CourseFactory(title="Python basics", price=Decimal("10.00"), programmes=[programme], category=category)
    middle = CourseFactory(title="Advanced Python", price=Decimal("50.00"), instructor=instructor)
    dear = CourseFactory(title="Rust", price=Decimal("99.99"), programmes=[programme])

    def ids(**params: Any) -> list[int]:
        response = api_client.get(COURSES, params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids(programme=programme.id) == [cheap.id, dear.id]
    assert ids(category=category.id) == [cheap.id]
    assert ids(instructor=instructor.id) == [middle.id]
    assert ids(price_min="50") == [middle.id, dear.id]
    assert ids(price_max="50.00") == [middle.id, cheap.id]
    assert ids(price_min="10.01", price_max="99.98") == [middle.id]
    assert ids(search="PYTHON") == [middle.id, cheap.id]
    assert ids(search="python", programme=programme.id) == [cheap.id]
    assert ids(programme=HUGE_ID[:18]) == []
    assert ids(unknown="x") == [middle.id, cheap.id, dear.id]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("title", ["A", "B", "C"]),
        ("-title", ["C", "B", "A"]),
        ("price", ["B", "C", "A"]),
        ("-price", ["A", "C", "B"]),
        ("created_at", ["C", "A", "B"]),
        ("-created_at", ["B", "A", "C"]),
    ],
)
def test_course_ordering(api_client: APIClient, ordering: str, expected: list[str]) -> None:
    CourseFactory(title="C", price=Decimal("20.00"))
    CourseFactory(title="A", price=Decimal("30.00"))
    CourseFactory(title="B", price=Decimal("10.00"))
    results = api_client.get(COURSES, {"ordering": ordering}).json()["results"]
    assert [row["title"] for row in results] == expected


@pytest.mark.parametrize("ordering", ["title", "-title", "price", "-price", "created_at", "-created_at"])
def test_course_pages_never_overlap(api_client: APIClient, ordering: str) -> None:
    CourseFactory.create_batch(7, title="Tie", price=Decimal("5.00"))
    seen: list[int] = []
    for page in (1, 2, 3):
        seen += [
            r["id"]
            for r in api_client.get(COURSES, {"ordering": ordering, "page": page, "page_size": 3}).json()["results"]
        ]
    assert sorted(seen) == sorted(set(seen))
    assert len(seen) == 7


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"price_min": "abc"}, "price_min"),
        ({"price_max": "1,5"}, "price_max"),
        ({"price_min": "NaN"}, "price_min"),
        ({"price_min": "nan"}, "price_min"),
        ({"price_max": "Infinity"}, "price_max"),
        ({"price_max": "-inf"}, "price_max"),
        ({"price_min": "1e100"}, "price_min"),
        ({"price_max": "1" * 40}, "price_max"),
        ({"price_min": "0.001"}, "price_min"),
        ({"programme": "xyz"}, "programme"),
        ({"programme": "0"}, "programme"),
        ({"programme": "-1"}, "programme"),
        ({"programme": HUGE_ID}, "programme"),
        ({"programme": BEYOND_BIGINT}, "programme"),
        ({"category": "1.5"}, "category"),
        ({"instructor": "me"}, "instructor"),
        ({"ordering": "nonsense"}, "ordering"),
        ({"ordering": "rating_average"}, "ordering"),
        ({"ordering": "id; drop table"}, "ordering"),
        ({"search": "a\x00b"}, "search"),
        ({"search": "x" * 201}, "search"),
        ({"page": "0"}, "page"),
        ({"page": "abc"}, "page"),
        ({"page_size": "-5"}, "page_size"),
    ],
)
def test_course_list_bad_parameters_are_400_naming_them(
    api_client: APIClient, params: dict[str, str], name: str
) -> None:
    CourseFactory()
    response = api_client.get(COURSES, params)
    assert response.status_code == 400, response.content
    assert name in response.json()


def test_course_list_pagination(api_client: APIClient) -> None:
    CourseFactory.create_batch(12)
    body = api_client.get(COURSES, {"page_size": 5, "page": 3}).json()
    assert body["count"] == 12
    assert len(body["results"]) == 2
    assert body["next"] is None
    assert "page=2" in body["previous"]
    assert len(api_client.get(COURSES, {"page_size": 500}).json()["results"]) == 12
    assert api_client.get(COURSES, {"page": 4, "page_size": 5}).status_code == 404
    assert api_client.get(COURSES, {"page": HUGE_ID[:18]}).status_code == 404


# --- GET /courses/{id}/ ---------------------------------------------------------------


@pytest.mark.parametrize("children", [1, 30])
@pytest.mark.parametrize("as_user", [None, "student", "staff"])
def test_course_detail_query_budget(
    api_client: APIClient, django_assert_num_queries: Any, children: int, as_user: str | None, request: Any
) -> None:
    course = build_course(programmes=ProgrammeFactory.create_batch(children))
    for _ in range(children):
        EnrollmentFactory(course=course)
        ReviewFactory(course=course)
    if as_user:
        api_client.force_authenticate(request.getfixturevalue(as_user))
    # 1 course (joins and subqueries) + 1 prefetch of its programmes.
    with django_assert_num_queries(2):
        response = api_client.get(f"{COURSES}{course.id}/")
    assert response.status_code == 200
    assert len(response.json()["programmes"]) == children


def test_course_detail_shape_and_values(api_client: APIClient) -> None:
    zeta, alpha = ProgrammeFactory(title="Zeta"), ProgrammeFactory(title="Alpha")
    course = build_course(programmes=[zeta, alpha], capacity=10)
    body = api_client.get(f"{COURSES}{course.id}/").json()
    assert set(body) == {
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
    assert body["description"] == course.description
    assert body["capacity"] == 10
    assert body["enrollment_count"] == 3
    assert body["seats_left"] == 10 - 3  # the cancelled enrollment frees its seat
    assert body["programmes"] == [{"id": p.id, "slug": p.slug, "title": p.title} for p in (alpha, zeta)]


@pytest.mark.parametrize(("capacity", "seats_left"), [(None, None), (3, 0), (2, 0), (5, 2), (0, 0)])
def test_seats_left(api_client: APIClient, capacity: int | None, seats_left: int | None) -> None:
    course = build_course(capacity=capacity)  # 3 held seats
    body = api_client.get(f"{COURSES}{course.id}/").json()
    assert body["capacity"] == capacity
    assert body["seats_left"] == seats_left


def test_unpublished_course_detail_is_404_except_for_staff(api_client: APIClient, staff: Any, student: Any) -> None:
    draft = CourseFactory(is_published=False)
    url = f"{COURSES}{draft.id}/"
    assert api_client.get(url).status_code == 404
    api_client.force_authenticate(student)
    assert api_client.get(url).status_code == 404
    api_client.force_authenticate(staff)
    assert api_client.get(url).status_code == 200


@pytest.mark.parametrize("path", ["12345678/", f"{HUGE_ID}/", f"{BEYOND_BIGINT}/", "abc/", "-1/", "1.0/"])
def test_unknown_course_is_404(api_client: APIClient, path: str) -> None:
    CourseFactory()
    response = api_client.get(f"{COURSES}{path}")
    assert response.status_code == 404
    assert response.json() == {"detail": response.json()["detail"]}


# --- GET /courses/{id}/reviews/ -------------------------------------------------------


@pytest.mark.parametrize("rows", [1, 30])
@pytest.mark.parametrize("as_user", [None, "student", "staff"])
def test_review_list_query_budget(
    api_client: APIClient, django_assert_num_queries: Any, rows: int, as_user: str | None, request: Any
) -> None:
    course = build_course()
    course.reviews.all().delete()
    ReviewFactory.create_batch(rows, course=course)
    ReviewFactory(course=build_course())  # another course's review is not listed
    if as_user:
        api_client.force_authenticate(request.getfixturevalue(as_user))
    # 1 count + 1 page (authors joined).
    with django_assert_num_queries(2):
        response = api_client.get(f"{COURSES}{course.id}/reviews/", {"page_size": 100})
    assert response.status_code == 200
    assert len(response.json()["results"]) == rows


def test_review_list_without_reviews_checks_the_course(api_client: APIClient, django_assert_num_queries: Any) -> None:
    course = CourseFactory()
    # count (0) + does the course exist; no page query for an empty page.
    with django_assert_num_queries(2):
        response = api_client.get(f"{COURSES}{course.id}/reviews/")
    assert response.status_code == 200
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_review_list_shape_and_order(api_client: APIClient) -> None:
    course = CourseFactory()
    older, newer = ReviewFactory.create_batch(2, course=course)
    same_time = ReviewFactory(course=course)
    type(same_time).objects.filter(pk__in=[newer.pk, same_time.pk]).update(created_at=newer.created_at)
    results = api_client.get(f"{COURSES}{course.id}/reviews/").json()["results"]
    assert [r["id"] for r in results] == [newer.id, same_time.id, older.id]
    item = results[-1]
    assert set(item) == {"id", "user", "rating", "comment", "created_at"}
    assert item["user"] == {"id": older.user.id, "name": older.user.name}
    assert item["rating"] == older.rating
    assert item["comment"] == older.comment


def test_review_list_of_invisible_or_unknown_course_is_404(api_client: APIClient, staff: Any) -> None:
    draft = CourseFactory(is_published=False)
    ReviewFactory(course=draft)
    assert api_client.get(f"{COURSES}{draft.id}/reviews/").status_code == 404
    for path in ("987654/", f"{HUGE_ID}/", "abc/"):
        assert api_client.get(f"{COURSES}{path}reviews/").status_code == 404
    api_client.force_authenticate(staff)
    assert api_client.get(f"{COURSES}{draft.id}/reviews/").json()["count"] == 1


def test_review_list_page_past_the_end_is_404(api_client: APIClient) -> None:
    course = CourseFactory()
    ReviewFactory.create_batch(3, course=course)
    url = f"{COURSES}{course.id}/reviews/"
    assert api_client.get(url, {"page": 2, "page_size": 2}).status_code == 200
    assert api_client.get(url, {"page": 3, "page_size": 2}).status_code == 404
    assert api_client.get(url, {"page": "x"}).status_code == 400


# --- GET /enrollments/ ----------------------------------------------------------------


@pytest.mark.parametrize("rows", [1, 30])
@pytest.mark.parametrize("as_user", ["student", "staff"])
def test_enrollment_list_query_budget(
    api_client: APIClient, django_assert_num_queries: Any, rows: int, as_user: str, request: Any
) -> None:
    user = request.getfixturevalue(as_user)
    for course in build_courses(rows):
        EnrollmentFactory(user=user, course=course)
    api_client.force_authenticate(user)
    # 1 count + 1 page (user and course joined).
    with django_assert_num_queries(2):
        response = api_client.get(ENROLLMENTS, {"page_size": 100})
    assert response.status_code == 200
    assert response.json()["count"] == (rows if as_user == "student" else 5 * rows)


def test_enrollment_list_shows_only_own_and_shape(api_client: APIClient, student: Any) -> None:
    mine = EnrollmentFactory(user=student, progress=40)
    EnrollmentFactory()
    api_client.force_authenticate(student)
    body = api_client.get(ENROLLMENTS).json()
    assert body["count"] == 1
    item = body["results"][0]
    assert item == {
        "id": mine.id,
        "user": {"id": student.id, "name": student.name},
        "course": {"id": mine.course.id, "slug": mine.course.slug, "title": mine.course.title},
        "status": "active",
        "progress": 40,
        "amount_paid": "49.00",
        "enrolled_at": item["enrolled_at"],
        "completed_at": None,
    }
    assert item["enrolled_at"].endswith(("Z", "+00:00"))


def test_enrollment_list_order_and_filters(api_client: APIClient, student: Any, staff: Any) -> None:
    first = EnrollmentFactory(user=student)
    second = EnrollmentFactory(user=student, status=Enrollment.Status.COMPLETED)
    third = EnrollmentFactory(user=student, status=Enrollment.Status.CANCELLED)
    Enrollment.objects.filter(pk__in=[second.pk, third.pk]).update(enrolled_at=first.enrolled_at)
    other = EnrollmentFactory(course=first.course)
    api_client.force_authenticate(student)

    def ids(**params: Any) -> list[int]:
        response = api_client.get(ENROLLMENTS, params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [first.id, second.id, third.id]  # same time: id breaks the tie
    assert ids(status="completed") == [second.id]
    assert ids(status="cancelled") == [third.id]
    assert ids(course=first.course.id) == [first.id]
    assert ids(user=other.user.id) == []  # a student's filter stays inside their own rows

    api_client.force_authenticate(staff)
    assert set(ids()) == {first.id, second.id, third.id, other.id}
    assert ids(user=other.user.id) == [other.id]
    assert ids(course=first.course.id) == [other.id, first.id]  # newest first
    assert ids(user=student.id, status="active") == [first.id]


def test_enrollments_need_authentication(api_client: APIClient, django_assert_num_queries: Any) -> None:
    enrollment = EnrollmentFactory()
    with django_assert_num_queries(0):
        assert api_client.get(ENROLLMENTS).status_code == 401
        assert api_client.get(f"{ENROLLMENTS}{enrollment.id}/").status_code == 401


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"status": "bogus"}, "status"),
        ({"status": "ACTIVE"}, "status"),
        ({"status": "a\x00"}, "status"),
        ({"user": "me"}, "user"),
        ({"course": HUGE_ID}, "course"),
        ({"course": "0"}, "course"),
        ({"page_size": "0"}, "page_size"),
    ],
)
def test_enrollment_list_bad_parameters_are_400_naming_them(
    api_client: APIClient, student: Any, params: dict[str, str], name: str
) -> None:
    EnrollmentFactory(user=student)
    api_client.force_authenticate(student)
    response = api_client.get(ENROLLMENTS, params)
    assert response.status_code == 400, response.content
    assert name in response.json()


# --- GET /enrollments/{id}/ -----------------------------------------------------------


@pytest.mark.parametrize("as_user", ["student", "staff"])
def test_enrollment_detail_query_budget(
    api_client: APIClient, django_assert_num_queries: Any, as_user: str, request: Any, student: Any
) -> None:
    enrollment = EnrollmentFactory(user=student, course=build_course())
    api_client.force_authenticate(request.getfixturevalue(as_user))
    with django_assert_num_queries(1):
        response = api_client.get(f"{ENROLLMENTS}{enrollment.id}/")
    assert response.status_code == 200
    assert response.json()["id"] == enrollment.id
    assert response.json()["user"] == {"id": student.id, "name": student.name}


def test_enrollment_detail_of_someone_else_is_404(api_client: APIClient, student: Any) -> None:
    theirs = EnrollmentFactory()
    api_client.force_authenticate(student)
    assert api_client.get(f"{ENROLLMENTS}{theirs.id}/").status_code == 404
    for path in ("424242/", f"{HUGE_ID}/", f"{BEYOND_BIGINT}/", "abc/"):
        assert api_client.get(f"{ENROLLMENTS}{path}").status_code == 404


def test_completed_enrollment_detail(api_client: APIClient, student: Any) -> None:
    enrollment = EnrollmentFactory(user=student, status=Enrollment.Status.COMPLETED, progress=100)
    Enrollment.objects.filter(pk=enrollment.pk).update(completed_at=enrollment.enrolled_at)
    api_client.force_authenticate(student)
    body = api_client.get(f"{ENROLLMENTS}{enrollment.id}/").json()
    assert body["status"] == "completed"
    assert body["completed_at"] is not None


# --- GET /instructor/courses/ ---------------------------------------------------------


@pytest.mark.parametrize("rows", [1, 30])
@pytest.mark.parametrize("as_user", ["instructor", "staff"])
def test_dashboard_query_budget(
    api_client: APIClient, django_assert_num_queries: Any, rows: int, as_user: str, request: Any, instructor: Any
) -> None:
    build_courses(rows, instructor=instructor)
    build_course()  # another instructor's
    api_client.force_authenticate(request.getfixturevalue(as_user))
    # 1 count + 1 page: enrollment_stats and review_stats, one subquery each.
    with django_assert_num_queries(2):
        response = api_client.get(DASHBOARD, {"page_size": 100})
    assert response.status_code == 200
    assert len(response.json()["results"]) == (rows if as_user == "instructor" else rows + 1)


def test_dashboard_aggregates_match_python(api_client: APIClient, instructor: Any) -> None:
    courses = build_courses(3, instructor=instructor)
    bare = CourseFactory(instructor=instructor, title="Bare", is_published=False)
    only_cancelled = CourseFactory(instructor=instructor, title="Only cancelled")
    EnrollmentFactory(course=only_cancelled, status=Enrollment.Status.CANCELLED, amount_paid=Decimal("5.00"))
    # Many reviews and enrollments together: a join would multiply them.
    for _ in range(4):
        EnrollmentFactory(course=courses[0], progress=33, amount_paid=Decimal("0.10"))
        ReviewFactory(course=courses[0], rating=2)
    EnrollmentFactory(course=courses[1], status=Enrollment.Status.COMPLETED, progress=100, amount_paid=Decimal("0.20"))
    api_client.force_authenticate(instructor)
    rows = {row["id"]: row for row in api_client.get(DASHBOARD).json()["results"]}
    assert set(rows) == {c.id for c in [*courses, bare, only_cancelled]}
    for course in [*courses, bare, only_cancelled]:
        assert rows[course.id] == expected_dashboard_row(course)
    assert rows[bare.id]["revenue"] == "0.00"
    assert rows[bare.id]["average_progress"] is None
    assert rows[bare.id]["rating_average"] is None
    assert rows[only_cancelled.id]["revenue"] == "0.00"
    assert rows[only_cancelled.id]["student_count"] == 0


def test_dashboard_revenue_is_exact(api_client: APIClient, instructor: Any) -> None:
    course = CourseFactory(instructor=instructor, price=Decimal("99999999.99"))
    EnrollmentFactory.create_batch(3, course=course)
    EnrollmentFactory.create_batch(10, course=course, amount_paid=Decimal("0.10"))
    api_client.force_authenticate(instructor)
    assert api_client.get(DASHBOARD).json()["results"][0]["revenue"] == "300000000.97"  # 3 x 99999999.99 + 10 x 0.10


def test_dashboard_permissions(
    api_client: APIClient, django_assert_num_queries: Any, student: Any, instructor: Any
) -> None:
    with django_assert_num_queries(0):
        assert api_client.get(DASHBOARD).status_code == 401
        api_client.force_authenticate(student)
        response = api_client.get(DASHBOARD)
    assert response.status_code == 403
    assert "detail" in response.json()
    api_client.force_authenticate(instructor)
    assert api_client.get(DASHBOARD).status_code == 200


def test_dashboard_order_and_pagination(api_client: APIClient, instructor: Any) -> None:
    for title in ["b", "a", "b", "c"]:
        CourseFactory(instructor=instructor, title=title)
    api_client.force_authenticate(instructor)
    first = api_client.get(DASHBOARD, {"page_size": 2}).json()
    second = api_client.get(DASHBOARD, {"page_size": 2, "page": 2}).json()
    assert [r["title"] for r in first["results"] + second["results"]] == ["a", "b", "b", "c"]
    assert api_client.get(DASHBOARD, {"page": 3, "page_size": 2}).status_code == 404


def test_staff_dashboard_lists_every_course(api_client: APIClient, staff: Any) -> None:
    courses = [*CourseFactory.create_batch(2), CourseFactory(is_published=False)]
    api_client.force_authenticate(staff)
    assert {r["id"] for r in api_client.get(DASHBOARD).json()["results"]} == {c.id for c in courses}


def test_user_name_falls_back_to_email(api_client: APIClient) -> None:
    nameless = InstructorFactory(first_name="", last_name="")
    CourseFactory(instructor=nameless)
    item = api_client.get(COURSES).json()["results"][0]
    assert item["instructor"] == {"id": nameless.id, "name": nameless.email}


@pytest.mark.parametrize("ordering", [",", "title,", ",price", "title,,price"])
def test_an_ordering_with_an_empty_item_is_400_not_500(api_client: APIClient, ordering: str) -> None:
    """Found by `make fuzz`: `?ordering=,` reached order_by("") (a FieldError, a 500)."""
    CourseFactory()
    response = api_client.get(COURSES, {"ordering": ordering})
    assert response.status_code == 400, response.content
    assert "empty item" in response.json()["ordering"][0]


@pytest.mark.parametrize(
    "name", ["programme", "category", "instructor", "price_min", "price_max", "search", "ordering"]
)
def test_an_empty_filter_is_no_filter(api_client: APIClient, name: str) -> None:
    """`?category=` is what a form sends for "any": the schema says allowEmptyValue."""
    course = CourseFactory()
    response = api_client.get(COURSES, {name: ""})
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [course.id]
