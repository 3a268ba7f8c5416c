"""EXPLAIN ANALYZE of the SQL Brisk sends for some GETs, on the bench database.

    DJANGO_SETTINGS_MODULE=config.settings.production DATABASE_URL=... \\
        python -m bench.explain '/programmes/?page=1&page_size=10' 'student@brisk.local:/enrollments/'

Each path (prefixed with `EMAIL:` to send it as that user, with a JWT) is requested through
Django's test client, so through the whole middleware stack (run it with the catalogue
cache off, so that every query runs), and each SELECT it sent is explained: median
execution time over a few runs, planner cost, buffers. For programme pages it also times
the same page without its aggregate subqueries: what stored counters would cost instead
of live aggregates. Prints JSON.
"""

from __future__ import annotations

import json
import statistics
import sys
from typing import Any
from urllib.parse import parse_qs, urlsplit

RUNS = 5
BARE_PAGE = (
    "SELECT id, slug, title, summary, is_active, created_at, updated_at "
    "FROM programmes_programme ORDER BY title, id LIMIT {size} OFFSET {offset}"
)


def explain(cursor: Any, sql: str) -> dict[str, Any]:
    times = []
    plan: dict[str, Any] = {}
    for _ in range(RUNS):
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0][0]
        times.append(float(plan["Execution Time"]))
    cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) " + sql)
    text = "\n".join(row[0] for row in cursor.fetchall())
    return {
        "sql": sql,
        "median_ms": statistics.median(times),
        "total_cost": float(plan["Plan"]["Total Cost"]),
        "shared_hit": int(plan["Plan"].get("Shared Hit Blocks", 0)),
        "shared_read": int(plan["Plan"].get("Shared Read Blocks", 0)),
        "plan": text,
    }


def _explain_request(spec: str, cursor: Any) -> dict[str, Any]:
    """`spec` is a path, or EMAIL:path to send it with that user's JWT."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from rest_framework_simplejwt.tokens import RefreshToken

    email, path = spec.split(":/", 1) if ":/" in spec else ("", spec.removeprefix("/"))
    headers: dict[str, str] = {}
    if email:
        user = get_user_model().objects.get(email=email)
        headers["Authorization"] = f"Bearer {RefreshToken.for_user(user).access_token}"
    client = Client(HTTP_HOST="127.0.0.1")
    client.get("/" + path, headers=headers)  # the first request pays for lazy imports and caches
    with CaptureQueriesContext(connection) as captured:
        status = client.get("/" + path, headers=headers).status_code
    queries = [query["sql"] for query in captured.captured_queries]
    return {
        "status": status,
        "statements": len(queries),
        "explained": [explain(cursor, sql) for sql in queries if sql.lstrip().upper().startswith("SELECT")],
    }


def main(specs: list[str]) -> None:
    import django

    django.setup()
    from django.db import connection

    report: dict[str, Any] = {"paths": {}, "bare_pages": {}}
    with connection.cursor() as cursor:
        for spec in specs:
            try:
                report["paths"][spec] = _explain_request(spec, cursor)
            except Exception as error:  # one missing endpoint or user must not lose the others
                report["paths"][spec] = {"error": f"{type(error).__name__}: {error}"}
                continue
            path = "/" + spec.split(":/", 1)[-1].removeprefix("/")
            if urlsplit(path).path == "/programmes/":
                query = parse_qs(urlsplit(path).query)
                page, size = int(query.get("page", ["1"])[0]), int(query.get("page_size", ["10"])[0])
                report["bare_pages"][spec] = explain(cursor, BARE_PAGE.format(size=size, offset=(page - 1) * size))
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
