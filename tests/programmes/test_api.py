from typing import Any

import pytest
from rest_framework.test import APIClient

from courses.models import Enrollment
from tests.factories import CourseFactory, EnrollmentFactory, ProgrammeFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST_URL = "/programmes/"


def build_programmes(n: int) -> list[Any]:
    """n programmes, each with published and unpublished courses and their enrollments."""
    programmes = ProgrammeFactory.create_batch(n)
    learners = UserFactory.create_batch(3)
    for programme in programmes:
        published = CourseFactory.create_batch(2, programmes=[programme])
        CourseFactory(programmes=[programme], is_published=False)
        for learner in learners:
            EnrollmentFactory(user=learner, course=published[0])
        EnrollmentFactory(user=learners[0], course=published[1], status=Enrollment.Status.COMPLETED)
        EnrollmentFactory(course=published[1], status=Enrollment.Status.CANCELLED)
    return programmes


@pytest.mark.parametrize("rows", [1, 30])
def test_list_query_budget_is_constant(api_client: APIClient, django_assert_num_queries: Any, rows: int) -> None:
    build_programmes(rows)
    # 1 count (no joins) + 1 page query carrying both aggregates as subqueries.
    with django_assert_num_queries(2):
        response = api_client.get(LIST_URL, {"page": 1, "page_size": 100})
    assert response.status_code == 200
    assert len(response.json()["results"]) == rows


def test_list_shape_and_aggregates(api_client: APIClient) -> None:
    build_programmes(2)
    empty = ProgrammeFactory(title="Zzz empty")
    body = api_client.get(LIST_URL).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3
    item = body["results"][0]
    assert set(item) == {
        "id",
        "slug",
        "title",
        "summary",
        "is_active",
        "course_count",
        "student_count",
        "created_at",
        "updated_at",
    }
    by_id = {row["id"]: row for row in body["results"]}
    assert by_id[empty.id]["course_count"] == 0
    assert by_id[empty.id]["student_count"] == 0
    for row in body["results"]:
        if row["id"] == empty.id:
            continue
        # 2 published courses; the 3 learners hold seats (one of them in both courses).
        assert row["course_count"] == 2
        assert row["student_count"] == 3


def test_student_count_matches_python(api_client: APIClient) -> None:
    programmes = build_programmes(3)
    body = api_client.get(LIST_URL, {"page_size": 100}).json()
    for programme in programmes:
        expected_courses = sum(1 for c in programme.courses.all() if c.is_published)
        expected_students = {
            e.user_id
            for c in programme.courses.all()
            if c.is_published
            for e in c.enrollments.all()
            if e.status in Enrollment.HELD_STATUSES
        }
        row = next(r for r in body["results"] if r["id"] == programme.id)
        assert row["course_count"] == expected_courses
        assert row["student_count"] == len(expected_students)


def test_default_ordering_is_title_then_id(api_client: APIClient) -> None:
    first = ProgrammeFactory(title="Same")
    second = ProgrammeFactory(title="Same")
    ProgrammeFactory(title="Alpha")
    titles_ids = [(r["title"], r["id"]) for r in api_client.get(LIST_URL).json()["results"]]
    assert titles_ids == [("Alpha", titles_ids[0][1]), ("Same", first.id), ("Same", second.id)]


@pytest.mark.parametrize("ordering", ["title", "-title", "created_at", "-created_at"])
def test_pages_never_overlap(api_client: APIClient, ordering: str) -> None:
    ProgrammeFactory.create_batch(7, title="Tie")
    seen: list[int] = []
    for page in (1, 2, 3):
        body = api_client.get(LIST_URL, {"ordering": ordering, "page": page, "page_size": 3}).json()
        seen += [row["id"] for row in body["results"]]
    assert sorted(seen) == sorted(set(seen))
    assert len(seen) == 7


def test_filters_and_search(api_client: APIClient) -> None:
    ProgrammeFactory(title="Data Science", is_active=True)
    ProgrammeFactory(title="Data Art", is_active=False)
    ProgrammeFactory(title="History", is_active=True)
    assert api_client.get(LIST_URL, {"is_active": "false"}).json()["count"] == 1
    assert api_client.get(LIST_URL, {"is_active": "true"}).json()["count"] == 2
    assert api_client.get(LIST_URL, {"search": "data"}).json()["count"] == 2
    assert api_client.get(LIST_URL, {"search": "data", "is_active": "true"}).json()["count"] == 1
    assert api_client.get(LIST_URL, {"unknown": "x"}).status_code == 200


def test_pagination_links_and_clamp(api_client: APIClient) -> None:
    ProgrammeFactory.create_batch(12)
    body = api_client.get(LIST_URL, {"page": 1, "page_size": 10}).json()
    assert body["count"] == 12
    assert len(body["results"]) == 10
    assert body["previous"] is None
    assert "page=2" in body["next"]
    assert len(api_client.get(LIST_URL, {"page_size": 1000}).json()["results"]) == 12
    assert api_client.get(LIST_URL, {"page": 3, "page_size": 10}).status_code == 404


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"page": "0"}, "page"),
        ({"page": "-1"}, "page"),
        ({"page": "abc"}, "page"),
        ({"page": "last"}, "page"),
        ({"page": "1.5"}, "page"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "x"}, "page_size"),
        ({"page_size": "99999999999999999999999"}, "page_size"),
        ({"is_active": "maybe"}, "is_active"),
        ({"ordering": "nonsense"}, "ordering"),
        ({"ordering": "id; drop table"}, "ordering"),
        ({"search": "a\x00b"}, "search"),
    ],
)
def test_bad_parameters_are_400_naming_them(api_client: APIClient, params: dict[str, str], name: str) -> None:
    ProgrammeFactory()
    response = api_client.get(LIST_URL, params)
    assert response.status_code == 400, response.content
    assert name in response.json()
