"""Programme writes through the API (staff only; the matrix is tests/core/test_permissions.py).

Budgets count the SAVEPOINT/RELEASE of each service's transaction (see
tests/courses/test_write_api.py)."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from programmes.models import Programme, ProgrammeCourse
from tests.factories import CourseFactory, ProgrammeFactory, StaffFactory

pytestmark = pytest.mark.django_db

DETAIL_KEYS = {
    "id",
    "slug",
    "title",
    "summary",
    "is_active",
    "course_count",
    "student_count",
    "created_at",
    "updated_at",
    "description",
    "courses",
}


@pytest.fixture
def client() -> APIClient:
    client = APIClient()
    client.force_authenticate(StaffFactory())
    return client


def test_create_answers_the_detail(client: APIClient) -> None:
    response = client.post(
        "/programmes/",
        {"title": "Data", "slug": "data", "summary": "S", "description": "D", "course_count": 9, "id": 77},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == DETAIL_KEYS
    assert (body["title"], body["is_active"], body["course_count"], body["courses"]) == ("Data", True, 0, [])
    assert Programme.objects.get().pk == body["id"] != 77


def test_create_query_budget(client: APIClient, django_assert_num_queries: Any) -> None:
    # SAVEPOINT, INSERT, RELEASE; the detail and its courses.
    with django_assert_num_queries(5):
        assert client.post("/programmes/", {"title": "Data", "slug": "data"}).status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "Data"}, "slug"),
        ({"slug": "data"}, "title"),
        ({"title": "Data", "slug": "not a slug"}, "slug"),
        ({"title": "Data", "slug": "taken"}, "slug"),
        ({"title": "x" * 201, "slug": "data"}, "title"),
        ({"title": "Data", "slug": "data", "is_active": "maybe"}, "is_active"),
    ],
)
def test_create_bad_input_is_400(client: APIClient, body: dict[str, Any], field: str) -> None:
    ProgrammeFactory(slug="taken")
    response = client.post("/programmes/", body)
    assert response.status_code == 400
    assert field in response.json()
    assert Programme.objects.count() == 1


def test_patch_and_put(client: APIClient) -> None:
    programme = ProgrammeFactory(slug="data", title="Old", summary="Keep")
    response = client.patch(f"/programmes/{programme.pk}/", {"title": "New", "created_at": "2000-01-01T00:00:00Z"})
    assert response.status_code == 200
    assert (response.json()["title"], response.json()["summary"]) == ("New", "Keep")
    assert Programme.objects.get(pk=programme.pk).created_at.year > 2000
    assert client.put(f"/programmes/{programme.pk}/", {"title": "Only"}).status_code == 400
    response = client.put(f"/programmes/{programme.pk}/", {"title": "Put", "slug": "put", "is_active": False})
    assert response.status_code == 200
    stored = Programme.objects.get(pk=programme.pk)
    assert (stored.title, stored.slug, stored.is_active) == ("Put", "put", False)


@pytest.mark.parametrize("courses", [1, 30])
def test_patch_query_budget(client: APIClient, django_assert_num_queries: Any, courses: int) -> None:
    programme = ProgrammeFactory()
    CourseFactory.create_batch(courses, programmes=[programme])
    # the programme; SAVEPOINT, UPDATE, RELEASE; the detail and its courses.
    with django_assert_num_queries(6):
        response = client.patch(f"/programmes/{programme.pk}/", {"slug": "new-slug"})
    assert len(response.json()["courses"]) == courses


def test_delete(client: APIClient, django_assert_num_queries: Any) -> None:
    programme = ProgrammeFactory()
    CourseFactory.create_batch(3, programmes=[programme])
    # the programme; SAVEPOINT, DELETE links, DELETE programme, RELEASE.
    with django_assert_num_queries(5):
        assert client.delete(f"/programmes/{programme.pk}/").status_code == 204
    assert not Programme.objects.exists()
    assert not ProgrammeCourse.objects.exists()


def test_missing_programme_is_404(client: APIClient) -> None:
    assert client.patch("/programmes/999999/", {"title": "X"}).status_code == 404
    assert client.delete("/programmes/999999/").status_code == 404


@pytest.mark.parametrize("value", [0, 1, "true", "false", "yes"])
def test_is_active_must_be_a_json_boolean(client: APIClient, value: Any) -> None:
    """Found by the contract fuzzer: `{"is_active": 0}` unpublished a programme (DRF reads
    0, "no" and "off" as false)."""
    programme = ProgrammeFactory(is_active=True)
    response = client.patch(f"/programmes/{programme.pk}/", {"is_active": value}, format="json")
    assert response.status_code == 400
    assert response.json() == {"is_active": ["Must be a JSON boolean: true or false."]}
    programme.refresh_from_db()
    assert programme.is_active is True


def test_description_is_bounded(client: APIClient) -> None:
    response = client.post("/programmes/", {"title": "T", "slug": "t", "description": "x" * 20_001}, format="json")
    assert response.status_code == 400
    assert response.json() == {"description": ["Ensure this field has no more than 20000 characters."]}
    assert client.post("/programmes/", {"title": "T", "slug": "t", "description": "x" * 20_000}).status_code == 201
