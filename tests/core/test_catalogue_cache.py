import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from core.catalogue_cache import breaker
from courses.models import Course
from programmes.models import Programme
from tests.conftest import RunInThreads, clear_caches
from tests.factories import CourseFactory, EnrollmentFactory, ProgrammeFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalogue_cache_on")]

URL = "/programmes/?page=1&page_size=10"


@pytest.fixture
def catalogue_cache_on() -> Iterator[None]:
    with override_settings(CATALOGUE_CACHE_ENABLED=True):
        yield


def titles(response: Any) -> list[str]:
    return [row["title"] for row in response.json()["results"]]


def test_warm_hit_runs_no_sql(api_client: APIClient, django_assert_num_queries: Any) -> None:
    for programme in ProgrammeFactory.create_batch(3):
        CourseFactory(programmes=[programme])
    with django_assert_num_queries(2):  # count + page
        cold = api_client.get(URL)
    with django_assert_num_queries(0):
        warm = api_client.get(URL)
    assert cold["X-Cache"] == "miss"
    assert warm["X-Cache"] == "hit"
    assert warm.content == cold.content
    assert warm["ETag"] == cold["ETag"]
    assert warm["Content-Type"] == "application/json"


def test_parameter_order_and_unknown_parameters_share_one_entry(
    api_client: APIClient, django_assert_num_queries: Any
) -> None:
    ProgrammeFactory.create_batch(12)
    first = api_client.get("/programmes/?page_size=5&page=1")
    with django_assert_num_queries(0):
        second = api_client.get("/programmes/?page=1&page_size=5&utm_source=mail")
    assert second.content == first.content
    assert "utm_source" not in first.json()["next"]


def test_pages_of_one_list_share_the_count(api_client: APIClient, django_assert_num_queries: Any) -> None:
    ProgrammeFactory.create_batch(12)
    api_client.get("/programmes/?page=1&page_size=5")
    with django_assert_num_queries(1):  # the page only: its count is cached
        response = api_client.get("/programmes/?page=2&page_size=5")
    assert response.json()["count"] == 12


