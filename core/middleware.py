"""Request-scoped plumbing: the request id, database timing, and 503s for outages.

Order in settings.MIDDLEWARE: `RequestIDMiddleware` first (every later log line carries the
id, every response the header), `RequestTimingMiddleware` right after it (it times
everything below), `ServiceUnavailableMiddleware` last (it only sees exceptions a view
raised).
"""

import logging
import re
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import redis.exceptions
from django.conf import settings
from django.db import OperationalError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django_redis.exceptions import ConnectionInterrupted

from core import logging as request_logging
from core.admin_errors import admin_unavailable_page, is_admin_request

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
# Visible ASCII, at most 128 characters: anything else (spaces, control characters, a
# megabyte of text) could forge or break log lines, so it is replaced with a fresh id.
VALID_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")

# What a dead or stuck Redis raises, directly or through django-redis (the "catalogue"
# alias raises; "default" ignores them).
CACHE_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, ConnectionInterrupted)

GetResponse = Callable[[HttpRequest], HttpResponse]


class RequestIDMiddleware:
    """Takes the caller's `X-Request-ID` when it is valid, else makes one; echoes it."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        sent = request.headers.get(REQUEST_ID_HEADER, "")
        rid = sent if VALID_REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
        request.request_id = rid  # type: ignore[attr-defined]
        token = request_logging.request_id.set(rid)
        try:
            response = self.get_response(request)
        finally:
            request_logging.request_id.reset(token)
        response[REQUEST_ID_HEADER] = rid
        return response


class QueryTimer:
    """A `connection.execute_wrapper` that counts queries and adds up their time."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - start
            self.count += 1


class RequestTimingMiddleware:
    """Database time and query count per request: a `Server-Timing` header when
    settings.SERVER_TIMING is on, and a warning for requests slower than
    settings.SLOW_REQUEST_MS (with their query count, the usual culprit)."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timer = QueryTimer()
        start = time.perf_counter()
        with ExitStack() as stack:
            # Wrappers are per connection object, and connection objects per thread:
            # this counts only this request's queries, on every database alias.
            for alias in connections:
                stack.enter_context(connections[alias].execute_wrapper(timer))
            response = self.get_response(request)
        request.query_timer = timer  # type: ignore[attr-defined]  # read by core.metrics
        total_ms = (time.perf_counter() - start) * 1000
        db_ms = timer.seconds * 1000
        if settings.SERVER_TIMING:
            response["Server-Timing"] = f'db;dur={db_ms:.1f};desc="{timer.count} queries", total;dur={total_ms:.1f}'
        if total_ms >= settings.SLOW_REQUEST_MS:
            logger.warning(
                "slow request: %s %s took %.0f ms, %d queries (%.0f ms in the database)",
                request.method,
                request.path,
                total_ms,
                timer.count,
                db_ms,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round(total_ms, 1),
                    "db_ms": round(db_ms, 1),
                    "queries": timer.count,
                },
            )
        return response


class RequestBodyLimitMiddleware:
    """A body larger than settings.DATA_UPLOAD_MAX_MEMORY_SIZE is a 413 JSON, unread.

    Django applies that limit when a view reads `request.body` or `request.POST`, but DRF
    parses JSON from the stream and never hits it: a 3 MB body was read, parsed and stored
    (tests/core/test_bad_input.py). The declared length is enough to decide: a body longer
    than it is never read (Gunicorn and Django's LimitedStream stop at Content-Length)."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Gunicorn refuses a malformed Content-Length before Django sees it
        if limit is not None and length > limit:
            return JsonResponse(
                {"detail": f"The request body is {length} bytes; the largest accepted is {limit} bytes."}, status=413
            )
        return self.get_response(request)


class ServiceUnavailableMiddleware:
    """A database or cache that is down or too slow answers 503 JSON from any view (an
    admin page inside the admin: core.admin_errors).

    core.exceptions.exception_handler already does this inside DRF views; this covers the
    rest (the admin, plain Django views) and what DRF re-raises. A query cancelled by
    `statement_timeout` (psycopg's QueryCanceled) reaches here as Django's
    OperationalError, like a refused or dropped connection.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, OperationalError):
            what = "database"
        elif isinstance(exception, CACHE_ERRORS):
            what = "cache"
        else:
            return None
        logger.warning("%s unavailable: %s", what, exception)
        if is_admin_request(request):
            return admin_unavailable_page(request, what)
        return JsonResponse(
            {"detail": f"The {what} is unavailable or too slow; try again shortly."},
            status=503,
            headers={"Retry-After": "5"},
        )
