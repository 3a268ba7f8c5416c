"""`GET /healthz` (liveness) and `GET /readyz` (readiness), answered by a middleware.

They are answered before the rest of the stack on purpose: a load balancer, Docker's
HEALTHCHECK or a Kubernetes probe calls them over plain HTTP by IP address, so they must
not depend on ALLOWED_HOSTS, the HTTPS redirect, sessions or authentication. Only
`RequestIDMiddleware` and `RequestTimingMiddleware` run before this one.
"""

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait

from django.conf import settings
from django.core.cache import caches
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django_redis.cache import RedisCache

logger = logging.getLogger(__name__)

Check = Callable[[], None]


def check_database() -> None:
    """One round trip on the connection the API uses (the pool's, when pooling)."""
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        # This runs in a short-lived thread: give its connection back (or to the pool).
        connection.close()


def check_cache() -> None:
    """A real round trip to every configured cache. Redis is PINGed through its raw
    client: the "default" alias ignores Redis errors (IGNORE_EXCEPTIONS), so a `get`
    through it would report a dead Redis as ready."""
    for backend in caches.all():
        if isinstance(backend, RedisCache):
            backend.client.get_client(write=False).ping()
        else:
            backend.get("readyz:probe")


CHECKS: dict[str, Check] = {"database": check_database, "cache": check_cache}


def readiness() -> dict[str, str]:
    """Runs every check at once; each is "ok", or "error" when it failed or did not end
    within settings.READYZ_TIMEOUT seconds (a hung check is abandoned, not awaited)."""
    pool = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="readyz")
    futures = {name: pool.submit(check) for name, check in CHECKS.items()}
    wait(futures.values(), timeout=settings.READYZ_TIMEOUT)
    pool.shutdown(wait=False)
    result = {}
    for name, future in futures.items():
        if not future.done():
            logger.warning("readyz: %s check timed out after %ss", name, settings.READYZ_TIMEOUT)
            result[name] = "error"
        elif (error := future.exception()) is not None:
            logger.warning("readyz: %s check failed: %s", name, error)
            result[name] = "error"
        else:
            result[name] = "ok"
    return result


def healthz(request: HttpRequest) -> HttpResponse:
    """The process serves requests. Touches nothing else, so a database outage does not
    get every web container restarted."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> HttpResponse:
    """The database and the cache answer: 200, else 503 naming what failed."""
    body = readiness()
    ready = all(value == "ok" for value in body.values())
    return JsonResponse(body, status=200 if ready else 503, headers={"Cache-Control": "no-store"})


PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {"/healthz": healthz, "/readyz": readyz}


class HealthCheckMiddleware:
    """Answers GET/HEAD of the probe paths before host validation and the SSL redirect."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info.rstrip("/"))
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        return self.get_response(request)
