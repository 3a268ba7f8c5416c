"""The admin of categories, courses, enrollments and reviews: exact query budgets, search,
filters, actions and the CSV export.

Every admin request pays 2 queries before the view runs: the session and the user. The
content types the admin looks up are cached per process; `_warm_content_types` loads them
first, as any running server already has.
"""

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.admin.sites import site
from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Paginator
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core.admin_pagination import EstimatedCountPaginator
from courses.admin import EnrollmentAdmin
from courses.models import Course, Enrollment, Review
from tests.factories import (
    CategoryFactory,
    CourseFactory,
    EnrollmentFactory,
    ReviewFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

AUTH = 2  # session + user

ENROLLMENTS_URL = "/admin/courses/enrollment/"
COURSES_URL = "/admin/courses/course/"
REVIEWS_URL = "/admin/courses/review/"
CATEGORIES_URL = "/admin/courses/category/"


@pytest.fixture(autouse=True)
def _warm_content_types() -> None:
    ContentType.objects.get_for_models(*site._registry)


@pytest.fixture
def count_queries(on_postgres: bool) -> int:
    """What the estimating paginator spends on an unfiltered, small table: on PostgreSQL
    the planner's figure (-1, never analysed) and then the bounded count; elsewhere a count."""
    return 2 if on_postgres else 1


def build_courses(n: int) -> list[Course]:
    category = CategoryFactory()
    courses = CourseFactory.create_batch(n, category=category, capacity=10)
    learner = UserFactory()
    for course in courses:
        EnrollmentFactory(course=course, user=learner)
        EnrollmentFactory(course=course, status=Enrollment.Status.COMPLETED)
        EnrollmentFactory(course=course, status=Enrollment.Status.CANCELLED)
        ReviewFactory(course=course, user=learner)
    return courses


def rows_shown(response: Any) -> int:
    return len(response.context["cl"].result_list)


# --- Changelists -------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [1, 50])
def test_course_changelist_budget(
    admin_client: Client, django_assert_num_queries: Any, count_queries: int, rows: int
) -> None:
    build_courses(rows)
    # + count + page (with the held-enrollment subquery) + the category filter's choices
    with django_assert_num_queries(AUTH + count_queries + 2):
        response = admin_client.get(COURSES_URL)
    assert response.status_code == 200
    assert rows_shown(response) == rows
    assert all(course.held_count == 2 for course in response.context["cl"].result_list)


@pytest.mark.parametrize("rows", [1, 50])
def test_enrollment_changelist_budget(
    admin_client: Client, django_assert_num_queries: Any, count_queries: int, rows: int
) -> None:
    build_courses(rows)
    with django_assert_num_queries(AUTH + count_queries + 1):  # + count + page with user and course
        response = admin_client.get(ENROLLMENTS_URL)
    assert response.status_code == 200
    assert rows_shown(response) == min(3 * rows, 50)  # list_per_page


@pytest.mark.parametrize("rows", [1, 50])
def test_review_changelist_budget(
    admin_client: Client, django_assert_num_queries: Any, count_queries: int, rows: int
) -> None:
    build_courses(rows)
    with django_assert_num_queries(AUTH + count_queries + 1):
        response = admin_client.get(REVIEWS_URL)
    assert response.status_code == 200
    assert rows_shown(response) == rows


@pytest.mark.parametrize("rows", [1, 50])
def test_category_changelist_budget(admin_client: Client, django_assert_num_queries: Any, rows: int) -> None:
    for category in CategoryFactory.create_batch(rows):
        CourseFactory.create_batch(2, category=category)
    with django_assert_num_queries(AUTH + 2):  # + count + page with course_count
        response = admin_client.get(CATEGORIES_URL)
    assert response.status_code == 200
    assert rows_shown(response) == rows
    assert {c.course_count for c in response.context["cl"].result_list} == {2}


@pytest.mark.parametrize(
    ("url", "params"),
    [
        (COURSES_URL, {"is_published__exact": "1"}),
        (COURSES_URL, {"q": "Course"}),
        (ENROLLMENTS_URL, {"status__exact": "cancelled"}),
        (ENROLLMENTS_URL, {"q": "user"}),
        (REVIEWS_URL, {"rating": "4"}),
        (REVIEWS_URL, {"q": "course"}),
        (CATEGORIES_URL, {"q": "category"}),
    ],
)
def test_searches_and_filters_answer(admin_client: Client, url: str, params: dict[str, str]) -> None:
    build_courses(3)
    response = admin_client.get(url, params)
    assert response.status_code == 200
    assert rows_shown(response) > 0


def test_course_filters_select_the_right_rows(admin_client: Client) -> None:
    published = CourseFactory(title="Visible one")
    draft = CourseFactory(title="Draft one", is_published=False)
    response = admin_client.get(COURSES_URL, {"is_published__exact": "0"})
    assert [c.pk for c in response.context["cl"].result_list] == [draft.pk]
    response = admin_client.get(COURSES_URL, {"category__id__exact": str(published.category_id)})
    assert [c.pk for c in response.context["cl"].result_list] == [published.pk]


def test_enrollment_search_by_email_or_title(admin_client: Client) -> None:
    amira = UserFactory(email="amira.hassan@example.com")
    rust = CourseFactory(title="Hands-on Rust")
    mine = EnrollmentFactory(user=amira)
    theirs = EnrollmentFactory(course=rust)
    EnrollmentFactory()  # neither
    by_email = admin_client.get(ENROLLMENTS_URL, {"q": "HASSAN"}).context["cl"].result_list
    assert [e.pk for e in by_email] == [mine.pk]
    by_title = admin_client.get(ENROLLMENTS_URL, {"q": "rust"}).context["cl"].result_list
    assert [e.pk for e in by_title] == [theirs.pk]
    response = admin_client.get(ENROLLMENTS_URL, {"q": "no such thing"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []


def test_enrollment_search_with_a_broad_term_gives_the_same_rows(
    admin_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past SEARCH_ID_LIMIT matching users or courses, the search uses subqueries instead
    of id lists: the rows found are the same."""
    enrollments = [EnrollmentFactory(user=UserFactory(email=f"wide{n}@example.com")) for n in range(4)]
    EnrollmentFactory(user=UserFactory(email="narrow@example.org"))
    precise = admin_client.get(ENROLLMENTS_URL, {"q": "wide"}).context["cl"].result_list
    monkeypatch.setattr(EnrollmentAdmin, "SEARCH_ID_LIMIT", 2)
    broad = admin_client.get(ENROLLMENTS_URL, {"q": "wide"}).context["cl"].result_list
    expected = {e.pk for e in enrollments}
    assert {e.pk for e in precise} == expected
    assert {e.pk for e in broad} == expected


# --- Change forms ------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [1, 30])
def test_course_change_form_budget(admin_client: Client, django_assert_num_queries: Any, rows: int) -> None:
    course = build_courses(rows)[0]
    # + the course + the category <select> + the instructor's autocomplete label
    with django_assert_num_queries(AUTH + 3):
        response = admin_client.get(f"{COURSES_URL}{course.pk}/change/")
    assert response.status_code == 200


@pytest.mark.parametrize("rows", [1, 30])
def test_enrollment_and_review_change_forms_budget(
    admin_client: Client, django_assert_num_queries: Any, rows: int
) -> None:
    build_courses(rows)
    enrollment = Enrollment.objects.first()
    review = Review.objects.first()
    assert enrollment is not None and review is not None
    # + the row + the user's and the course's autocomplete labels
    with django_assert_num_queries(AUTH + 3):
        assert admin_client.get(f"{ENROLLMENTS_URL}{enrollment.pk}/change/").status_code == 200
    with django_assert_num_queries(AUTH + 3):
        assert admin_client.get(f"{REVIEWS_URL}{review.pk}/change/").status_code == 200


def test_add_forms_render(admin_client: Client) -> None:
    for url in (COURSES_URL, ENROLLMENTS_URL, REVIEWS_URL, CATEGORIES_URL):
        assert admin_client.get(f"{url}add/").status_code == 200


def test_autocomplete_finds_courses_by_title(admin_client: Client) -> None:
    CourseFactory(title="Practical Django")
    CourseFactory(title="Modern Rust")
    response = admin_client.get(
        "/admin/autocomplete/",
        {"app_label": "courses", "model_name": "enrollment", "field_name": "course", "term": "django"},
    )
    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == ["Practical Django"]


# --- Actions -----------------------------------------------------------------------------


def post_action(client: Client, url: str, action: str, pks: list[int]) -> Any:
    return client.post(url, {"action": action, "_selected_action": [str(pk) for pk in pks], "index": "0"})


@pytest.mark.parametrize("selected", [1, 30])
def test_publish_and_unpublish_run_in_constant_queries(
    admin_client: Client, django_assert_num_queries: Any, count_queries: int, selected: int
) -> None:
    courses = CourseFactory.create_batch(selected, is_published=False)
    other = CourseFactory(is_published=False)
    pks = [c.pk for c in courses]
    # + the changelist's count + the batch's ids and its UPDATE + the category filter's
    # choices, which Django builds twice on an action (once for the changelist, once for
    # the action's queryset)
    budget = AUTH + count_queries + 2 + 2
    with django_assert_num_queries(budget):
        response = post_action(admin_client, COURSES_URL, "publish", pks)
    assert response.status_code == 302
    assert Course.objects.filter(pk__in=pks, is_published=True).count() == selected
    other.refresh_from_db()
    assert not other.is_published
    with django_assert_num_queries(budget):
        post_action(admin_client, COURSES_URL, "unpublish", pks)
    assert not Course.objects.filter(is_published=True).exists()


@pytest.mark.parametrize("selected", [1, 30])
def test_cancel_enrollments_runs_in_constant_queries(
    admin_client: Client, django_assert_num_queries: Any, count_queries: int, selected: int
) -> None:
    active = EnrollmentFactory.create_batch(selected)
    completed = EnrollmentFactory(status=Enrollment.Status.COMPLETED, progress=100)
    untouched = EnrollmentFactory()
    pks = [e.pk for e in active] + [completed.pk]
    with django_assert_num_queries(AUTH + count_queries + 2):  # + the batch's ids and its UPDATE
        response = post_action(admin_client, ENROLLMENTS_URL, "cancel", pks)
    assert response.status_code == 302
    assert Enrollment.objects.filter(pk__in=[e.pk for e in active], status="cancelled").count() == selected
    completed.refresh_from_db()
    untouched.refresh_from_db()
    assert completed.status == Enrollment.Status.COMPLETED  # a completed course stays completed
    assert untouched.status == Enrollment.Status.ACTIVE


def test_published_course_is_fresh_in_the_api_at_once(admin_client: Client) -> None:
    course = CourseFactory(is_published=False)
    api = Client()
    assert api.get(f"/courses/{course.pk}/").status_code == 404
    post_action(admin_client, COURSES_URL, "publish", [course.pk])
    assert api.get(f"/courses/{course.pk}/").status_code == 200


@pytest.mark.parametrize("selected", [1, 30])
def test_csv_export_streams_the_selected_rows(
    admin_client: Client, django_assert_num_queries: Any, count_queries: int, selected: int
) -> None:
    chosen = [
        EnrollmentFactory(course=CourseFactory(title=f"=Course {n}", price=Decimal("19.50"))) for n in range(selected)
    ]
    EnrollmentFactory()  # not selected
    # + the changelist's count + one SELECT joining users and courses, read in chunks
    with django_assert_num_queries(AUTH + count_queries + 1):
        response = post_action(admin_client, ENROLLMENTS_URL, "export_csv", [e.pk for e in chosen])
        body = b"".join(response.streaming_content).decode()
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [int(r["id"]) for r in rows] == sorted(e.pk for e in chosen)
    first = next(r for r in rows if int(r["id"]) == chosen[0].pk)
    assert first["user_email"] == chosen[0].user.email
    assert first["course_title"] == "'=Course 0"  # a formula in a cell is neutralised
    assert first["amount_paid"] == "19.50"
    assert first["status"] == "active"


# --- The estimating paginator ------------------------------------------------------------


class TinyLimitPaginator(EstimatedCountPaginator):
    exact_limit = 5


def test_paginator_counts_exactly_off_postgres_or_when_small(on_postgres: bool) -> None:
    EnrollmentFactory.create_batch(3)
    if on_postgres:
        # The planner's figure outlives rolled-back tests that analysed a bigger table.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE courses_enrollment")
    assert TinyLimitPaginator(Enrollment.objects.all(), 2).count == 3
    assert TinyLimitPaginator(Enrollment.objects.filter(status="active"), 2).count == 3
    assert TinyLimitPaginator(list(range(7)), 2).count == 7  # not a queryset: len()


def test_paginator_counts_filtered_rows_exactly_off_postgres(on_postgres: bool) -> None:
    if on_postgres:
        pytest.skip("PostgreSQL estimates past exact_limit (see the tests below)")
    EnrollmentFactory.create_batch(8)
    assert TinyLimitPaginator(Enrollment.objects.filter(status="active"), 2).count == 8


@pytest.mark.postgres
def test_paginator_uses_the_planner_figure_for_an_unfiltered_table() -> None:
    EnrollmentFactory.create_batch(8)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE courses_enrollment")
    with CaptureQueriesContext(connection) as ctx:
        count = TinyLimitPaginator(Enrollment.objects.all(), 2).count
    assert count == 8
    assert len(ctx.captured_queries) == 1
    assert "reltuples" in ctx.captured_queries[0]["sql"]
    assert "COUNT(" not in ctx.captured_queries[0]["sql"].upper()


@pytest.mark.postgres
@pytest.mark.parametrize("reltuples", [-1, 0])
def test_paginator_on_a_never_analysed_table_is_bounded_then_estimated(
    monkeypatch: pytest.MonkeyPatch, reltuples: int
) -> None:
    # reltuples is -1 for a table never analysed (0 before PostgreSQL 14); ANALYZE by
    # another test would have set it for good (pg_class is updated in place).
    monkeypatch.setattr(TinyLimitPaginator, "_table_estimate", staticmethod(lambda queryset: reltuples))
    EnrollmentFactory.create_batch(8)
    with CaptureQueriesContext(connection) as ctx:
        count = TinyLimitPaginator(Enrollment.objects.all(), 2).count
    # The bounded count saw more than exact_limit rows: the planner's estimate, never less
    # than what the count saw.
    assert count >= 6
    assert "LIMIT 6" in ctx.captured_queries[0]["sql"]
    assert ctx.captured_queries[1]["sql"].startswith("EXPLAIN")
    assert TinyLimitPaginator(Enrollment.objects.filter(pk__in=[]), 2).count == 0


@pytest.mark.postgres
def test_paginator_on_a_filtered_queryset_is_bounded_then_estimated() -> None:
    EnrollmentFactory.create_batch(8)
    assert TinyLimitPaginator(Enrollment.objects.filter(status="active"), 2).count >= 6
    with CaptureQueriesContext(connection) as ctx:
        assert TinyLimitPaginator(Enrollment.objects.filter(status="cancelled"), 2).count == 0
    assert len(ctx.captured_queries) == 1
    assert "reltuples" not in ctx.captured_queries[0]["sql"]


def test_big_tables_use_the_estimating_paginator_without_a_full_count() -> None:
    for model in (Course, Enrollment, Review):
        model_admin = site._registry[model]
        assert issubclass(model_admin.paginator, EstimatedCountPaginator)
        assert model_admin.show_full_result_count is False
    assert issubclass(EstimatedCountPaginator, Paginator)
