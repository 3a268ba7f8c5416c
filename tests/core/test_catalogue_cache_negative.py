"""A computation that ends without a page (404, 400, an error) never makes other readers wait."""

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import OperationalError
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.conftest import RunInThreads
from tests.factories import CourseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def catalogue_cache_on() -> Iterator[None]:
    with override_settings(CATALOGUE_CACHE_ENABLED=True, CATALOGUE_LOCK_WAIT_SECONDS=5.0):
        yield


def test_a_404_is_stored_under_the_generations(api_client: APIClient, django_assert_num_queries: Any) -> None:
    course = CourseFactory(is_published=False)
    url = f"/courses/{course.pk}/"
    cold = api_client.get(url)
    with django_assert_num_queries(0):
        warm = api_client.get(url)
    assert (cold.status_code, warm.status_code) == (404, 404)
    assert (cold["X-Cache"], warm["X-Cache"]) == ("miss", "hit")
    assert warm.content == cold.content
    assert warm["Content-Type"] == cold["Content-Type"]
    assert warm["Vary"] == cold["Vary"]
    # Publishing is a write to the courses family: the next read is the page.
    course.is_published = True
    course.save()
    assert api_client.get(url).status_code == 200


def test_a_400_is_stored_too(api_client: APIClient, django_assert_num_queries: Any) -> None:
    cold = api_client.get("/courses/?price_min=abc")
    with django_assert_num_queries(0):
        warm = api_client.get("/courses/?price_min=abc")
    assert (cold.status_code, warm.status_code) == (400, 400)
    assert warm.content == cold.content


def slow_course_query(delay: float, *, fail_first: list[bool] | None = None) -> Any:
    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.lstrip().upper().startswith("SELECT") and '"courses_course"' in sql:
            time.sleep(delay)
            if fail_first is not None and fail_first and fail_first.pop():
                raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    return wrapper


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_flood_for_a_missing_id_costs_one_404(in_threads: RunInThreads) -> None:
    def fetch(i: int) -> tuple[int, int, float]:
        from django.db import connection as thread_connection

        started = time.monotonic()
        with (
            thread_connection.execute_wrapper(slow_course_query(0.3)),
            CaptureQueriesContext(thread_connection) as captured,
        ):
            response = APIClient().get("/courses/99999999/")
        return response.status_code, len(captured.captured_queries), time.monotonic() - started

    statuses, queries, seconds = zip(*in_threads(12, fetch), strict=True)
    assert list(statuses) == [404] * 12
    assert sum(queries) == 1  # one computation for twelve requests
    assert max(seconds) < 2.0  # not the lock wait (5 s here)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_failed_computation_releases_its_waiters_at_once(in_threads: RunInThreads) -> None:
    course = CourseFactory()
    fail_first = [True]  # shared: only the first course query fails

    def fetch(i: int) -> tuple[int, float]:
        from django.db import connection as thread_connection

        started = time.monotonic()
        with thread_connection.execute_wrapper(slow_course_query(0.3, fail_first=fail_first)):
            response = APIClient().get(f"/courses/{course.pk}/")
        return response.status_code, time.monotonic() - started

    statuses, seconds = zip(*in_threads(8, fetch), strict=True)
    assert sorted(statuses) == [200] * 7 + [503]
    assert max(seconds) < 3.0  # each waiter computed at once instead of waiting 5 s
