"""Deep pages of API lists: page numbers stop at a bounded depth (a 400 naming the cursor),
and `?cursor=` pages any depth by the list's ordering, with no overlap and a stable order."""

import base64
import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from core.cursor_pagination import MAX_PAGE_ROWS
from core.pagination import PageNumberPagination
from courses.models import Enrollment
from tests.factories import CourseFactory, EnrollmentFactory, ProgrammeCourseFactory, ProgrammeFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(staff: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(staff)
    return client


def encode_cursor(ordering: list[str], values: list[Any]) -> str:
    raw = json.dumps({"o": ordering, "v": values}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def make_enrollments(n: int) -> list[Enrollment]:
    """`n` enrollments, three of them sharing one enrolled_at: the id breaks the tie."""
    enrollments = EnrollmentFactory.create_batch(n)
    start = timezone.now() - timedelta(days=1)
    for index, enrollment in enumerate(enrollments):
        moment = start if index % 3 == 0 else start + timedelta(minutes=index)
        Enrollment.objects.filter(pk=enrollment.pk).update(enrolled_at=moment)
    return enrollments


def walk(client: APIClient, url: str) -> list[list[int]]:
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {"next", "results"}
        pages.append([row["id"] for row in body["results"]])
        url = body["next"]
    return pages


def test_cursor_pages_follow_the_list_order_without_overlap(staff_client: APIClient) -> None:
    make_enrollments(7)
    expected = [row["id"] for row in staff_client.get("/enrollments/", {"page_size": 100}).json()["results"]]
    pages = walk(staff_client, "/enrollments/?cursor=&page_size=2")
    assert [len(page) for page in pages] == [2, 2, 2, 1]
    assert [pk for page in pages for pk in page] == expected


def test_cursor_keeps_its_place_when_rows_arrive_before_it(staff_client: APIClient) -> None:
    make_enrollments(5)
    expected = [row["id"] for row in staff_client.get("/enrollments/", {"page_size": 100}).json()["results"]]
    first = staff_client.get("/enrollments/", {"cursor": "", "page_size": 2}).json()
    EnrollmentFactory()  # newest: it sorts before the first page, and never shows up after it
    rest = walk(staff_client, first["next"])
    assert [row["id"] for row in first["results"]] + [pk for page in rest for pk in page] == expected


def test_cursor_page_filters_and_costs_one_query(staff_client: APIClient, django_assert_num_queries: Any) -> None:
    make_enrollments(4)
    cancelled = EnrollmentFactory.create_batch(3, status=Enrollment.Status.CANCELLED)
    with django_assert_num_queries(1):  # the page, with users and courses; no count
        body = staff_client.get("/enrollments/", {"cursor": "", "status": "cancelled", "page_size": 2}).json()
    with django_assert_num_queries(1):
        rest = staff_client.get(body["next"]).json()
    assert "status=cancelled" in body["next"]
    ids = [row["id"] for row in body["results"] + rest["results"]]
    assert sorted(ids) == sorted(e.pk for e in cancelled)
    assert rest["next"] is None


def test_public_list_pages_by_cursor_in_any_of_its_orderings() -> None:
    for index in range(5):
        CourseFactory(title=f"Course {index % 2}", price=Decimal(index % 3))
    client = APIClient()
    for ordering in ("title", "-price", "created_at"):
        expected = [row["id"] for row in client.get("/courses/", {"ordering": ordering}).json()["results"]]
        pages = walk(client, f"/courses/?cursor=&ordering={ordering}&page_size=2")
        assert [pk for page in pages for pk in page] == expected


def test_a_page_past_the_bound_is_a_400_naming_the_cursor(
    staff_client: APIClient, django_assert_num_queries: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(PageNumberPagination, "max_page_rows", 4)
    EnrollmentFactory.create_batch(5)
    with django_assert_num_queries(1):  # a count stopped at 5 rows; the list is not read
        response = staff_client.get("/enrollments/", {"page": 3, "page_size": 2})
    assert response.status_code == 400
    (message,) = response.json()["page"]
    assert "?cursor=" in message and "first 4 results" in message
    assert staff_client.get("/enrollments/", {"page": 2, "page_size": 2}).status_code == 200
    assert staff_client.get("/enrollments/", {"page": 1, "page_size": 4}).status_code == 200
    for index in range(5):
        CourseFactory(title=f"Course {index}")
    assert APIClient().get("/courses/", {"page": 5, "page_size": 1}).status_code == 400


def test_a_page_past_the_end_of_a_short_list_stays_a_404(staff_client: APIClient) -> None:
    EnrollmentFactory.create_batch(3)
    response = staff_client.get("/enrollments/", {"page": MAX_PAGE_ROWS, "page_size": 10})
    assert response.status_code == 404


def test_forged_cursor_values_on_a_public_list_are_400s() -> None:
    CourseFactory()
    client = APIClient()
    for ordering, values in [("title", ["\x00", "1"]), ("-price", ["1e50", "1"]), ("-price", ["NaN", "1"])]:
        cursor = encode_cursor([ordering, "id"], values)
        response = client.get("/courses/", {"ordering": ordering, "cursor": cursor})
        assert response.status_code == 400, (ordering, values, response.content)
        assert "cursor" in response.json()


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "not-a-cursor"},
        {"cursor": "eyJvIjpbInRpdGxlIl0sInYiOlsieCJdfQ"},  # another ordering's cursor
        {"cursor": encode_cursor(["-enrolled_at", "id"], ["2026-01-01T00:00:00+00:00", "1" * 30])},
        {"cursor": encode_cursor(["-enrolled_at", "id"], ["99999-01-01", "1"])},
        {"cursor": encode_cursor(["-enrolled_at", "id"], [{"a": 1}, "1"])},
    ],
)
def test_bad_cursor_requests_are_400s(staff_client: APIClient, params: dict[str, str]) -> None:
    EnrollmentFactory()
    response = staff_client.get("/enrollments/", params)
    assert response.status_code == 400
    assert "cursor" in response.json()


