"""The OpenAPI schema at /schema/ describes what the read endpoints really answer."""

import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jsonschema
import pytest
from django.db import connection
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from core.views import SchemaView
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
        "price_min": "string",  # a decimal string, as prices are everywhere (pattern below)
        "price_max": "string",
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


# --- Errors, authentication and input ranges (found by tests/fault/test_fuzz.py) ----------

DOCUMENTED_STATUSES = {
    "auth_register_create": {"201", "400", "401", "413", "415", "422", "429", "503"},
    "auth_token_create": {"200", "400", "401", "413", "415", "429", "503"},
    "auth_token_refresh_create": {"200", "400", "401", "413", "415", "503"},
    "auth_logout_create": {"204", "400", "401", "413", "415", "503"},
    "auth_password_reset_create": {"202", "400", "401", "413", "415", "429", "503"},
    "auth_password_reset_confirm_create": {"204", "400", "401", "413", "415", "429", "503"},
    "auth_verify_email_create": {"200", "400", "401", "413", "415", "429", "503"},
    "me_retrieve": {"200", "401", "503"},
    "me_partial_update": {"200", "400", "401", "413", "415", "503"},
    "me_password_create": {"200", "400", "401", "413", "415", "429", "503"},
    "me_verify_email_create": {"202", "400", "401", "413", "415", "429", "503"},
    "programmes_list": {"200", "400", "401", "404", "503"},
    "programmes_create": {"201", "400", "401", "403", "413", "415", "422", "503"},
    "programmes_retrieve": {"200", "401", "404", "503"},
    "programmes_update": {"200", "400", "401", "403", "404", "413", "415", "503"},
    "programmes_partial_update": {"200", "400", "401", "403", "404", "413", "415", "503"},
    "programmes_destroy": {"204", "401", "403", "404", "503"},
    "programmes_courses_list": {"200", "400", "401", "404", "503"},
    "courses_list": {"200", "400", "401", "404", "503"},
    "courses_create": {"201", "400", "401", "403", "413", "415", "422", "503"},
    "courses_retrieve": {"200", "401", "404", "503"},
    "courses_update": {"200", "400", "401", "403", "404", "413", "415", "503"},
    "courses_partial_update": {"200", "400", "401", "403", "404", "413", "415", "503"},
    "courses_destroy": {"204", "401", "403", "404", "409", "503"},
    "courses_enroll_create": {"200", "201", "400", "401", "403", "404", "409", "413", "415", "422", "503"},
    "courses_enrollments_bulk_create": {"200", "400", "401", "403", "404", "409", "413", "415", "422", "503"},
    "courses_reviews_list": {"200", "400", "401", "404", "503"},
    "courses_reviews_create": {"201", "400", "401", "403", "404", "409", "413", "415", "422", "503"},
    "enrollments_list": {"200", "400", "401", "404", "503"},
    "enrollments_retrieve": {"200", "401", "404", "503"},
    "enrollments_partial_update": {"200", "400", "401", "404", "409", "413", "415", "503"},
    "enrollments_cancel_create": {"200", "400", "401", "404", "409", "413", "415", "422", "503"},
    "instructor_courses_list": {"200", "400", "401", "403", "404", "503"},
}
PUBLIC_READS = {
    "programmes_list",
    "programmes_retrieve",
    "programmes_courses_list",
    "courses_list",
    "courses_retrieve",
    "courses_reviews_list",
}


# Anyone may call them; a Bearer token, when sent, must still be valid.
ANONYMOUS_WRITES = {
    "auth_register_create",
    "auth_password_reset_create",
    "auth_password_reset_confirm_create",
    "auth_verify_email_create",
}


