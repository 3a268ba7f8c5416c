"""Work a Gunicorn worker would otherwise do on its first requests, done before it serves.

Django and DRF build much lazily, once per process: the URL resolver's tables, every
serializer's fields (model introspection), the OpenAPI schema (about a second), the
database connection of each thread. Without this, the first request of every new worker
(at start, and after each `max_requests` recycle) paid for all of it. gunicorn_config.py
calls:

- `warm_process()` in the master once the application is loaded (`when_ready`, with
  `preload_app`): what is built there is inherited by every worker it forks, restarts
  included. It opens nothing: no connection may be shared across a fork.
- `warm_worker(worker)` in each worker after the fork (`post_worker_init`): the same,
  at no cost where the master did it already, then a page of each API list (DRF's classes
  and the ORM's first compilation of each query) and one database connection per request
  thread (gthread's pool threads; the worker's own thread for sync workers).

Nothing here may stop a worker from serving: a failure is logged and the worker serves
cold. bench/first_request.py measures the first request after a boot against the tenth.
"""

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

logger = logging.getLogger("brisk.warmup")

# SchemaView keeps the document it builds (one per language).
SCHEMA_PATH = "/schema/"


def _timed(steps: dict[str, float], name: str, step: Callable[[], object]) -> None:
    start = time.perf_counter()
    try:
        step()
    except Exception:
        logger.warning("warm-up step %r failed; the first request will do it", name, exc_info=True)
    steps[name] = round((time.perf_counter() - start) * 1000, 1)


def _url_resolver() -> None:
    from django.urls import get_resolver, reverse

    resolver = get_resolver()
    resolver.resolve("/programmes/")  # populates the resolver's tables
    reverse("schema")


def _serializers() -> None:
    """Every API serializer's fields, nested ones included (DRF builds them per class on
    first use: model introspection, field mapping)."""
    from rest_framework.serializers import BaseSerializer, ListSerializer

    from config.api_router import router

    def walk(serializer: Any, depth: int = 0) -> None:
        if isinstance(serializer, ListSerializer):
            serializer = serializer.child
        if depth > 5 or not hasattr(serializer, "fields"):
            return
        for field in serializer.fields.values():
            if isinstance(field, BaseSerializer):
                walk(field, depth + 1)

    for _prefix, viewset, _basename in router.registry:
        classes = {getattr(viewset, "serializer_class", None)}
        for name in dir(viewset):
            if name.endswith("serializer_class") and isinstance(getattr(viewset, name, None), type):
                classes.add(getattr(viewset, name))
        for serializer_class in classes - {None}:
            assert serializer_class is not None
            walk(serializer_class())


def _host() -> str:
    from django.conf import settings

    return next((h for h in settings.ALLOWED_HOSTS if h and not h.startswith(".") and h != "*"), "localhost")


def _schema() -> None:
    from django.test import RequestFactory

    from core.views import SchemaView

    request = RequestFactory().get(SCHEMA_PATH, HTTP_HOST=_host(), secure=True)
    SchemaView.as_view()(request)  # builds and keeps the document; the response is dropped


def _views() -> None:
    """One page of each API list, anonymous, rendered: DRF's authentication, permission,
    filter, pagination and renderer classes load on first use, and the ORM compiles each
    query for the first time. Called straight, not through the middleware: no cache entry,
    no log line. Its database connection is this thread's, which serves no request: closed."""
    from django.db import connections
    from django.test import RequestFactory

    from config.api_router import router

    factory = RequestFactory()
    try:
        for prefix, viewset, _basename in router.registry:
            request = factory.get(f"/{prefix}/", {"page_size": 1}, HTTP_HOST=_host(), secure=True)
            viewset.as_view({"get": "list"})(request).render()  # 200, or 401 for the private lists
    finally:
        connections.close_all()


def _django_loaded() -> bool:
    # gunicorn_config.py also serves bench/'s reference apps, which are not Django.
    from django.apps import apps

    return apps.ready


def warm_process() -> dict[str, float]:
    """URL resolver, serializers and schema: milliseconds per step."""
    steps: dict[str, float] = {}
    if not _django_loaded():
        return steps
    _timed(steps, "urls", _url_resolver)
    _timed(steps, "serializers", _serializers)
    _timed(steps, "schema", _schema)
    return steps


def _open_connection() -> None:
    from django.db import connection

    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _connections(pool: Executor | None, threads: int, connect: Callable[[], None] = _open_connection) -> None:
    """One connection in each request thread. A thread pool starts a thread per task while
    none is idle, so the tasks wait for each other: every thread gets one."""
    if pool is None or threads <= 1:
        connect()
        return
    barrier = threading.Barrier(threads, timeout=5)

    def task() -> None:
        try:
            connect()
        finally:
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()

    for future in [pool.submit(task) for _ in range(threads)]:
        future.result(timeout=15)


def warm_worker(worker: Any) -> dict[str, float]:
    """warm_process() (cheap when inherited), a page of each list, and a database
    connection per request thread."""
    steps = warm_process()
    if not _django_loaded():
        return steps
    _timed(steps, "views", _views)
    threads = int(getattr(getattr(worker, "cfg", None), "threads", 1) or 1)
    _timed(steps, "database", lambda: _connections(getattr(worker, "tpool", None), threads))
    return steps
