from decimal import Decimal
from typing import Any

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.pagination import DeferredPage
from courses.selectors import course_list
from programmes.selectors import programme_course_list
from tests.factories import CourseFactory, EnrollmentFactory, ProgrammeCourseFactory, ProgrammeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _json_support_probed() -> None:
    assert connection.features.has_json_object_function


@pytest.mark.parametrize(
    "ordering", [("title", "id"), ("-title", "id"), ("price", "id"), ("-price", "id"), ("-created_at", "id")]
)
def test_slices_hold_the_same_rows_in_the_same_order(ordering: tuple[str, ...]) -> None:
    for index in range(9):
        course = CourseFactory(title=f"T{index % 3}", price=Decimal(index % 2))
        EnrollmentFactory.create_batch(index % 3, course=course)
    queryset = course_list(user=None).order_by(*ordering)
    expected = [(c.id, c.enrollment_count) for c in queryset]
    for start, stop in [(0, 4), (4, 8), (8, 12), (2, 3)]:
        page = DeferredPage(queryset)[start:stop]
        assert [(c.id, c.enrollment_count) for c in page] == expected[start:stop]


def test_page_query_computes_annotations_for_the_page_only() -> None:
    CourseFactory.create_batch(3)
    with CaptureQueriesContext(connection) as queries:
        list(DeferredPage(course_list(user=None))[1:2])
    (sql,) = (query["sql"] for query in queries.captured_queries)
    inner = sql[sql.index(" IN (SELECT") :]
    # The ids subquery carries the ordering and the slice, and no aggregate.
    assert "LIMIT 1" in inner and "OFFSET 1" in inner
    assert "COUNT(" not in inner and "JSON" not in inner


def test_filtered_and_joined_ordering_survives() -> None:
    programme = ProgrammeFactory()
    courses = CourseFactory.create_batch(5)
    for position, course in zip([3, 1, 2, 0, 4], courses, strict=True):
        ProgrammeCourseFactory(programme=programme, course=course, position=position)
    ProgrammeCourseFactory(course=courses[0], position=0)  # another programme's link
    queryset = programme_course_list(programme_id=programme.id)
    pages: Paginator[Any] = Paginator(DeferredPage(queryset), 2)  # type: ignore[arg-type]
    seen = [course.id for number in pages.page_range for course in pages.page(number)]
    assert seen == [c.id for c in queryset]
    assert seen == [courses[3].id, courses[1].id, courses[2].id, courses[0].id, courses[4].id]
    assert pages.count == 5


def test_empty_page_runs_no_page_query(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        assert list(DeferredPage(course_list(user=None))[0:0]) == []
