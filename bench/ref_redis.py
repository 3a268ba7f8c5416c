"""Reference app, NOT product code: the limit for a warm (cached) page.

A bare WSGI function that answers every GET with the bytes stored in Redis under
`bench:ref:<path>?<query>` (the harness stores Brisk's own rendering of the programme page
there before the run): one Redis GET per request, nothing else. Whatever Brisk's warm page
spends above this is the price of Django, its middleware and the cache's own bookkeeping.
Served by `gunicorn -c gunicorn_config.py bench.ref_redis:application` with REDIS_URL set.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

import redis

StartResponse = Callable[..., Any]

KEY_PREFIX = "bench:ref:"

_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    # Created on first use in each worker (after Gunicorn forked); its pool is thread-safe.
    global _client
    if _client is None:
        _client = redis.Redis.from_url(os.environ["REDIS_URL"])
    return _client


def page_key(path: str, query: str) -> str:
    return f"{KEY_PREFIX}{path}?{query}"


def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    body = _redis().get(page_key(environ.get("PATH_INFO", "/"), environ.get("QUERY_STRING", "")))
    if body is None:
        start_response("404 Not Found", [("Content-Type", "application/json"), ("Content-Length", "23")])
        return [b'{"detail":"Not found."}']
    assert isinstance(body, bytes)
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