def all_operations(openapi: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {spec["operationId"]: spec for methods in openapi["paths"].values() for spec in methods.values()}


def test_every_operation_documents_the_errors_it_can_answer(openapi: dict[str, Any]) -> None:
    """A status the schema does not list is a contract violation for clients and the
    fuzzer alike; drf-spectacular lists successes only (core.schema.AutoSchema adds the rest)."""
    operations = all_operations(openapi)
    assert set(operations) == set(DOCUMENTED_STATUSES)
    for operation_id, spec in operations.items():
        assert set(spec["responses"]) == DOCUMENTED_STATUSES[operation_id], operation_id
        for status, response in spec["responses"].items():
            if status >= "400":
                schema = response["content"]["application/json"]["schema"]
                expected = "ValidationError" if status == "400" else "ErrorDetail"
                assert schema == {"$ref": f"#/components/schemas/{expected}"}, (operation_id, status)


def test_a_token_is_optional_on_public_reads_only(openapi: dict[str, Any]) -> None:
    """The fuzzer read `security: [{jwtAuth: []}]` on GET /courses/ as "a token is required"
    and flagged every anonymous 200."""
    for operation_id, spec in all_operations(openapi).items():
        security = spec.get("security")
        if operation_id in PUBLIC_READS or operation_id in ANONYMOUS_WRITES:
            assert security == [{"jwtAuth": []}, {}], operation_id
        elif operation_id.startswith("auth_token") or operation_id == "auth_logout_create":
            # Token endpoints read no Authorization header: the body carries the credential.
            assert security is None, operation_id
        else:
            assert security == [{"jwtAuth": []}], operation_id


def test_inputs_document_the_ranges_the_server_accepts(openapi: dict[str, Any]) -> None:
    def parameter(operation_id: str, name: str) -> dict[str, Any]:
        _, spec = operation(openapi, operation_id)
        return dict(next(p["schema"] for p in spec["parameters"] if p["name"] == name))

    assert parameter("courses_list", "page") == {"type": "integer", "minimum": 1, "maximum": 10**18 - 1}
    assert parameter("courses_list", "page_size") == {"type": "integer", "minimum": 1, "maximum": 10**18 - 1}
    for name in ("category", "instructor", "programme"):
        assert parameter("courses_list", name) == {
            "type": "integer",
            "minimum": 1,
            "maximum": 2**63 - 1,
            "format": "int64",
        }
    assert parameter("courses_retrieve", "id") == {
        "type": "integer",
        "minimum": 1,
        "maximum": 10**18 - 1,
        "format": "int64",
    }
    key = parameter("courses_enroll_create", "Idempotency-Key")
    assert (key["minLength"], key["maxLength"]) == (1, 255)
    pattern = re.compile(key["pattern"])
    assert pattern.fullmatch("3f2c-uuid") and pattern.fullmatch("a b")
    assert not any(pattern.fullmatch(bad) for bad in (" a", "a ", "é", "a\tb"))


def test_empty_filters_are_documented_as_allowed(openapi: dict[str, Any]) -> None:
    """An empty filter is no filter (found by `make fuzz`: the schema forbade `?ordering=`,
    which the server, rightly, read as absent). Pagination is not a filter: `?page=` is a 400."""
    for operation_id, filters in LIST_PARAMETERS.items():
        _, spec = operation(openapi, operation_id)
        allowed = {p["name"] for p in spec["parameters"] if p.get("allowEmptyValue")}
        assert allowed == set(filters) - {"id", "page", "page_size"}, operation_id


def test_error_bodies_match_their_documented_schemas(api_client: APIClient, openapi: dict[str, Any]) -> None:
    components = openapi["components"]["schemas"]
    course = CourseFactory(capacity=0)
    answers = {
        "400": api_client.get("/courses/", {"page": "0"}),
        "401": api_client.get("/courses/", HTTP_AUTHORIZATION="Bearer nonsense"),
        "404": api_client.get("/courses/999999/"),
        "415": api_client.post("/auth/token/", "x", content_type="text/plain"),
    }
    api_client.force_authenticate(UserFactory())
    answers["403"] = api_client.post("/courses/", {})
    answers["409"] = api_client.post(f"/courses/{course.pk}/enroll/")
    answers["413"] = api_client.post("/auth/register/", "x" * (2**20 + 1), content_type="application/json")
    answers["400 body"] = api_client.post(f"/courses/{course.pk}/reviews/", {"rating": 9}, format="json")
    for status, response in answers.items():
        assert str(response.status_code) == status.split()[0], (status, response.content)
        name = "ValidationError" if status.startswith("400") else "ErrorDetail"
        jsonschema.Draft4Validator(components[name]).validate(response.json())


def test_the_schema_is_built_once_for_concurrent_first_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: the first schema builds of a process raced inside drf-spectacular (a 500
    for two of four concurrent requests on a fresh Gunicorn worker; the real-server check
    is tests/fault/test_faults.py). core.views.SchemaView builds it once, under a lock."""
    monkeypatch.setattr(SchemaView, "_built", {})
    builds: list[int] = []
    build = SchemaGenerator.get_schema

    def slow_build(self: SchemaGenerator, *args: Any, **kwargs: Any) -> Any:
        builds.append(1)
        time.sleep(0.2)  # long enough for every thread to arrive while it runs
        return build(self, *args, **kwargs)

    monkeypatch.setattr(SchemaGenerator, "get_schema", slow_build)
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: Client().get("/schema/", {"format": "json"}), range(4)))
    assert [a.status_code for a in answers] == [200] * 4
    assert len({a.content for a in answers}) == 1
    assert builds == [1]


# Paths of the page that the schema does not describe: operations outside the API.
OUTSIDE_THE_SCHEMA = {"/healthz", "/readyz", "/schema/", "/docs/", "/redoc/", "/admin/", "/admin/login/", "/metrics"}


def test_docs_api_md_and_the_schema_name_the_same_paths(openapi: dict[str, Any]) -> None:
    """docs/API.md is the contract in words, the schema in OpenAPI: kept in step."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "API.md").read_text()
    documented = set(re.findall(r"(?<![\w.<>/])(/[a-z][a-z0-9_{}/-]*)", text)) - OUTSIDE_THE_SCHEMA
    described = set(openapi["paths"])
    assert described - documented == set(), "in the schema, missing from docs/API.md"
    assert documented - described == set(), "in docs/API.md, missing from the schema"


# --- Request bodies and parameters say exactly what is accepted (positive_data_acceptance) ---


def request_schema(openapi: dict[str, Any], component: str) -> dict[str, Any]:
    return dict(openapi["components"]["schemas"][component]["properties"])


def test_a_list_that_may_not_be_empty_says_min_items(openapi: dict[str, Any]) -> None:
    user_ids = request_schema(openapi, "BulkEnrollmentRequest")["user_ids"]
    assert (user_ids["minItems"], user_ids["maxItems"]) == (1, 10_000)
    # A list that may be empty says nothing of the kind.
    assert "minItems" not in request_schema(openapi, "CourseWriteRequest")["programmes"]


def test_the_new_password_states_the_validators_rules(openapi: dict[str, Any]) -> None:
    password = request_schema(openapi, "RegisterRequest")["password"]
    assert (password["minLength"], password["maxLength"]) == (8, 128)
    pattern = re.compile(password["pattern"])  # JSON Schema patterns search, not match
    assert pattern.search("12345678a") and pattern.search("correct horse")
    assert not pattern.search("12345678")
    assert not pattern.search("abcdefgh\x00")  # DRF refuses NUL characters
    for rule in ("at least 8 characters", "commonly used", "entirely numeric", "too similar"):
        assert rule in password["description"], rule
    # Logging in takes any password but a blank one: a wrong one is a 401, not a 400.
    login = request_schema(openapi, "TokenObtainRequest")["password"]
    assert login["minLength"] == 1 and login["pattern"] != password["pattern"]


def test_the_declared_password_rules_are_the_servers(api_client: APIClient) -> None:
    """What the schema refuses, the server refuses; what it allows passes those rules."""

    def register(password: str) -> int:
        body = {"email": f"{len(password)}-{password[:3]}@example.com", "password": password}
        return int(api_client.post("/auth/register/", body, format="json").status_code)

    assert register("1234567") == 400  # minLength
    assert register("83749261") == 400  # pattern: entirely numeric
    assert register("zq8-vt4m\x00") == 400  # pattern: no NUL
    assert register("zq8-vt4m") == 201


DECIMAL_GOOD = ("0", "5", "12.5", "12.50", "99999999.99", ".5", "5.")
DECIMAL_BAD = ("", ".", "-", "abc", "1.234", "123456789", "NaN", "1,5", "1e30")
# Read by the server too, but not declared: the schema states the plain form only.
EXPONENT = "1e3"


def test_a_price_is_a_decimal_string_with_its_digits(openapi: dict[str, Any]) -> None:
    price = request_schema(openapi, "CourseWriteRequest")["price"]
    assert (price["type"], price["format"]) == ("string", "decimal")
    pattern = re.compile(price["pattern"])
    assert all(pattern.search(value) for value in DECIMAL_GOOD)
    assert not any(pattern.search(value) for value in (*DECIMAL_BAD, "-5", EXPONENT))  # never negative
    assert request_schema(openapi, "PatchedCourseWriteRequest")["price"]["pattern"] == price["pattern"]


def test_the_declared_price_pattern_is_the_servers(api_client: APIClient, openapi: dict[str, Any]) -> None:
    course = CourseFactory(price="10.00")
    api_client.force_authenticate(StaffFactory())
    # The schema says a string: a JSON number is refused (found by the fuzzer: `0` was read).
    for number in (0, 12.5):
        answer = api_client.patch(f"/courses/{course.pk}/", {"price": number}, format="json")
        assert answer.status_code == 400 and "JSON string" in answer.json()["price"][0], number
    pattern = re.compile(request_schema(openapi, "PatchedCourseWriteRequest")["price"]["pattern"])
    for value in (*DECIMAL_GOOD, *DECIMAL_BAD, "-5"):
        status = api_client.patch(f"/courses/{course.pk}/", {"price": value}, format="json").status_code
        assert status == (200 if pattern.search(value) else 400), (value, status)


def test_price_filters_are_decimal_strings_and_may_be_negative(api_client: APIClient, openapi: dict[str, Any]) -> None:
    _, spec = operation(openapi, "courses_list")
    for name in ("price_min", "price_max"):
        schema = next(p["schema"] for p in spec["parameters"] if p["name"] == name)
        pattern = re.compile(schema["pattern"])
        assert schema["format"] == "decimal"
        for value in (*DECIMAL_GOOD[1:], "-5", *DECIMAL_BAD[1:]):
            status = api_client.get("/courses/", {name: value}).status_code
            assert status == (200 if pattern.search(value) else 400), (name, value, status)


def test_foreign_keys_in_bodies_start_at_1(openapi: dict[str, Any]) -> None:
    expected = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1, "format": "int64"}
    for component in ("CourseWriteRequest", "PatchedCourseWriteRequest"):
        fields = request_schema(openapi, component)
        assert {k: v for k, v in fields["category"].items() if k != "description"} == expected
        assert {k: v for k, v in fields["instructor"].items() if k != "description"} == expected
        assert fields["programmes"]["items"] == expected
    assert request_schema(openapi, "BulkEnrollmentRequest")["user_ids"]["items"] == expected


