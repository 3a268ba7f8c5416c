"""Prometheus metrics: what an operator graphs and alerts on (deploy/monitoring/).

Per route (the URL pattern's name, e.g. `course-detail`, never the raw path, so ids do not
make new series) and method:

- `brisk_http_requests_total{route, method, status}`: requests by status class (`2xx`...);
- `brisk_http_request_duration_seconds{route, method}`: latency histogram;
- `brisk_http_request_sql_statements{route, method}` and
  `brisk_http_request_sql_seconds{route, method}`: SQL statements and SQL time per request
  (histograms: `_sum / _count` is the mean per request);
- `brisk_catalogue_cache_requests_total{route, result}`: the `X-Cache` answers (hit, miss,
  bypass) of the catalogue cache;
- `brisk_http_throttled_requests_total{route, method}`: 429s.

Per process: `brisk_db_connections_open` (with a `pid` label under Gunicorn),
`brisk_redis_errors_total{cache}`, and `brisk_gunicorn_worker_restarts_total` (counted by
Gunicorn's master, gunicorn_config.py).

Under Gunicorn every worker writes its values to files in PROMETHEUS_MULTIPROC_DIR
(prometheus-client's multiprocess mode; gunicorn_config.py makes the directory and removes
a dead worker's live gauges); a scrape, answered by any one worker, adds up every worker's
files. Elsewhere (runserver, tests) the process's own registry is served.

`GET /metrics` is answered by `MetricsMiddleware` before host validation and the HTTPS
redirect (Prometheus scrapes an address over plain HTTP), and only to a staff token or to
a direct caller from METRICS_ALLOWED_IPS (default: loopback only). A request that came
through a proxy (it carries X-Forwarded-For, Forwarded or X-Real-IP) is never let in by
address: behind a proxy on the same host every caller would look like 127.0.0.1.

Gunicorn's master imports it in `child_exit`: nothing here reads settings at import.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import time
import weakref
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.db.backends.signals import connection_created
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from core.catalogue_cache import match_route

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
METRICS_PATH = "/metrics"

# Seconds. The API's own answers sit in the first few; the last ones are the timeout chain.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Statements per request: every endpoint's budget is between 0 and 10 (README, Query budgets).
SQL_STATEMENT_BUCKETS = (0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 50)
SQL_SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)

REQUESTS = Counter(
    "brisk_http_requests", "HTTP requests answered, by route, method and status class.", ["route", "method", "status"]
)
LATENCY = Histogram(
    "brisk_http_request_duration_seconds",
    "Time to answer a request, in seconds.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
SQL_STATEMENTS = Histogram(
    "brisk_http_request_sql_statements",
    "SQL statements run by one request.",
    ["route", "method"],
    buckets=SQL_STATEMENT_BUCKETS,
)
SQL_SECONDS = Histogram(
    "brisk_http_request_sql_seconds",
    "Time one request spent in SQL, in seconds.",
    ["route", "method"],
    buckets=SQL_SECONDS_BUCKETS,
)
CATALOGUE_CACHE = Counter(
    "brisk_catalogue_cache_requests",
    "Catalogue answers by X-Cache value: hit (from the cache), miss (computed and stored), bypass (computed).",
    ["route", "result"],
)
THROTTLED = Counter("brisk_http_throttled_requests", "Requests refused with 429 (throttled).", ["route", "method"])
DB_CONNECTIONS = Gauge(
    "brisk_db_connections_open",
    "Database connections this process holds open (its pool's size when pooling).",
    multiprocess_mode="liveall",
)
REDIS_ERRORS = Counter("brisk_redis_errors", "Redis calls that failed (refused, timed out).", ["cache"])
WORKER_RESTARTS = Counter(
    "brisk_gunicorn_worker_restarts", "Gunicorn workers that exited and were replaced (max_requests, a crash, a kill)."
)

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
CACHE_RESULTS = frozenset({"hit", "miss", "bypass"})
# Answered by middlewares before URL resolution (core.health and this module).
FIXED_ROUTES = {"/healthz": "healthz", "/readyz": "readyz", METRICS_PATH: "metrics"}
UNMATCHED = "unmatched"
# A request that came through a proxy carries one of these: never let in by its address.
PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")

GetResponse = Callable[[HttpRequest], HttpResponse]


# --- Database connections ----------------------------------------------------------------

# Every connection wrapper that ever connected in this process (one per thread and alias);
# weak, so a finished thread's wrapper drops out.
_wrappers: weakref.WeakSet[Any] = weakref.WeakSet()


def _track_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
    _wrappers.add(connection)


connection_created.connect(_track_connection, dispatch_uid="core.metrics.track_connection")


def open_connections() -> int:
    """Connections this process holds: the wrappers with a live connection, plus the idle
    connections of Django's psycopg pool when it is on (DB_POOL)."""
    count = sum(1 for wrapper in list(_wrappers) if getattr(wrapper, "connection", None) is not None)
    for alias in connections:
        pool = getattr(connections[alias], "_connection_pools", {}).get(alias)
        if pool is not None:
            stats = pool.get_stats()
            count += stats.get("pool_available", 0)
    return count


