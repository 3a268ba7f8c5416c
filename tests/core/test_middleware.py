import contextvars
import io
import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis.exceptions
from django.conf import settings
from django.db import OperationalError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import Client, RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import path
from pythonjsonlogger.orjson import OrjsonFormatter

from core import db_router
from core.db_router import PrimaryReplicaRouter, ReplicaPinMiddleware
from core.logging import RequestIDFilter
from tests.factories import ProgrammeFactory

pytestmark = pytest.mark.django_db


# --- A URLconf of plain Django views (not DRF), for the 503 mapping --------------------
def database_down(request: HttpRequest) -> HttpResponse:
    raise OperationalError("connection refused")


def redis_down(request: HttpRequest) -> HttpResponse:
    raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379")


def bug(request: HttpRequest) -> HttpResponse:
    raise ValueError("a bug")


def logs(request: HttpRequest) -> HttpResponse:
    logging.getLogger("tests.views").warning("inside the view")
    return JsonResponse({})


urlpatterns = [
    path("database-down/", database_down),
    path("redis-down/", redis_down),
    path("bug/", bug),
    path("logs/", logs),
]
handler500 = "core.exceptions.server_error"


# --- X-Request-ID ----------------------------------------------------------------------
def test_request_id_is_echoed(client: Client) -> None:
    response = client.get("/programmes/", HTTP_X_REQUEST_ID="frontend-7f3a.42")
    assert response["X-Request-ID"] == "frontend-7f3a.42"


def test_request_id_is_generated_when_absent(client: Client) -> None:
    first = client.get("/programmes/")["X-Request-ID"]
    second = client.get("/programmes/")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


@pytest.mark.parametrize(
    "sent",
    ["x" * 129, "has space", "tab\there", "bell\x07", "caf\u00e9", ""],
    ids=["too-long", "space", "tab", "control", "non-ascii", "empty"],
)
def test_bad_request_id_is_replaced(client: Client, sent: str) -> None:
    response = client.get("/programmes/", HTTP_X_REQUEST_ID=sent)
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_request_id_of_128_characters_is_kept(client: Client) -> None:
    sent = "a" * 128
    assert client.get("/programmes/", HTTP_X_REQUEST_ID=sent)["X-Request-ID"] == sent


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("url", ["/nowhere/", "/database-down/", "/bug/", "/healthz"])
def test_every_response_carries_the_request_id(url: str) -> None:
    client = Client(raise_request_exception=False)
    assert client.get(url, HTTP_X_REQUEST_ID="abc")["X-Request-ID"] == "abc"


def test_logging_config_puts_the_request_id_on_every_line() -> None:
    console = settings.LOGGING["handlers"]["console"]
    assert console["filters"] == ["request_id"]
    assert settings.LOGGING["filters"]["request_id"]["()"] == "core.logging.RequestIDFilter"
    assert "%(request_id)s" in settings.LOGGING["formatters"]["plain"]["format"]