def test_a_reused_idempotency_key_is_declared_as_422(openapi: dict[str, Any]) -> None:
    for operation_id, spec in all_operations(openapi).items():
        takes_key = any(p["name"] == "Idempotency-Key" for p in spec.get("parameters", []))
        assert ("422" in spec["responses"]) == takes_key, operation_id
        if takes_key:
            assert "Idempotency-Key" in spec["responses"]["422"]["description"], operation_id


def test_text_states_that_nul_and_whitespace_only_are_refused(api_client: APIClient, openapi: dict[str, Any]) -> None:
    fields = request_schema(openapi, "PatchedProgrammeWriteRequest")
    title, summary = re.compile(fields["title"]["pattern"]), re.compile(fields["summary"]["oneOf"][0]["pattern"])
    assert title.search("A title") and not title.search("   ") and not title.search("a\x00")
    assert summary.search("   ") and not summary.search("a\x00")
    assert fields["summary"]["oneOf"][1] == {"type": "string", "maxLength": 0}  # blank allowed
    assert fields["slug"]["pattern"] == "^[-a-zA-Z0-9_]+$"  # a field's own pattern is kept
    assert "pattern" not in request_schema(openapi, "RegisterRequest")["email"]  # its format says it
    programme = ProgrammeFactory()
    api_client.force_authenticate(StaffFactory())
    for name, value in [
        ("title", "A title"),
        ("title", "   "),
        ("title", "a\x00"),
        ("summary", "  "),
        ("summary", "a\x00"),
    ]:
        status = api_client.patch(f"/programmes/{programme.pk}/", {name: value}, format="json").status_code
        pattern = title if name == "title" else summary
        assert status == (200 if pattern.search(value) else 400), (name, value, status)