def test_with_a_cursor_the_page_number_is_ignored(staff_client: APIClient) -> None:
    """Every parameter the schema allows, together, is accepted (found by schemathesis)."""
    EnrollmentFactory.create_batch(2)
    both = staff_client.get("/enrollments/", {"cursor": "", "page": "7", "page_size": "1"})
    alone = staff_client.get("/enrollments/", {"cursor": "", "page_size": "1"})
    assert both.status_code == 200, both.content
    assert both.json() == alone.json()
    assert "page=" not in both.json()["next"]


def test_a_learner_pages_their_own_enrollments_by_cursor() -> None:
    learner = UserFactory()
    mine = EnrollmentFactory.create_batch(3, user=learner)
    EnrollmentFactory()
    client = APIClient()
    client.force_authenticate(learner)
    pages = walk(client, "/enrollments/?cursor=&page_size=2")
    assert sorted(pk for page in pages for pk in page) == sorted(e.pk for e in mine)


def test_schema_names_the_cursor_on_lists(api_client: APIClient) -> None:
    schema = api_client.get("/schema/", {"format": "json"}).json()
    parameters = {p["name"]: p for p in schema["paths"]["/enrollments/"]["get"]["parameters"]}
    assert parameters["cursor"]["schema"] == {"type": "string"}
    assert parameters["page"]["schema"]["type"] == "integer"


def test_a_list_in_programme_order_takes_page_numbers_only(api_client: APIClient, openapi_paths: Any) -> None:
    """Its order is no keyset: the schema offers no `cursor`, and one sent is ignored."""
    programme = ProgrammeFactory()
    for position, course in enumerate(CourseFactory.create_batch(3)):
        ProgrammeCourseFactory(programme=programme, course=course, position=position)
    url = f"/programmes/{programme.pk}/courses/"
    with_cursor = api_client.get(url, {"cursor": "", "page_size": "2"})
    assert with_cursor.status_code == 200, with_cursor.content
    plain = api_client.get(url, {"page_size": "2"}).json()
    assert (with_cursor.json()["count"], with_cursor.json()["results"]) == (plain["count"], plain["results"])
    names = {p["name"] for p in openapi_paths["/programmes/{id}/courses/"]["get"]["parameters"]}
    assert "cursor" not in names and "page" in names
    assert "cursor" in {p["name"] for p in openapi_paths["/courses/"]["get"]["parameters"]}


@pytest.fixture
def openapi_paths(api_client: APIClient) -> Any:
    return api_client.get("/schema/", {"format": "json"}).json()["paths"]
