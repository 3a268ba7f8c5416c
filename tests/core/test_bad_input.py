"""Bad input, beyond what the contract fuzzer draws: every write endpoint and a sample of
reads, fed huge ids, negative and overflowing numbers, NUL bytes, oversized bodies,
malformed JSON, wrong content types, deep nesting, arrays for objects and strings for
numbers. Each is a 4xx JSON answer whose body names what is wrong, never a 500; unknown
fields are ignored. Runs on SQLite and on PostgreSQL (where a value out of a column's
range would reach the driver).

Endpoints that take no body (enrol, cancel, delete) ignore one, as DRF does; they are
covered by the path and header cases.
"""

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import User
from courses.models import Course, Enrollment
from programmes.models import Programme
from tests.factories import (
    CategoryFactory,
    CourseFactory,
    EnrollmentFactory,
    InstructorFactory,
    ProgrammeFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

HUGE = 2**64  # beyond every integer column
BIG_ID = 10**18 - 1  # 18 digits: routed, then not found


@dataclass
class World:
    staff: User
    student: User
    instructor: User
    course: Course
    programme: Programme
    enrollment: Enrollment


@pytest.fixture
def world() -> World:
    instructor = InstructorFactory()
    course = CourseFactory(instructor=instructor, capacity=50)
    student = UserFactory()
    return World(
        staff=StaffFactory(),
        student=student,
        instructor=instructor,
        course=course,
        programme=ProgrammeFactory(),
        enrollment=EnrollmentFactory(user=student, course=course),
    )


@dataclass(frozen=True)
class Endpoint:
    """A write that takes a JSON object: who calls it, where, and a valid body."""

    name: str
    method: str
    url: Callable[[World], str]
    actor: str | None  # an attribute of World, or None for anonymous
    body: Callable[[World], dict[str, Any]]


_slugs = itertools.count()


def course_body(w: World) -> dict[str, Any]:
    return {"title": "Rust", "slug": f"rust-{next(_slugs)}", "price": "19.50", "category": CategoryFactory().pk}


ENDPOINTS = [
    Endpoint(
        "register",
        "post",
        lambda w: "/auth/register/",
        None,
        lambda w: {"email": "new@example.com", "password": "a-long-pass-phrase"},
    ),
    Endpoint("token", "post", lambda w: "/auth/token/", None, lambda w: {"email": w.student.email, "password": "x"}),
    Endpoint("token_refresh", "post", lambda w: "/auth/token/refresh/", None, lambda w: {"refresh": "x"}),
    Endpoint("me", "patch", lambda w: "/me/", "student", lambda w: {"first_name": "Ada"}),
    Endpoint("programme_create", "post", lambda w: "/programmes/", "staff", lambda w: {"title": "P", "slug": "p-new"}),
    Endpoint(
        "programme_put",
        "put",
        lambda w: f"/programmes/{w.programme.pk}/",
        "staff",
        lambda w: {"title": "P", "slug": "p-put"},
    ),
    Endpoint("programme_patch", "patch", lambda w: f"/programmes/{w.programme.pk}/", "staff", lambda w: {"title": "P"}),
    Endpoint("course_create", "post", lambda w: "/courses/", "staff", course_body),
    Endpoint("course_put", "put", lambda w: f"/courses/{w.course.pk}/", "instructor", course_body),
    Endpoint("course_patch", "patch", lambda w: f"/courses/{w.course.pk}/", "instructor", lambda w: {"title": "T"}),
    Endpoint(
        "bulk",
        "post",
        lambda w: f"/courses/{w.course.pk}/enrollments/bulk/",
        "staff",
        lambda w: {"user_ids": [w.staff.pk]},
    ),
    Endpoint("review", "post", lambda w: f"/courses/{w.course.pk}/reviews/", "student", lambda w: {"rating": 4}),
    Endpoint("progress", "patch", lambda w: f"/enrollments/{w.enrollment.pk}/", "student", lambda w: {"progress": 40}),
]
BY_NAME = {endpoint.name: endpoint for endpoint in ENDPOINTS}


def client_for(w: World, actor: str | None) -> APIClient:
    client = APIClient()
    if actor is not None:
        client.force_authenticate(getattr(w, actor))
    return client


def send(w: World, endpoint: Endpoint, raw: bytes, content_type: str = "application/json", **extra: Any) -> Any:
    client = client_for(w, endpoint.actor)
    return client.generic(endpoint.method.upper(), endpoint.url(w), raw, content_type=content_type, **extra)


def assert_json_error(response: Any, status: int, *, names: str | None = None, says: str | None = None) -> Any:
    """A `status` answer in JSON whose body names `names` (a key) and/or contains `says`."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"] == "application/json", response["Content-Type"]
    body = json.loads(response.content)
    assert isinstance(body, dict) and body, body
    if names is not None:
        assert names in body, body
        assert body[names], body
    if says is not None:
        assert says in json.dumps(body), body
    return body


def test_every_endpoint_accepts_its_valid_body(world: World) -> None:
    """The baseline the cases below break: each valid body gets through validation (the
    token endpoints answer 401 for the made-up credentials, which is validation passed)."""
    for endpoint in ENDPOINTS:
        response = send(world, endpoint, json.dumps(endpoint.body(world)).encode())
        assert response.status_code in (200, 201, 401), (endpoint.name, response.status_code, response.content[:300])


# --- The body as a whole ----------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_malformed_json_is_400_naming_the_parse_error(world: World, endpoint: Endpoint) -> None:
    for raw in (b'{"title": ', b"{'single': 'quotes'}", b'{"a": NaN}', b'{"a": 1e400}', b"\xff\xfe"):
        assert_json_error(send(world, endpoint, raw), 400, names="detail", says="JSON parse error")


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/xml"]
)
def test_a_body_that_is_not_json_is_415(world: World, endpoint: Endpoint, content_type: str) -> None:
    body = json.dumps(endpoint.body(world)).encode()
    assert_json_error(send(world, endpoint, body, content_type), 415, names="detail", says="Unsupported media type")


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
@pytest.mark.parametrize("raw", [b"[1, 2]", b"[]", b'"text"', b"42", b"true", b"null"], ids=str)
def test_json_that_is_not_an_object_is_400(world: World, endpoint: Endpoint, raw: bytes) -> None:
    body = assert_json_error(send(world, endpoint, raw), 400)
    assert "non_field_errors" in body or "detail" in body, body


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_deep_nesting_is_400(world: World, endpoint: Endpoint) -> None:
    deep = b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    assert_json_error(send(world, endpoint, deep), 400, names="detail", says="depth limit exceeded")
    # Within the parser's depth, nesting in a field is that field's error.
    field = next(iter(endpoint.body(world)))
    nested = json.dumps({**endpoint.body(world), field: [[[[{"x": [1]}]]]]}).encode()
    assert_json_error(send(world, endpoint, nested), 400, names=field)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_a_body_above_the_limit_is_413_and_never_read(world: World, endpoint: Endpoint) -> None:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    field = next(iter(endpoint.body(world)))
    raw = json.dumps({**endpoint.body(world), field: "x" * (limit + 1)}).encode()
    body = assert_json_error(send(world, endpoint, raw), 413, names="detail")
    assert str(limit) in body["detail"]


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("register", "first_name"),
        ("register", "password"),
        ("me", "first_name"),
        ("programme_create", "title"),
        ("programme_create", "description"),
        ("programme_patch", "description"),
        ("course_create", "description"),
        ("course_patch", "summary"),
        ("review", "comment"),
    ],
)
def test_a_megabyte_of_text_below_the_body_limit_is_400_naming_the_field(world: World, name: str, field: str) -> None:
    endpoint = BY_NAME[name]
    raw = json.dumps({**endpoint.body(world), field: "x" * 1_000_000}).encode()
    assert len(raw) <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert_json_error(send(world, endpoint, raw), 400, names=field, says="no more than")


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_unknown_fields_are_ignored(world: World, endpoint: Endpoint) -> None:
    extra = {"unknown": 1, "id": 999, "is_staff": True, "role": "staff", "nested": {"a": [1, {"b": None}]}}
    response = send(world, endpoint, json.dumps({**endpoint.body(world), **extra}).encode())
    assert response.status_code in (200, 201, 401), (response.status_code, response.content[:300])
    world.student.refresh_from_db()
    assert (world.student.role, world.student.is_staff) == (User.Role.STUDENT, False)


# --- Field values ---------------------------------------------------------------------------

# (endpoint, field, value, a few words of the expected message)
BAD_VALUES: list[tuple[str, str, Any, str]] = [
    # Numbers: negative, overflowing, fractional, strings, booleans, containers.
    ("progress", "progress", -1, "greater than or equal to 0"),
    ("progress", "progress", 101, "less than or equal to 100"),
    ("progress", "progress", 2**63, "less than or equal to 100"),
    ("progress", "progress", HUGE, "valid integer"),
    ("progress", "progress", 50.5, "valid integer"),
    ("progress", "progress", "fifty", "valid integer"),
    ("progress", "progress", True, "valid integer"),
    ("progress", "progress", [50], "valid integer"),
    ("progress", "progress", {"value": 50}, "valid integer"),
    ("progress", "progress", None, "may not be null"),
    ("review", "rating", 0, "greater than or equal to 1"),
    ("review", "rating", 6, "less than or equal to 5"),
    ("review", "rating", -(2**63), "greater than or equal to 1"),
    ("review", "rating", HUGE, "valid integer"),
    ("review", "rating", "five", "valid integer"),
    ("review", "rating", [5], "valid integer"),
    ("course_create", "price", "-1", "greater than or equal to 0"),
    ("course_create", "price", "1e20", "no more than 10 digits"),
    ("course_create", "price", "0.001", "no more than 2 decimal places"),
    ("course_create", "price", "NaN", "valid number"),
    ("course_create", "price", "Infinity", "valid number"),
    ("course_create", "price", "ten", "valid number"),
    ("course_create", "price", [10], "JSON string"),
    ("course_create", "price", 10, "JSON string"),
    ("course_create", "price", {"amount": 10}, "JSON string"),
    ("course_create", "capacity", -1, "greater than or equal to 0"),
    ("course_create", "capacity", 2**31, "less than or equal to 2147483647"),
    ("course_create", "capacity", HUGE, "valid integer"),
    ("course_create", "capacity", "many", "valid integer"),
    ("course_create", "category", 0, "does not exist"),
    ("course_create", "category", -1, "does not exist"),
    ("course_create", "category", 2**63, "does not exist"),
    ("course_create", "category", HUGE, "Incorrect type"),
    ("course_create", "category", BIG_ID, "does not exist"),
    ("course_create", "category", "one", "Incorrect type"),
    ("course_create", "category", 1.5, "Incorrect type"),
    ("course_create", "category", True, "Incorrect type"),
    ("course_create", "category", {"id": 1}, "Incorrect type"),
    ("course_create", "instructor", 2**63, "does not exist"),
    ("course_create", "instructor", [1], "Incorrect type"),
    ("course_create", "programmes", [2**63], "less than or equal to"),
    ("course_create", "programmes", [0], "greater than or equal to 1"),
    ("course_create", "programmes", [HUGE], "valid integer"),
    ("course_create", "programmes", 5, "Expected a list"),
    ("course_create", "programmes", "1,2", "Expected a list"),
    ("course_create", "programmes", {"0": 1}, "Expected a list"),
    ("course_create", "programmes", [[1]], "valid integer"),
    ("course_create", "programmes", list(range(1, 1002)), "no more than 1000 elements"),
    ("bulk", "user_ids", [-1], "greater than or equal to 1"),
    ("bulk", "user_ids", [2**63], "less than or equal to"),
    ("bulk", "user_ids", [HUGE], "valid integer"),
    ("bulk", "user_ids", [BIG_ID], "unknown user id"),
    ("bulk", "user_ids", "1,2", "Expected a list"),
    ("bulk", "user_ids", {"a": 1}, "Expected a list"),
    ("bulk", "user_ids", [], "may not be empty"),
    ("bulk", "user_ids", list(range(1, 10_002)), "no more than 10000 elements"),
    # Text: numbers, booleans, containers, NUL bytes, too long.
    ("register", "email", 5, "valid string"),
    ("register", "email", "not-an-email", "valid email"),
    ("register", "email", "a\x00@example.com", "Null characters"),
    ("register", "password", "pass\x00word-long", "Null characters"),
    ("register", "password", 12345678, "valid string"),
    ("register", "first_name", ["Ada"], "valid string"),
    ("token", "email", 5, "valid string"),
    ("token", "email", "a\x00@example.com", "Null characters"),
    ("token", "password", {"p": 1}, "valid string"),
    ("token_refresh", "refresh", {"a": 1}, "valid string"),
    ("token_refresh", "refresh", "x\x00", "Null characters"),
    ("me", "first_name", 0, "valid string"),
    ("me", "last_name", "\x00", "Null characters"),
    ("me", "last_name", "x" * 151, "no more than 150"),
    ("programme_create", "title", 0, "valid string"),
    ("programme_create", "title", "a\x00b", "Null characters"),
    ("programme_create", "slug", "not a slug", "valid"),
    ("programme_create", "slug", "s\x00", "Null characters"),
    ("programme_create", "is_active", 0, "JSON boolean"),
    ("programme_create", "is_active", "yes", "JSON boolean"),
    ("programme_put", "is_active", "true", "JSON boolean"),
    ("programme_patch", "summary", {"text": "s"}, "valid string"),
    ("course_create", "title", 1.5, "valid string"),
    ("course_create", "slug", "x" * 201, "no more than 200"),
    ("course_create", "is_published", "false", "JSON boolean"),
    ("course_put", "description", "\x00", "Null characters"),
    ("course_patch", "is_published", 1, "JSON boolean"),
    ("review", "comment", 5, "valid string"),
    ("review", "comment", "x" * 5001, "no more than 5000"),
    ("review", "comment", "\x00", "Null characters"),
]


@pytest.mark.parametrize(("name", "field", "value", "message"), BAD_VALUES, ids=lambda v: str(v)[:30])
def test_a_bad_value_is_400_naming_its_field(world: World, name: str, field: str, value: Any, message: str) -> None:
    endpoint = BY_NAME[name]
    raw = json.dumps({**endpoint.body(world), field: value}).encode()
    assert_json_error(send(world, endpoint, raw), 400, names=field, says=message)


def test_json_integers_beyond_64_bits_anywhere_are_a_4xx(world: World) -> None:
    for endpoint in ENDPOINTS:
        for field in endpoint.body(world):
            raw = json.dumps({**endpoint.body(world), field: HUGE * HUGE}).encode()
            response = send(world, endpoint, raw)
            assert 400 <= response.status_code < 500, (endpoint.name, field, response.content[:300])


# --- Paths and headers ------------------------------------------------------------------------

WRITE_PATHS = [
    ("post", "/courses/{id}/enroll/", "student"),
    ("post", "/courses/{id}/reviews/", "student"),
    ("post", "/courses/{id}/enrollments/bulk/", "staff"),
    ("put", "/courses/{id}/", "staff"),
    ("patch", "/courses/{id}/", "staff"),
    ("delete", "/courses/{id}/", "staff"),
    ("put", "/programmes/{id}/", "staff"),
    ("patch", "/programmes/{id}/", "staff"),
    ("delete", "/programmes/{id}/", "staff"),
    ("patch", "/enrollments/{id}/", "student"),
    ("post", "/enrollments/{id}/cancel/", "student"),
]
READ_PATHS = [
    "/courses/{id}/",
    "/courses/{id}/reviews/",
    "/programmes/{id}/",
    "/programmes/{id}/courses/",
    "/enrollments/{id}/",
]
BAD_IDS = ["0", str(BIG_ID), str(10**18), str(2**63), str(HUGE), "-1", "1.5", "1e3", "abc", "1%00", "%00", "%C3%A9"]


@pytest.mark.parametrize(("method", "path", "actor"), WRITE_PATHS, ids=lambda v: str(v))
def test_writes_to_ids_that_cannot_exist_are_404(world: World, method: str, path: str, actor: str) -> None:
    client = client_for(world, actor)
    for bad in BAD_IDS:
        response = getattr(client, method)(path.replace("{id}", bad), {"rating": 5, "progress": 5}, format="json")
        assert_json_error(response, 404, names="detail")


@pytest.mark.parametrize("path", READ_PATHS)
def test_reads_of_ids_that_cannot_exist_are_404(world: World, path: str) -> None:
    client = client_for(world, "staff")
    for bad in BAD_IDS:
        assert_json_error(client.get(path.replace("{id}", bad)), 404, names="detail")


@pytest.mark.parametrize(
    "key",
    ["", " ", "a\x01b", "é", "x" * 256, "tab\tinside"],
    ids=["empty", "blank", "control", "latin1", "long", "tab"],
)
def test_a_bad_idempotency_key_is_400_naming_the_header(world: World, key: str) -> None:
    client = client_for(world, "student")
    response = client.post(f"/courses/{world.course.pk}/enroll/", HTTP_IDEMPOTENCY_KEY=key)
    assert_json_error(response, 400, names="Idempotency-Key")
    assert not Enrollment.objects.filter(user=world.student, course=world.course).exclude(pk=world.enrollment.pk)


@pytest.mark.parametrize(
    "authorization",
    ["Bearer", "Bearer not.a.token", "Bearer a b", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 4000, "Bearer é"],
    ids=["empty", "garbage", "spaces", "basic", "long", "latin1"],
)
def test_a_bad_token_is_401(world: World, authorization: str) -> None:
    client = APIClient(HTTP_AUTHORIZATION=authorization)
    read, write = client.get("/courses/"), client.post(f"/courses/{world.course.pk}/enroll/")
    # A Basic header carries no token at all: the catalogue reads as anonymous.
    assert read.status_code == (200 if authorization.startswith("Basic") else 401)
    assert_json_error(write, 401, names="detail")


# --- Query parameters of reads ----------------------------------------------------------------

BAD_QUERIES = [
    ("/courses/", "page", "-1"),
    ("/courses/", "page", "0"),
    ("/courses/", "page", "1.5"),
    ("/courses/", "page", str(10**19)),
    ("/courses/", "page", "%00"),
    ("/courses/", "page_size", "-5"),
    ("/courses/", "page_size", "ten"),
    ("/courses/", "category", "-1"),
    ("/courses/", "category", str(HUGE)),
    ("/courses/", "instructor", "1e3"),
    ("/courses/", "programme", "%00"),
    ("/courses/", "price_min", "1e400"),
    ("/courses/", "price_max", "-inf"),
    ("/courses/", "price_min", "1" * 40),
    ("/courses/", "search", "a%00b"),
    ("/courses/", "search", "x" * 201),
    ("/courses/", "ordering", "%00"),
    ("/courses/", "ordering", "password"),
    ("/programmes/", "is_active", "maybe"),
    ("/programmes/", "is_active", "%00"),
    ("/programmes/", "search", "%00"),
    ("/programmes/", "ordering", "-id;drop"),
    ("/enrollments/", "status", "bogus"),
    ("/enrollments/", "course", str(2**63)),
    ("/enrollments/", "user", "-1"),
    ("/courses/{course}/reviews/", "page", "-1"),
    ("/programmes/{programme}/courses/", "page_size", "0"),
    ("/instructor/courses/", "page", "x"),
]


@pytest.mark.parametrize(("path", "name", "value"), BAD_QUERIES, ids=lambda v: str(v)[:30])
def test_a_bad_query_parameter_is_400_naming_it(world: World, path: str, name: str, value: str) -> None:
    client = client_for(world, "staff")
    url = path.format(course=world.course.pk, programme=world.programme.pk)
    assert_json_error(client.get(f"{url}?{name}={value}"), 400, names=name)


def test_a_page_past_the_last_is_404_and_unknown_parameters_are_ignored(world: World) -> None:
    client = client_for(world, "staff")
    assert_json_error(client.get(f"/courses/?page={10**17}"), 404, names="detail")
    assert client.get("/courses/?unknown=%00&also=1e400&page_size=1000").status_code == 200
