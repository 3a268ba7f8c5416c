"""GET /metrics and what core.metrics records, in-process (the real-server count under
Gunicorn with several workers is tests/fault/test_metrics_live.py)."""

import logging
from typing import Any

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from rest_framework_simplejwt.tokens import AccessToken

from core.metrics import RedisErrorCounter, route_name
from tests.factories import CourseFactory, ProgrammeFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client: Client, **extra: Any) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for s in family.samples:
            found.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return found


def bearer(user: Any) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {AccessToken.for_user(user)}"}


# --- Who may read them ---------------------------------------------------------------------


def test_loopback_may_scrape_by_default() -> None:
    Client().get("/healthz")
    metrics = scrape(Client(REMOTE_ADDR="127.0.0.1"))
    assert metrics["brisk_http_requests_total"][(("method", "GET"), ("route", "healthz"), ("status", "2xx"))] >= 1
    assert Client(REMOTE_ADDR="::1").get("/metrics").status_code == 200


def test_other_addresses_are_refused() -> None:
    response = Client(REMOTE_ADDR="203.0.113.9").get("/metrics")
    assert response.status_code == 403
    assert "METRICS_ALLOWED_IPS" in response.json()["detail"]


def test_a_request_through_a_proxy_is_never_let_in_by_address() -> None:
    """nginx on the same host makes every caller 127.0.0.1: its header gives it away."""
    client = Client(REMOTE_ADDR="127.0.0.1")
    for header in ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP"):
        assert client.get("/metrics", **{header: "127.0.0.1"}).status_code == 403, header


@override_settings(METRICS_ALLOWED_IPS=["10.0.0.0/8", "192.0.2.7"])
def test_the_allow_list_takes_addresses_and_networks() -> None:
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="192.0.2.7").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="192.0.2.8").get("/metrics").status_code == 403
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 403  # loopback no longer listed


@override_settings(METRICS_ALLOWED_IPS=[])
def test_a_staff_token_may_scrape_from_anywhere() -> None:
    client = Client(REMOTE_ADDR="203.0.113.9")
    assert client.get("/metrics", **bearer(StaffFactory())).status_code == 200
    # Also through a proxy, and on a host name that ALLOWED_HOSTS does not list.
    assert (
        client.get("/metrics", HTTP_X_FORWARDED_FOR="198.51.100.1", HTTP_HOST="10.0.0.5:8000", **bearer(StaffFactory()))
    ).status_code == 200
    assert client.get("/metrics", **bearer(UserFactory())).status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer nonsense").status_code == 401
    assert client.get("/metrics").status_code == 403


def test_a_valid_non_staff_token_is_refused_even_from_loopback() -> None:
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics", **bearer(UserFactory())).status_code == 403


def test_only_get_is_answered() -> None:
    response = Client(REMOTE_ADDR="127.0.0.1").post("/metrics")
    assert response.status_code == 405
    assert response["Allow"] == "GET"


def test_a_bad_allow_list_entry_stops_start_up() -> None:
    from django.core.exceptions import ImproperlyConfigured

    from core.metrics import MetricsMiddleware

    with override_settings(METRICS_ALLOWED_IPS=["not-an-address"]), pytest.raises(ImproperlyConfigured):
        MetricsMiddleware(lambda request: None)  # type: ignore[arg-type,return-value]


# --- What is recorded ---------------------------------------------------------------------


def test_requests_are_counted_by_route_name_method_and_status_class() -> None:
    course = CourseFactory()
    client = Client()
    labels = {"route": "course-detail", "method": "GET"}
    before_ok = sample("brisk_http_requests_total", **labels, status="2xx")
    before_missing = sample("brisk_http_requests_total", **labels, status="4xx")
    before_latency = sample("brisk_http_request_duration_seconds_count", **labels)
    before_sql = sample("brisk_http_request_sql_statements_sum", **labels)
    before_sql_count = sample("brisk_http_request_sql_statements_count", **labels)
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert client.get(f"/courses/{course.pk}/").status_code == 200
        assert client.get("/courses/999999/").status_code == 404
    assert sample("brisk_http_requests_total", **labels, status="2xx") - before_ok == 3
    assert sample("brisk_http_requests_total", **labels, status="4xx") - before_missing == 1
    assert sample("brisk_http_request_duration_seconds_count", **labels) - before_latency == 4
    assert sample("brisk_http_request_sql_statements_count", **labels) - before_sql_count == 4
    assert sample("brisk_http_request_sql_statements_sum", **labels) - before_sql == len(queries)
    assert sample("brisk_http_request_sql_seconds_count", **labels) >= 4


