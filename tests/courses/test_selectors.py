from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext

from courses.models import Enrollment
from courses.selectors import (
    course_detail,
    course_is_visible,
    course_list,
    course_review_list,
    enrollment_list,
    instructor_course_list,
)
from programmes.selectors import programme_course_list, programme_detail, programme_exists, programme_list
from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    ProgrammeCourseFactory,
    ProgrammeFactory,
    ReviewFactory,
)

pytestmark = pytest.mark.django_db


def build_mixed_courses(instructor: Any) -> list[Any]:
    """Courses of one instructor with every combination that could break an aggregate."""
    rich = CourseFactory(instructor=instructor, title="Rich", capacity=100)
    for status, progress, paid in [
        (Enrollment.Status.ACTIVE, 10, "49.00"),
        (Enrollment.Status.ACTIVE, 0, "12.34"),
        (Enrollment.Status.COMPLETED, 100, "0.01"),
        (Enrollment.Status.CANCELLED, 70, "500.00"),
    ]:
        EnrollmentFactory(course=rich, status=status, progress=progress, amount_paid=Decimal(paid))
    for rating in (5, 3, 3):
        ReviewFactory(course=rich, rating=rating)
    reviews_only = CourseFactory(instructor=instructor, title="Reviews only")
    ReviewFactory(course=reviews_only, rating=2)
    enrollments_only = CourseFactory(instructor=instructor, title="Enrollments only", is_published=False)
    EnrollmentFactory.create_batch(3, course=enrollments_only, progress=33)
    cancelled_only = CourseFactory(instructor=instructor, title="Cancelled only", capacity=1)
    EnrollmentFactory(course=cancelled_only, status=Enrollment.Status.CANCELLED, progress=80)
    bare = CourseFactory(instructor=instructor, title="Bare", capacity=0)
    return [rich, reviews_only, enrollments_only, cancelled_only, bare]


def python_stats(course: Any) -> dict[str, Any]:
    enrollments = list(Enrollment.objects.filter(course=course))
    held = [e for e in enrollments if e.status in Enrollment.HELD_STATUSES]
    ratings = [review.rating for review in course.reviews.all()]
    return {
        "student_count": len({e.user_id for e in held}),
        "active_count": sum(1 for e in enrollments if e.status == Enrollment.Status.ACTIVE),
        "completed_count": sum(1 for e in enrollments if e.status == Enrollment.Status.COMPLETED),
        "revenue": sum((e.amount_paid for e in held), Decimal(0)),
        "average_progress": Decimal(sum(e.progress for e in held)) / len(held) if held else None,
        "rating_count": len(ratings),
        "rating_average": Decimal(sum(ratings)) / len(ratings) if ratings else None,
        "held": len(held),
    }


def close(actual: Any, expected: Decimal | None) -> bool:
    """Averages come back as Decimal (PostgreSQL numeric) or float text (SQLite)."""
    if expected is None:
        return actual is None
    return abs(Decimal(str(actual)) - expected) < Decimal("1e-9")


def test_instructor_course_list_aggregates_match_python(instructor: Any) -> None:
    courses = build_mixed_courses(instructor)
    CourseFactory()  # someone else's
    rows = {course.id: course for course in instructor_course_list(user=instructor)}
    assert set(rows) == {course.id for course in courses}
    for course in courses:
        expected = python_stats(course)
        enrollment_stats = rows[course.id].enrollment_stats
        review_stats = rows[course.id].review_stats
        for key in ("student_count", "active_count", "completed_count"):
            assert enrollment_stats[key] == expected[key], (course.title, key)
        assert Decimal(str(enrollment_stats["revenue"])) == expected["revenue"], course.title
        assert close(enrollment_stats["average_progress"], expected["average_progress"]), course.title
        assert review_stats["rating_count"] == expected["rating_count"]
        assert close(review_stats["rating_average"], expected["rating_average"]), course.title


def test_revenue_comes_back_as_an_exact_decimal(instructor: Any) -> None:
    course = CourseFactory(instructor=instructor)
    EnrollmentFactory.create_batch(3, course=course, amount_paid=Decimal("0.10"))
    (row,) = instructor_course_list(user=instructor)
    assert row.enrollment_stats["revenue"] == Decimal("0.30")
    assert isinstance(row.enrollment_stats["student_count"], int)


def test_course_list_aggregates_match_python(instructor: Any) -> None:
    courses = build_mixed_courses(instructor)
    rows = {course.id: course for course in course_list(user=AnonymousUser())}
    published = [course for course in courses if course.is_published]
    assert set(rows) == {course.id for course in published}
    for course in published:
        expected = python_stats(course)
        assert rows[course.id].enrollment_count == expected["held"]
        assert rows[course.id].review_stats["rating_count"] == expected["rating_count"]
        assert close(rows[course.id].review_stats["rating_average"], expected["rating_average"])


