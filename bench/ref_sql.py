"""Reference app, NOT product code: the limit for a cold programme page.

A bare WSGI function serving `GET /programmes/?page=N&page_size=M` with the same JSON as
Brisk (count/next/previous/results, the same item fields and the same aggregates computed
live in SQL on every request), from one persistent psycopg connection per worker thread
and orjson. No framework, no middleware, no cache, no validation beyond what the page
needs: whatever Brisk spends above this is the price of Django, DRF and our own code.
Served by `gunicorn -c gunicorn_config.py bench.ref_sql:application` with DATABASE_URL set.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

import orjson
import psycopg

# The page and its count in one statement: `course_count` counts published courses,
# `student_count` distinct users holding an active or completed enrollment in them
# (API.md), ordered by title then id, as Brisk's default ordering.
PAGE_SQL = """
SELECT p.id, p.slug, p.title, p.summary, p.is_active,
       (SELECT count(*)
          FROM programmes_programmecourse pc
          JOIN courses_course c ON c.id = pc.course_id
         WHERE pc.programme_id = p.id AND c.is_published) AS course_count,
       (SELECT count(DISTINCT e.user_id)
          FROM programmes_programmecourse pc
          JOIN courses_course c ON c.id = pc.course_id
          JOIN courses_enrollment e ON e.course_id = pc.course_id
         WHERE pc.programme_id = p.id AND c.is_published
           AND e.status IN ('active', 'completed')) AS student_count,
       p.created_at, p.updated_at,
       (SELECT count(*) FROM programmes_programme) AS total
  FROM programmes_programme p
 ORDER BY p.title, p.id
 LIMIT %s OFFSET %s
"""
COLUMNS = ("id", "slug", "title", "summary", "is_active", "course_count", "student_count", "created_at", "updated_at")

StartResponse = Callable[..., Any]

_local = threading.local()


def _connection() -> psycopg.Connection[Any]:
    # Opened on first use in each worker thread (after Gunicorn forked), then kept.
    conn: psycopg.Connection[Any] | None = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True, options="-c TimeZone=UTC")
        _local.conn = conn
    return conn


def _positive(query: dict[str, list[str]], name: str, default: int) -> int | None:
    raw = query.get(name, [str(default)])[0]
    return int(raw) if raw.isdigit() and int(raw) > 0 else None


def _json(start_response: StartResponse, status: str, payload: object) -> list[bytes]:
    body = orjson.dumps(payload, option=orjson.OPT_UTC_Z)
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    if environ.get("PATH_INFO") != "/programmes/":
        return _json(start_response, "404 Not Found", {"detail": "Not found."})
    query = parse_qs(environ.get("QUERY_STRING", ""))
    page, size = _positive(query, "page", 1), _positive(query, "page_size", 10)
    if page is None or size is None:
        return _json(start_response, "400 Bad Request", {"detail": "page and page_size must be positive integers."})
    size = min(size, 100)
    rows = _connection().execute(PAGE_SQL, [size, (page - 1) * size]).fetchall()
    if not rows:
        return _json(start_response, "404 Not Found", {"detail": "Invalid page."})
    total = rows[0][-1]
    base = f"http://{environ.get('HTTP_HOST', 'localhost')}/programmes/"
    pages = -(-total // size)
    return _json(
        start_response,
        "200 OK",
        {
            "count": total,
            "next": f"{base}?page={page + 1}&page_size={size}" if page < pages else None,
            "previous": (f"{base}?page={page - 1}&page_size={size}" if page > 2 else f"{base}?page_size={size}")
            if page > 1
            else None,
            "results": [dict(zip(COLUMNS, row[:-1], strict=True)) for row in rows],
        },
    )