def capture(logger_name: str, formatter: logging.Formatter) -> tuple[io.StringIO, Callable[[], None]]:
    """Lines of `logger_name`, formatted as the console handler would."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIDFilter())
    handler.setFormatter(formatter)
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    return stream, lambda: logger.removeHandler(handler)


@pytest.mark.urls(__name__)
def test_log_lines_inside_a_request_carry_its_id(client: Client) -> None:
    stream, done = capture("tests.views", logging.Formatter(settings.LOGGING["formatters"]["plain"]["format"]))
    try:
        client.get("/logs/", HTTP_X_REQUEST_ID="req-1")
        logging.getLogger("tests.views").warning("outside any request")
    finally:
        done()
    inside, outside = stream.getvalue().splitlines()
    assert "[req-1] inside the view" in inside
    assert "[-] outside any request" in outside


@pytest.mark.urls(__name__)
def test_production_json_lines(client: Client) -> None:
    config = settings.LOGGING["formatters"]["json"]
    formatter = OrjsonFormatter(config["fmt"], rename_fields=config["rename_fields"])
    stream, done = capture("tests.views", formatter)
    try:
        client.get("/logs/", HTTP_X_REQUEST_ID="req-2")
    finally:
        done()
    line = json.loads(stream.getvalue())
    assert line["request_id"] == "req-2"
    assert line["level"] == "WARNING"
    assert line["logger"] == "tests.views"
    assert line["message"] == "inside the view"
    assert "time" in line


# --- Server-Timing and slow requests ---------------------------------------------------
def test_server_timing_is_off_by_default(client: Client) -> None:
    assert "Server-Timing" not in client.get("/programmes/")


def test_server_timing_counts_the_requests_queries(client: Client) -> None:
    ProgrammeFactory.create_batch(3)
    from django.db import connection

    with override_settings(SERVER_TIMING=True), CaptureQueriesContext(connection) as queries:
        response = client.get("/programmes/")
    match = re.fullmatch(r'db;dur=(\d+\.\d);desc="(\d+) queries", total;dur=(\d+\.\d)', response["Server-Timing"])
    assert match, response["Server-Timing"]
    db_ms, count, total_ms = float(match[1]), int(match[2]), float(match[3])
    assert count == len(queries) > 0
    assert 0 <= db_ms <= total_ms


def test_slow_request_logs_a_warning_with_its_query_count(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    ProgrammeFactory.create_batch(2)
    with override_settings(SLOW_REQUEST_MS=0), caplog.at_level(logging.WARNING, logger="core.middleware"):
        client.get("/programmes/?page_size=5")
    (record,) = [r for r in caplog.records if r.getMessage().startswith("slow request")]
    assert "GET /programmes/" in record.getMessage()
    assert record.queries > 0  # type: ignore[attr-defined]
    assert record.status == 200  # type: ignore[attr-defined]
    assert f"{record.queries} queries" in record.getMessage()  # type: ignore[attr-defined]


def test_fast_request_logs_nothing(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="core.middleware"):
        client.get("/healthz")
    assert not caplog.records


# --- Outages are 503 JSON outside DRF too ----------------------------------------------
@pytest.mark.urls(__name__)
@pytest.mark.parametrize(("url", "what"), [("/database-down/", "database"), ("/redis-down/", "cache")])
def test_outage_in_a_plain_django_view_is_503_json(client: Client, url: str, what: str) -> None:
    response = client.get(url)
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "5"
    assert what in response.json()["detail"]


@pytest.mark.urls(__name__)
def test_a_bug_is_still_a_500() -> None:
    response = Client(raise_request_exception=False).get("/bug/")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error."}


# --- Read replica routing --------------------------------------------------------------
# Tests that expect "replica" run outside the test's own transaction: inside one, every
# read rightly goes to the primary.
outside_transaction = pytest.mark.django_db(transaction=True)


def in_fresh_context(function: Callable[[], Any]) -> Any:
    """Routing state is per request; each test starts from none."""
    return contextvars.copy_context().run(function)


class FakeReplica:
    """Stands for connections["replica"]: connects, or is refused, as told."""

    def __init__(self) -> None:
        self.down = False
        self.connection: object | None = None
        self.errors_occurred = False
        self.connects = 0

    def close_if_health_check_failed(self) -> None:
        if self.connection is not None and self.down:
            self.close()

    def ensure_connection(self) -> None:
        if self.connection is None:
            self.connects += 1
            if self.down:
                self.errors_occurred = True
                raise OperationalError("connection refused")
            self.connection, self.errors_occurred = object(), False

    def is_usable(self) -> bool:
        return not self.down

    def close(self) -> None:
        self.connection = None

    def break_under_a_query(self) -> None:
        """The replica stops while a query runs on it."""
        self.down, self.errors_occurred = True, True


@pytest.fixture
def replica(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A replica alias for the middleware, and a fake connection to it for the router."""
    monkeypatch.setitem(settings.DATABASES, "replica", dict(settings.DATABASES["default"]))
    fake, real = FakeReplica(), db_router.connections

    class Connections:
        def __getitem__(self, alias: str) -> Any:
            return fake if alias == "replica" else real[alias]

    monkeypatch.setattr(db_router, "connections", Connections())
    db_router.replica_health.reset()
    yield fake
    db_router.replica_health.reset()


with_replica = pytest.mark.usefixtures("replica")


@outside_transaction
@with_replica
def test_router_reads_from_the_replica_and_writes_to_the_primary() -> None:
    router = PrimaryReplicaRouter()

    def route() -> tuple[str, str, str]:
        before = router.db_for_read(object)
        write = router.db_for_write(object)
        return before, write, router.db_for_read(object)

    assert in_fresh_context(route) == ("replica", "default", "default")