def test_course_detail_seats_left(instructor: Any, staff: Any) -> None:
    courses = build_mixed_courses(instructor)
    rows = {course.id: course for course in course_detail(user=staff)}
    by_title = {course.title: rows[course.id] for course in courses}
    assert by_title["Rich"].seats_left == 100 - 3
    assert by_title["Cancelled only"].seats_left == 1  # a cancelled enrollment frees its seat
    assert by_title["Bare"].seats_left == 0
    assert by_title["Reviews only"].seats_left is None  # unlimited


def test_visibility(student: Any, staff: Any) -> None:
    public = CourseFactory()
    draft = CourseFactory(is_published=False)
    ReviewFactory(course=draft)
    for viewer in (None, AnonymousUser(), student):
        assert list(course_list(user=viewer)) == [public]
        assert not course_is_visible(user=viewer, course_id=draft.id)
        assert list(course_review_list(user=viewer, course_id=draft.id)) == []
    assert set(course_list(user=staff)) == {public, draft}
    assert course_is_visible(user=staff, course_id=draft.id)
    assert course_review_list(user=staff, course_id=draft.id).count() == 1


def test_enrollment_list_scope(student: Any, staff: Any) -> None:
    mine = EnrollmentFactory(user=student)
    theirs = EnrollmentFactory()
    assert list(enrollment_list(user=student)) == [mine]
    assert set(enrollment_list(user=staff)) == {mine, theirs}
    assert list(enrollment_list(user=AnonymousUser())) == []


def test_instructor_course_list_scope(instructor: Any, student: Any, staff: Any) -> None:
    own = CourseFactory(instructor=instructor, is_published=False)
    other = CourseFactory()
    assert list(instructor_course_list(user=instructor)) == [own]
    assert list(instructor_course_list(user=student)) == []  # teaches nothing
    assert list(instructor_course_list(user=AnonymousUser())) == []
    assert set(instructor_course_list(user=staff)) == {own, other}


def test_programme_courses_in_programme_order() -> None:
    programme = ProgrammeFactory()
    later, earlier, draft = CourseFactory(), CourseFactory(), CourseFactory(is_published=False)
    ProgrammeCourseFactory(programme=programme, course=later, position=5)
    ProgrammeCourseFactory(programme=programme, course=earlier, position=1)
    ProgrammeCourseFactory(programme=programme, course=draft, position=0)
    ProgrammeCourseFactory(programme=ProgrammeFactory(), course=later, position=0)
    assert list(programme_course_list(programme_id=programme.id)) == [earlier, later]
    detail = programme_detail().get(pk=programme.id)
    assert detail.published_courses == [earlier, later]
    assert programme_exists(programme_id=programme.id)
    assert not programme_exists(programme_id=programme.id + 1000)


def test_programme_aggregates_do_not_multiply() -> None:
    programme = ProgrammeFactory()
    learner = EnrollmentFactory().user
    for _ in range(3):
        course = CourseFactory(programmes=[programme])
        EnrollmentFactory(course=course, user=learner)
        EnrollmentFactory(course=course)
        ReviewFactory.create_batch(2, course=course)
    row = programme_list().get(pk=programme.id)
    assert row.course_count == 3
    assert row.student_count == 1 + 3


@pytest.mark.parametrize(
    "queryset",
    [
        lambda staff: course_list(user=None),
        lambda staff: course_list(user=staff),
        lambda staff: instructor_course_list(user=staff),
        lambda staff: programme_list(),
        lambda staff: enrollment_list(user=staff),
    ],
)
def test_count_query_has_no_join_subquery_or_grouping(queryset: Any, staff: Any) -> None:
    """The pagination count reads one table: the annotations are not part of it."""
    with CaptureQueriesContext(connection) as queries:
        queryset(staff).count()
    (sql,) = (query["sql"].upper() for query in queries.captured_queries)
    assert "JOIN" not in sql
    assert "GROUP BY" not in sql
    assert sql.count("SELECT") == 1


def test_list_page_query_leaves_out_detail_columns(student: Any) -> None:
    CourseFactory()
    EnrollmentFactory(user=student)
    for queryset, absent in [
        (course_list(user=None), ["DESCRIPTION", "CAPACITY", "UPDATED_AT", "PASSWORD"]),
        (programme_list(), ["DESCRIPTION"]),
        (enrollment_list(user=student), ["PASSWORD", "DESCRIPTION", "PRICE"]),
        (course_review_list(user=None, course_id=1), ["PASSWORD"]),
    ]:
        sql = str(queryset.query).upper()
        for column in absent:
            assert f'."{column}"' not in sql, (column, sql)