def test_an_unknown_path_is_one_route_not_one_per_path() -> None:
    before = sample("brisk_http_requests_total", route="unmatched", method="GET", status="4xx")
    client = Client()
    for path in ("/nope/1", "/nope/2", "/wp-admin.php"):
        assert client.get(path).status_code == 404
    assert sample("brisk_http_requests_total", route="unmatched", method="GET", status="4xx") - before == 3


def test_probes_and_odd_methods_have_bounded_labels() -> None:
    before = sample("brisk_http_requests_total", route="healthz", method="GET", status="2xx")
    Client().get("/healthz")
    assert sample("brisk_http_requests_total", route="healthz", method="GET", status="2xx") - before == 1
    before = sample("brisk_http_requests_total", route="programme-list", method="other", status="4xx")
    Client().generic("BREW", "/programmes/")
    assert sample("brisk_http_requests_total", route="programme-list", method="other", status="4xx") - before == 1


@override_settings(CATALOGUE_CACHE_ENABLED=True)
def test_catalogue_cache_hits_and_misses_are_counted_under_the_route_name() -> None:
    programme = ProgrammeFactory()
    labels = {"route": "programme-detail"}
    before = {
        result: sample("brisk_catalogue_cache_requests_total", **labels, result=result) for result in ("hit", "miss")
    }
    client = Client()
    answers = [client.get(f"/programmes/{programme.pk}/")["X-Cache"] for _ in range(4)]
    assert answers == ["miss", "hit", "hit", "hit"]
    assert sample("brisk_catalogue_cache_requests_total", **labels, result="miss") - before["miss"] == 1
    assert sample("brisk_catalogue_cache_requests_total", **labels, result="hit") - before["hit"] == 3
    # A hit never reached URL resolution; it is still counted under its route, with 0 SQL.
    assert route_name(client.get(f"/programmes/{programme.pk}/").wsgi_request) == "programme-detail"


def test_throttled_requests_are_counted() -> None:
    """The login throttle allows 10 a minute per address (THROTTLE_AUTH_TOKEN)."""
    labels = {"route": "auth-token", "method": "POST"}
    before = sample("brisk_http_throttled_requests_total", **labels)
    client = Client()
    body = {"email": "nobody@example.com", "password": "wrong-password"}
    statuses = [client.post("/auth/token/", body, content_type="application/json").status_code for _ in range(12)]
    assert statuses == [401] * 10 + [429] * 2
    assert sample("brisk_http_throttled_requests_total", **labels) - before == 2


def test_redis_errors_are_counted_before_the_log_line_is_rate_limited() -> None:
    counter = RedisErrorCounter()
    before = {cache: sample("brisk_redis_errors_total", cache=cache) for cache in ("default", "catalogue")}
    try:
        raise ConnectionError("refused")
    except ConnectionError:
        import sys

        ignored = logging.LogRecord(
            "brisk.cache", logging.ERROR, __file__, 1, "Exception ignored", None, sys.exc_info()
        )
    tripped = logging.LogRecord("brisk.cache", logging.WARNING, __file__, 1, "catalogue cache unavailable", None, None)
    assert counter.filter(ignored) and counter.filter(tripped) and counter.filter(ignored)
    assert sample("brisk_redis_errors_total", cache="default") - before["default"] == 2
    assert sample("brisk_redis_errors_total", cache="catalogue") - before["catalogue"] == 1
    filters = logging.getLogger("brisk.cache").filters
    assert isinstance(filters[0], RedisErrorCounter)  # ahead of the once-a-minute filter


def test_open_database_connections_are_a_gauge() -> None:
    UserFactory()  # the test's own connection is open
    metrics = scrape(Client())
    assert metrics["brisk_db_connections_open"][()] >= 1


def test_catalogue_routes_bear_the_url_patterns_names() -> None:
    """route_name takes a cache hit's name from core.catalogue_cache.routes(): they must agree."""
    from django.urls import resolve

    from core.catalogue_cache import routes

    samples = {
        "programme-list": "/programmes/",
        "programme-detail": "/programmes/7/",
        "programme-courses": "/programmes/7/courses/",
        "course-list": "/courses/",
        "course-detail": "/courses/7/",
        "course-reviews": "/courses/7/reviews/",
    }
    assert {route.name for route in routes()} == set(samples)
    for name, path in samples.items():
        assert resolve(path).view_name == name