def test_router_reads_inside_a_transaction_from_the_primary() -> None:
    def route() -> str:
        with transaction.atomic():
            return PrimaryReplicaRouter().db_for_read(object)

    assert in_fresh_context(route) == "default"


def test_router_migrates_the_primary_only() -> None:
    router = PrimaryReplicaRouter()
    assert router.allow_migrate("default", "courses")
    assert not router.allow_migrate("replica", "courses")


def test_pin_middleware_is_off_without_a_replica() -> None:
    from django.core.exceptions import MiddlewareNotUsed

    with pytest.raises(MiddlewareNotUsed):
        ReplicaPinMiddleware(lambda request: HttpResponse())


def routed(method: str, *, writes: bool = False, **headers: str) -> str:
    """Runs one request through the middleware; returns where its read after any write went."""

    def view(request: HttpRequest) -> HttpResponse:
        if writes:
            PrimaryReplicaRouter().db_for_write(object)
        return HttpResponse(PrimaryReplicaRouter().db_for_read(object))

    request = RequestFactory().generic(method, "/courses/", **headers)  # type: ignore[arg-type]
    return in_fresh_context(lambda: ReplicaPinMiddleware(view)(request).content.decode())


@outside_transaction
@with_replica
def test_safe_reads_go_to_the_replica_and_writes_pin_the_caller() -> None:
    alice = {"HTTP_AUTHORIZATION": "Bearer alice", "REMOTE_ADDR": "10.0.0.1"}
    bob = {"HTTP_AUTHORIZATION": "Bearer bob", "REMOTE_ADDR": "10.0.0.2"}
    assert routed("GET", **alice) == "replica"
    assert routed("POST", **alice) == "default"  # unsafe method: all its reads on the primary
    assert routed("GET", **alice) == "replica"  # that POST wrote nothing
    assert routed("PATCH", writes=True, **alice) == "default"
    assert routed("GET", **alice) == "default"  # right after its own write
    assert routed("GET", **bob) == "replica"  # someone else's write does not pin bob


@with_replica
def test_registration_then_first_authenticated_read_stays_on_the_primary() -> None:
    routed("POST", writes=True, REMOTE_ADDR="10.0.0.3")  # anonymous: known by address only
    assert routed("GET", HTTP_AUTHORIZATION="Bearer new", REMOTE_ADDR="10.0.0.3") == "default"


@outside_transaction
@with_replica
def test_the_pin_expires() -> None:
    caller = {"HTTP_AUTHORIZATION": "Bearer carol", "REMOTE_ADDR": "10.0.0.4"}
    with override_settings(REPLICA_PIN_SECONDS=1):
        routed("POST", writes=True, **caller)
        assert routed("GET", **caller) == "default"
        time.sleep(1.1)
        assert routed("GET", **caller) == "replica"


@outside_transaction
@with_replica
def test_pin_uses_the_forwarded_client_address() -> None:
    routed("POST", writes=True, HTTP_X_FORWARDED_FOR="203.0.113.9, 10.0.0.254", REMOTE_ADDR="10.0.0.254")
    assert routed("GET", HTTP_X_FORWARDED_FOR="203.0.113.9", REMOTE_ADDR="10.0.0.254") == "default"
    assert routed("GET", HTTP_X_FORWARDED_FOR="198.51.100.7", REMOTE_ADDR="10.0.0.254") == "replica"


@outside_transaction
def test_router_reads_from_the_primary_while_the_replica_is_down(replica: FakeReplica) -> None:
    router = PrimaryReplicaRouter()
    with override_settings(REPLICA_RETRY_SECONDS=0.3):
        replica.down = True
        assert in_fresh_context(lambda: router.db_for_read(object)) == "default"
        assert replica.connects == 1
        replica.down = False  # back, but not asked again before REPLICA_RETRY_SECONDS
        assert in_fresh_context(lambda: router.db_for_read(object)) == "default"
        assert replica.connects == 1
        time.sleep(0.35)
        assert in_fresh_context(lambda: router.db_for_read(object)) == "replica"
        assert replica.connects == 2