def test_conditional_get_answers_304_without_sql(api_client: APIClient, django_assert_num_queries: Any) -> None:
    ProgrammeFactory()
    etag = api_client.get(URL)["ETag"]
    with django_assert_num_queries(0):
        response = api_client.get(URL, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag
    assert api_client.get(URL, HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_conditional_get_on_a_miss(api_client: APIClient) -> None:
    ProgrammeFactory()
    etag = api_client.get(URL)["ETag"]
    clear_caches()
    assert api_client.get(URL, HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_cache_control(api_client: APIClient, student: Any) -> None:
    ProgrammeFactory()
    public = api_client.get(URL)
    assert public["Cache-Control"].startswith("public")
    assert "s-maxage=" in public["Cache-Control"]
    assert "Authorization" in public["Vary"]
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    private = api_client.get(URL)
    assert private.status_code == 401
    assert "public" not in private.get("Cache-Control", "")


def test_errors_are_not_cached(api_client: APIClient) -> None:
    assert api_client.get("/programmes/?page=5").status_code == 404
    ProgrammeFactory.create_batch(50)
    assert api_client.get("/programmes/?page=5").status_code == 200


# --- Never stale after a write: every way a write reaches the database ------------------


def test_orm_save_is_seen(api_client: APIClient) -> None:
    programme: Programme = ProgrammeFactory(title="Before")
    assert titles(api_client.get(URL)) == ["Before"]
    programme.title = "After"
    programme.save()
    assert titles(api_client.get(URL)) == ["After"]


def test_queryset_update_is_seen(api_client: APIClient) -> None:
    ProgrammeFactory(title="Before")
    api_client.get(URL)
    Programme.objects.update(title="Bulk")
    assert titles(api_client.get(URL)) == ["Bulk"]


def test_bulk_create_and_delete_are_seen(api_client: APIClient) -> None:
    api_client.get(URL)
    Programme.objects.bulk_create([Programme(title=f"P{i}", slug=f"p{i}") for i in range(3)])
    assert api_client.get(URL).json()["count"] == 3
    Programme.objects.filter(slug="p0").delete()
    assert api_client.get(URL).json()["count"] == 2


def test_raw_sql_is_seen(api_client: APIClient) -> None:
    programme = ProgrammeFactory(title="Before")
    api_client.get(URL)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE programmes_programme SET title = %s WHERE id = %s", ["Raw", programme.id])
    assert titles(api_client.get(URL)) == ["Raw"]


def test_a_change_to_a_related_table_is_seen(api_client: APIClient) -> None:
    programme = ProgrammeFactory()
    CourseFactory(programmes=[programme], is_published=False)
    assert api_client.get(URL).json()["results"][0]["course_count"] == 0
    Course.objects.update(is_published=True)
    assert api_client.get(URL).json()["results"][0]["course_count"] == 1


def test_a_write_inside_a_transaction_is_seen_by_the_writer(api_client: APIClient) -> None:
    ProgrammeFactory(title="Before")
    api_client.get(URL)
    with transaction.atomic():
        Programme.objects.update(title="Inside")
        assert titles(api_client.get(URL)) == ["Inside"]
    assert titles(api_client.get(URL)) == ["Inside"]


@pytest.mark.django_db(transaction=True)
def test_commit_bumps_again(api_client: APIClient) -> None:
    """A page built by someone else while the writer's transaction was open is dropped at commit."""
    ProgrammeFactory(title="Before")
    api_client.get(URL)
    with transaction.atomic():
        Programme.objects.update(title="Inside")
        # What a concurrent reader would have cached: the old rows under the new generation.
        stale_client = APIClient()
        stale = stale_client.get(URL)
        assert stale["X-Cache"] == "miss"
    response = api_client.get(URL)
    assert response["X-Cache"] == "miss"
    assert titles(response) == ["Inside"]


@override_settings(CATALOGUE_CACHE_TTL=1)
def test_enrollment_counts_lag_at_most_the_ttl(api_client: APIClient) -> None:
    import time

    programme = ProgrammeFactory()
    course = CourseFactory(programmes=[programme])
    assert api_client.get(URL).json()["results"][0]["student_count"] == 0
    EnrollmentFactory(course=course)
    # Enrollments do not invalidate the catalogue: the count may lag ...
    assert api_client.get(URL).json()["results"][0]["student_count"] == 0
    time.sleep(1.2)
    # ... by no more than CATALOGUE_CACHE_TTL seconds.
    assert api_client.get(URL).json()["results"][0]["student_count"] == 1


# --- Redis that refuses or hangs -------------------------------------------------------


def _redis_caches(location: str) -> dict[str, Any]:
    options = {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2}
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": location,
            "OPTIONS": {**options, "IGNORE_EXCEPTIONS": True},
        },
        "catalogue": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": location, "OPTIONS": options},
    }


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers: a hung Redis."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


@pytest.fixture
def refused_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    return port


@pytest.mark.parametrize("kind", ["refused", "hung"])
def test_a_dead_redis_costs_no_request(
    api_client: APIClient, kind: str, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    port = request.getfixturevalue("refused_port" if kind == "refused" else "silent_port")
    ProgrammeFactory(title="Served")
    breaker.reset()
    for log_filter in logging.getLogger("brisk.cache").filters:
        log_filter.reset()  # type: ignore[union-attr]
    with override_settings(CACHES=_redis_caches(f"redis://127.0.0.1:{port}/0")):
        responses = [api_client.get(URL) for _ in range(5)]
    assert [r.status_code for r in responses] == [200] * 5
    assert all(titles(r) == ["Served"] for r in responses)
    assert {r["X-Cache"] for r in responses} == {"bypass"}
    # Tripped once, then skipped: one log line, not one per request.
    warnings = [r for r in caplog.records if r.name == "brisk.cache"]
    assert len(warnings) == 1
    assert not breaker.available()
    breaker.reset()


# --- No stampede -----------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_misses_compute_the_page_once(in_threads: RunInThreads) -> None:
    for programme in ProgrammeFactory.create_batch(5):
        CourseFactory(programmes=[programme])

    def fetch(i: int) -> tuple[int, int]:
        from django.db import connection as thread_connection

        # Slow the page query down so the requests really overlap.
        def slow(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            if "programmes_programme" in sql and "LIMIT" in sql:
                with thread_connection.cursor() as cursor:
                    cursor.execute("SELECT pg_sleep(0.3)")
            return execute(sql, params, many, context)

        with thread_connection.execute_wrapper(slow), CaptureQueriesContext(thread_connection) as captured:
            response = APIClient().get(URL)
        return response.status_code, sum(1 for q in captured.captured_queries if "pg_sleep" not in q["sql"])

    statuses, counts = zip(*in_threads(8, fetch), strict=True)
    assert list(statuses) == [200] * 8
    assert sum(counts) == 2  # one count and one page, for eight requests


def test_the_write_watcher_survives_execute_wrapper_blocks() -> None:
    """A connection opened inside `connection.execute_wrapper(...)` keeps its watcher when
    the block pops its own wrapper (found by the admin browser test)."""
    from core.catalogue_cache import _install_write_watcher

    def is_watcher(wrapper: Any) -> bool:
        return getattr(wrapper, "brisk_catalogue", False)

    connection.execute_wrappers[:] = [w for w in connection.execute_wrappers if not is_watcher(w)]

    def passthrough(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        return execute(sql, params, many, context)

    with connection.execute_wrapper(passthrough):
        _install_write_watcher(sender=None, connection=connection)  # as connection_created does
    assert [is_watcher(w) for w in connection.execute_wrappers] == [True]


# --- Signed-in callers -----------------------------------------------------------------


def bearer(user: Any) -> dict[str, str]:
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.serializers import TokenObtainSerializer

    refresh: RefreshToken = TokenObtainSerializer.get_token(user)
    return {"HTTP_AUTHORIZATION": f"Bearer {refresh.access_token}"}


def test_learners_share_the_public_entry_without_sql(
    api_client: APIClient, student: Any, django_assert_num_queries: Any
) -> None:
    ProgrammeFactory()
    public = api_client.get(URL)
    with django_assert_num_queries(0):
        signed_in = APIClient().get(URL, **bearer(student))
    assert signed_in.status_code == 200
    assert signed_in["X-Cache"] == "hit"
    assert signed_in.content == public.content
    assert signed_in["Cache-Control"] == "private, no-cache"


def test_staff_never_get_the_shared_entry(api_client: APIClient, staff: Any) -> None:
    CourseFactory(title="Visible")
    CourseFactory(title="Draft", is_published=False)
    assert [c["title"] for c in api_client.get("/courses/").json()["results"]] == ["Visible"]
    response = APIClient().get("/courses/", **bearer(staff))
    assert response["X-Cache"] == "bypass"
    assert sorted(c["title"] for c in response.json()["results"]) == ["Draft", "Visible"]
    # ... and the staff answer was not stored for anyone else.
    assert [c["title"] for c in api_client.get("/courses/").json()["results"]] == ["Visible"]


def test_a_bad_token_is_still_a_401(api_client: APIClient, student: Any) -> None:
    ProgrammeFactory()
    api_client.get(URL)  # warm
    forged = bearer(student)["HTTP_AUTHORIZATION"][:-2] + "xx"
    response = APIClient().get(URL, HTTP_AUTHORIZATION=forged)
    assert response.status_code == 401
    assert "X-Cache" not in response or response["X-Cache"] == "bypass"


def test_the_token_endpoint_sets_the_staff_claim(api_client: APIClient) -> None:
    from rest_framework_simplejwt.tokens import AccessToken

    from tests.factories import StaffFactory, UserFactory

    for factory, expected in ((UserFactory, False), (StaffFactory, True)):
        user = factory(password="a-long-password-1")
        body = api_client.post("/auth/token/", {"email": user.email, "password": "a-long-password-1"}).json()
        assert AccessToken(body["access"])["staff"] is expected
        refreshed = api_client.post("/auth/token/refresh/", {"refresh": body["refresh"]}).json()
        assert AccessToken(refreshed["access"])["staff"] is expected


def test_cache_failures_are_logged_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    """django-redis logs every error it ignores; the filter keeps one line per minute."""
    logger = logging.getLogger("brisk.cache")
    for log_filter in logger.filters:
        log_filter.reset()  # type: ignore[union-attr]
    for _ in range(50):
        logger.error("Exception ignored")
    assert len([r for r in caplog.records if r.name == "brisk.cache"]) == 1