# --- Recording -----------------------------------------------------------------------------


def route_name(request: HttpRequest) -> str:
    """The URL pattern's name (`course-detail`, `admin:index`), never the raw path. A page the
    catalogue cache answered was never resolved: its catalogue route names it; any other
    unresolved path is resolved here."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        fixed = FIXED_ROUTES.get(request.path_info.rstrip("/") or request.path_info)
        if fixed is not None:
            return fixed
        # The catalogue cache's own routes bear the URL patterns' names (tested), and
        # matching them costs a fraction of resolving.
        catalogue = match_route(request.path_info)
        if catalogue is not None:
            return catalogue.name
        if request.path_info.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return "static"
        try:
            match = resolve(request.path_info, getattr(request, "urlconf", None))
        except Resolver404:
            return UNMATCHED
    return match.view_name or match.route or UNMATCHED


def record(request: HttpRequest, response: HttpResponse, seconds: float) -> None:
    route = route_name(request)
    method = request.method if request.method in KNOWN_METHODS else "other"
    status = response.status_code
    REQUESTS.labels(route, method, f"{status // 100}xx").inc()
    LATENCY.labels(route, method).observe(seconds)
    timer = getattr(request, "query_timer", None)  # set by core.middleware.RequestTimingMiddleware
    if timer is not None:
        SQL_STATEMENTS.labels(route, method).observe(timer.count)
        SQL_SECONDS.labels(route, method).observe(timer.seconds)
    cache_result = response.get("X-Cache")
    if cache_result in CACHE_RESULTS:
        CATALOGUE_CACHE.labels(route, cache_result).inc()
    if status == 429:
        THROTTLED.labels(route, method).inc()
    update_connection_gauge()


_gauge_updated = 0.0


def update_connection_gauge(*, every: float = 1.0) -> None:
    """At most once a second per process: counting connections costs more than the rest
    of `record` together, and a gauge is read every scrape interval (15 s or more)."""
    global _gauge_updated
    now = time.monotonic()
    if now - _gauge_updated >= every:
        _gauge_updated = now
        DB_CONNECTIONS.set(open_connections())


# --- Redis errors --------------------------------------------------------------------------


class RedisErrorCounter(logging.Filter):
    """On the `brisk.cache` logger, ahead of its once-a-minute filter: every Redis error is
    logged there, once per failed call (django-redis's "Exception ignored" for the default
    alias; the catalogue cache's breaker opening for the catalogue alias), and counted here
    before the log line is rate-limited. Lets every record through."""

    def reset(self) -> None:
        """Nothing to forget (the logger's rate-limiting filters have an interval to reset)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            REDIS_ERRORS.labels("default" if record.exc_info else "catalogue").inc()
        return True


# --- The endpoint --------------------------------------------------------------------------


@lru_cache(maxsize=8)
def allowed_networks(
    entries: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    try:
        return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())
    except ValueError as error:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {error}") from error


def address_allowed(request: HttpRequest, entries: Iterable[str]) -> bool:
    """A direct caller (no proxy header) whose address is in the allow-list."""
    if any(header in request.META for header in PROXY_HEADERS):
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in allowed_networks(tuple(entries)))


def staff_token(request: HttpRequest) -> bool | None:
    """True for a valid staff access token, False for a valid non-staff one, None when no
    Bearer token was sent. An invalid or expired token raises."""
    from rest_framework_simplejwt.authentication import JWTAuthentication

    found = JWTAuthentication().authenticate(request)  # type: ignore[arg-type]
    if found is None:
        return None
    return bool(getattr(found[0], "is_staff", False))


def render_metrics() -> bytes:
    update_connection_gauge(every=0)
    if os.environ.get(MULTIPROC_DIR_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def metrics_view(request: HttpRequest) -> HttpResponse:
    from rest_framework.exceptions import AuthenticationFailed

    if request.method not in ("GET", "HEAD"):
        return JsonResponse({"detail": f'Method "{request.method}" not allowed.'}, status=405, headers={"Allow": "GET"})
    try:
        staff = staff_token(request)
    except AuthenticationFailed:
        return JsonResponse({"detail": "Given token not valid for any token type."}, status=401)
    if staff is False or (staff is None and not address_allowed(request, settings.METRICS_ALLOWED_IPS)):
        return JsonResponse(
            {"detail": "The metrics are for staff and for the addresses in METRICS_ALLOWED_IPS."}, status=403
        )
    response = HttpResponse(render_metrics(), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response


class MetricsMiddleware:
    """Records every request (after RequestIDMiddleware, before everything else, so its
    timing covers the whole stack) and answers `GET /metrics`."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        allowed_networks(tuple(settings.METRICS_ALLOWED_IPS))  # a bad entry stops start-up

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        if request.path_info.rstrip("/") == METRICS_PATH:
            response = metrics_view(request)
        else:
            response = self.get_response(request)
        record(request, response, time.perf_counter() - start)
        return response