@outside_transaction
def test_a_dropped_replica_connection_is_noticed_before_the_read(replica: FakeReplica) -> None:
    router = PrimaryReplicaRouter()
    assert in_fresh_context(lambda: router.db_for_read(object)) == "replica"
    replica.down = True  # the replica stopped between two requests
    assert in_fresh_context(lambda: router.db_for_read(object)) == "default"


def replica_view(replica: FakeReplica, *, breaks: bool, calls: list[str]) -> Callable[[HttpRequest], HttpResponse]:
    """Reads once; the first time, the replica stops under that read when `breaks`."""

    def view(request: HttpRequest) -> HttpResponse:
        where = PrimaryReplicaRouter().db_for_read(object)
        calls.append(where)
        if where == "replica" and breaks and len(calls) == 1:
            replica.break_under_a_query()
            return JsonResponse({"detail": "unavailable"}, status=503)
        return HttpResponse(where)

    return view


@outside_transaction
def test_a_read_that_lost_the_replica_is_run_again_on_the_primary(replica: FakeReplica) -> None:
    calls: list[str] = []
    middleware = ReplicaPinMiddleware(replica_view(replica, breaks=True, calls=calls))
    response = in_fresh_context(lambda: middleware(RequestFactory().get("/courses/", REMOTE_ADDR="10.0.0.5")))
    assert (response.status_code, response.content, calls) == (200, b"default", ["replica", "default"])
    # The next request does not wait on the replica either.
    assert in_fresh_context(lambda: PrimaryReplicaRouter().db_for_read(object)) == "default"


@outside_transaction
def test_a_slow_replica_query_is_not_run_again(replica: FakeReplica) -> None:
    """A statement timeout leaves the connection usable: the 503 stands, no second try."""
    calls: list[str] = []

    def view(request: HttpRequest) -> HttpResponse:
        calls.append(PrimaryReplicaRouter().db_for_read(object))
        replica.errors_occurred = True
        return JsonResponse({"detail": "too slow"}, status=503)

    response = in_fresh_context(lambda: ReplicaPinMiddleware(view)(RequestFactory().get("/courses/")))
    assert (response.status_code, calls) == (503, ["replica"])


@outside_transaction
def test_a_write_is_never_run_twice(replica: FakeReplica) -> None:
    calls: list[str] = []

    def view(request: HttpRequest) -> HttpResponse:
        calls.append(PrimaryReplicaRouter().db_for_write(object))
        replica.break_under_a_query()
        return JsonResponse({"detail": "unavailable"}, status=503)

    response = in_fresh_context(lambda: ReplicaPinMiddleware(view)(RequestFactory().post("/courses/1/enroll/")))
    assert (response.status_code, calls) == (503, ["default"])


@outside_transaction
@with_replica
def test_catalogue_pages_to_be_cached_are_built_on_the_primary() -> None:
    """A page shared for CATALOGUE_CACHE_TTL must not carry a replica's lag; a page that
    is not stored (a staff caller's) is read from the replica."""
    from core.catalogue_cache import CatalogueCacheMiddleware

    def view(request: HttpRequest) -> HttpResponse:
        return JsonResponse({"read_from": PrimaryReplicaRouter().db_for_read(object)})

    stack = ReplicaPinMiddleware(CatalogueCacheMiddleware(view))
    with override_settings(CATALOGUE_CACHE_ENABLED=True):
        miss = in_fresh_context(lambda: stack(RequestFactory().get("/programmes/", REMOTE_ADDR="10.0.0.6")))
        hit = in_fresh_context(lambda: stack(RequestFactory().get("/programmes/", REMOTE_ADDR="10.0.0.6")))
        staff = RequestFactory().get("/programmes/", HTTP_AUTHORIZATION="Bearer not-a-learner")
        bypass = in_fresh_context(lambda: stack(staff))
    assert (miss["X-Cache"], json.loads(miss.content)) == ("miss", {"read_from": "default"})
    assert (hit["X-Cache"], json.loads(hit.content)) == ("hit", {"read_from": "default"})
    assert (bypass["X-Cache"], json.loads(bypass.content)) == ("bypass", {"read_from": "replica"})


def test_pin_state_does_not_leak_between_requests() -> None:
    assert db_router.pinned.get() is False
    assert db_router.wrote.get() is False
