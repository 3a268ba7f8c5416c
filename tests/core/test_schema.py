"""The OpenAPI schema at /schema/ describes what the read endpoints really answer."""

from typing import Any

import jsonschema
import pytest
from django.db import connection
from rest_framework.test import APIClient

from courses.models import Enrollment
from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    InstructorFactory,
    ProgrammeFactory,
    ReviewFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

# Keywords of OpenAPI 3.0 that are annotations, not JSON Schema validation.
OPENAPI_ONLY = {"nullable", "readOnly", "writeOnly", "example", "discriminator", "xml", "externalDocs", "deprecated"}


@pytest.fixture(autouse=True)
def _json_support_probed() -> None:
    assert connection.features.has_json_object_function


@pytest.fixture
def openapi(api_client: APIClient) -> dict[str, Any]:
    response = api_client.get("/schema/", {"format": "json"})
    assert response.status_code == 200
    return dict(response.json())


def to_json_schema(node: Any, components: dict[str, Any]) -> Any:
    """An OpenAPI 3.0 schema as a strict JSON Schema: references inlined, `nullable` turned
    into a null alternative, and no property that the schema does not declare."""
    if isinstance(node, list):
        return [to_json_schema(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        converted = to_json_schema(components[node["$ref"].rsplit("/", 1)[-1]], components)
    else:
        converted = {}
        for key, value in node.items():
            if key in OPENAPI_ONLY:
                continue
            if key == "properties":
                converted[key] = {name: to_json_schema(schema, components) for name, schema in value.items()}
            else:
                converted[key] = to_json_schema(value, components)
        if converted.get("type") == "object" and "properties" in converted:
            converted.setdefault("additionalProperties", False)
        if "enum" in converted and node.get("nullable"):
            converted["enum"] = [*converted["enum"], None]
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def operation(openapi: dict[str, Any], operation_id: str) -> tuple[str, dict[str, Any]]:
    for path, methods in openapi["paths"].items():
        for method, spec in methods.items():
            if spec.get("operationId") == operation_id:
                return path, {"method": method, **spec}
    raise AssertionError(f"{operation_id} is not in the schema")


def assert_matches_schema(openapi: dict[str, Any], operation_id: str, body: Any) -> None:
    _, spec = operation(openapi, operation_id)
    schema = spec["responses"]["200"]["content"]["application/json"]["schema"]
    validator = jsonschema.Draft4Validator(to_json_schema(schema, openapi["components"]["schemas"]))
    errors = [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(body)]
    assert not errors, f"{operation_id}: {errors}"


def parameter_types(openapi: dict[str, Any], operation_id: str) -> dict[str, str]:
    _, spec = operation(openapi, operation_id)
    types = {}
    for parameter in spec.get("parameters", []):
        schema = parameter["schema"]
        types[parameter["name"]] = schema.get("items", schema)["type"] if schema["type"] == "array" else schema["type"]
    return types


READ_OPERATIONS = {
    "programmes_list": ("/programmes/", {}),
    "programmes_retrieve": ("/programmes/{id}/", {"id": "integer"}),
    "programmes_courses_list": ("/programmes/{id}/courses/", {"id": "integer"}),
    "courses_list": ("/courses/", {}),
    "courses_retrieve": ("/courses/{id}/", {"id": "integer"}),
    "courses_reviews_list": ("/courses/{id}/reviews/", {"id": "integer"}),
    "enrollments_list": ("/enrollments/", {}),
    "enrollments_retrieve": ("/enrollments/{id}/", {"id": "integer"}),
    "instructor_courses_list": ("/instructor/courses/", {}),
}
PAGE = {"page": "integer", "page_size": "integer"}
LIST_PARAMETERS = {
    "programmes_list": {"is_active": "boolean", "search": "string", "ordering": "string", **PAGE},
    "programmes_courses_list": {"id": "integer", **PAGE},
    "courses_list": {
        "programme": "integer",
        "category": "integer",
        "instructor": "integer",
        "price_min": "number",
        "price_max": "number",
        "search": "string",
        "ordering": "string",
        **PAGE,
    },
    "courses_reviews_list": {"id": "integer", **PAGE},
    "enrollments_list": {"user": "integer", "course": "integer", "status": "string", **PAGE},
    "instructor_courses_list": PAGE,
}


@pytest.mark.parametrize(("operation_id", "expected"), READ_OPERATIONS.items())
def test_every_read_operation_is_described(
    openapi: dict[str, Any], operation_id: str, expected: tuple[str, dict[str, str]]
) -> None:
    path, spec = operation(openapi, operation_id)
    assert (path, spec["method"]) == (expected[0], "get")
    types = parameter_types(openapi, operation_id)
    for name, type_ in {**expected[1], **LIST_PARAMETERS.get(operation_id, {})}.items():
        assert types.get(name) == type_, (operation_id, name, types)


def test_enrollment_status_and_ordering_values_are_listed(openapi: dict[str, Any]) -> None:
    def enum(operation_id: str, name: str) -> set[str]:
        _, spec = operation(openapi, operation_id)
        schema = next(p["schema"] for p in spec["parameters"] if p["name"] == name)
        return set(schema.get("items", schema)["enum"])

    assert enum("enrollments_list", "status") == {"active", "completed", "cancelled"}
    assert enum("courses_list", "ordering") == {"title", "-title", "price", "-price", "created_at", "-created_at"}


def test_nullable_fields_are_nullable(openapi: dict[str, Any]) -> None:
    components = openapi["components"]["schemas"]
    for component, field in [
        ("CourseList", "rating_average"),
        ("CourseDetail", "capacity"),
        ("CourseDetail", "seats_left"),
        ("Enrollment", "completed_at"),
        ("InstructorCourse", "average_progress"),
        ("InstructorCourse", "rating_average"),
    ]:
        assert components[component]["properties"][field].get("nullable") is True, (component, field)
    assert components["InstructorCourse"]["properties"]["revenue"]["type"] == "string"
    assert components["CourseList"]["properties"]["rating_average"]["type"] == "number"


def test_real_responses_match_the_schema(api_client: APIClient, openapi: dict[str, Any]) -> None:
    instructor = InstructorFactory(first_name="", last_name="")  # name falls back to e-mail
    programme = ProgrammeFactory()
    ProgrammeFactory(is_active=False)  # a programme with no courses
    reviewed = CourseFactory(instructor=instructor, programmes=[programme], capacity=5)
    plain = CourseFactory(instructor=instructor, programmes=[programme])  # no reviews, unlimited
    CourseFactory(instructor=instructor, is_published=False)
    student = UserFactory()
    EnrollmentFactory(user=student, course=reviewed, progress=30)
    EnrollmentFactory(user=student, course=plain, status=Enrollment.Status.COMPLETED, progress=100)
    completed = Enrollment.objects.get(user=student, course=plain)
    Enrollment.objects.filter(pk=completed.pk).update(completed_at=completed.enrolled_at)
    EnrollmentFactory(course=reviewed, status=Enrollment.Status.CANCELLED)
    ReviewFactory(course=reviewed, user=student, rating=5, comment="")
    ReviewFactory(course=reviewed, rating=2)

    def check(operation_id: str, url: str, **params: Any) -> Any:
        response = api_client.get(url, params)
        assert response.status_code == 200, (url, response.content)
        assert_matches_schema(openapi, operation_id, response.json())
        return response.json()

    check("programmes_list", "/programmes/")
    check("programmes_retrieve", f"/programmes/{programme.id}/")
    check("programmes_courses_list", f"/programmes/{programme.id}/courses/", page_size=1)
    body = check("courses_list", "/courses/")
    assert {row["rating_average"] is None for row in body["results"]} == {True, False}
    check("courses_retrieve", f"/courses/{reviewed.id}/")
    assert check("courses_retrieve", f"/courses/{plain.id}/")["seats_left"] is None
    check("courses_reviews_list", f"/courses/{reviewed.id}/reviews/")
    check("courses_reviews_list", f"/courses/{plain.id}/reviews/")  # empty page

    api_client.force_authenticate(student)
    body = check("enrollments_list", "/enrollments/")
    assert {row["completed_at"] is None for row in body["results"]} == {True, False}
    check("enrollments_retrieve", f"/enrollments/{completed.id}/")

    api_client.force_authenticate(instructor)
    body = check("instructor_courses_list", "/instructor/courses/")
    assert {row["average_progress"] is None for row in body["results"]} == {True, False}
    api_client.force_authenticate(StaffFactory())
    check("courses_list", "/courses/", ordering="-price")
    check("instructor_courses_list", "/instructor/courses/")
    check("enrollments_list", "/enrollments/", status="cancelled")


def test_schema_rejects_a_response_that_breaks_it(openapi: dict[str, Any]) -> None:
    """The conversion is strict: an undeclared field, a missing one or a wrong type fails."""
    item = {
        "id": 1,
        "slug": "s",
        "title": "t",
        "summary": "",
        "price": "1.00",
        "category": {"id": 1, "name": "c"},
        "instructor": {"id": 1, "name": "n"},
        "is_published": True,
        "enrollment_count": 0,
        "rating_average": None,
        "rating_count": 0,
        "created_at": "2025-01-01T00:00:00Z",
    }
    page = {"count": 1, "next": None, "previous": None, "results": [item]}
    assert_matches_schema(openapi, "courses_list", page)
    for broken in ({**item, "extra": 1}, {k: v for k, v in item.items() if k != "rating_count"}, {**item, "id": "1"}):
        with pytest.raises(AssertionError):
            assert_matches_schema(openapi, "courses_list", {**page, "results": [broken]})


def test_docs_are_served(api_client: APIClient) -> None:
    assert api_client.get("/docs/").status_code == 200
