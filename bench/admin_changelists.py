"""Times every admin changelist (and a search on each big one) at the data set's scale.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/brisk_seed \\
        .venv/bin/python -m bench.admin_changelists [--rounds 7] [--write bench/ADMIN.md]

In process, with Django's test client logged in as a superuser: what is timed is the
server's work for the page (queries and rendering), not a network. Each page is fetched
once to warm up, then `--rounds` times; the median and the worst are reported with the
page's query count. Needs a seeded database (`seed_demo --size large`).
"""

import argparse
import math
import os
import re
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from accounts.models import User  # noqa: E402
from core.cursor_pagination import MAX_PAGE_ROWS  # noqa: E402
from courses.models import Enrollment  # noqa: E402

PAGES = [
    ("users", "/admin/accounts/user/"),
    ("users: search", "/admin/accounts/user/?q=student%40brisk.local"),
    ("programmes", "/admin/programmes/programme/"),
    ("programme courses", "/admin/programmes/programmecourse/"),
    ("categories", "/admin/courses/category/"),
    ("courses", "/admin/courses/course/"),
    ("courses: published", "/admin/courses/course/?is_published__exact=1"),
    ("courses: search", "/admin/courses/course/?q=data"),
    ("enrollments", "/admin/courses/enrollment/"),
    ("enrollments: cancelled", "/admin/courses/enrollment/?status__exact=cancelled"),
    ("enrollments: search e-mail", "/admin/courses/enrollment/?q=student%40brisk.local"),
    ("enrollments: search title", "/admin/courses/enrollment/?q=postgres"),
    ("reviews", "/admin/courses/review/"),
    ("reviews: 5 stars", "/admin/courses/review/?rating=5"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--write", type=Path, help="write a Markdown table to this file")
    args = parser.parse_args()

    enrollments = Enrollment.objects.count() if connection.vendor != "postgresql" else _estimate("courses_enrollment")
    staff = User.objects.filter(is_superuser=True).order_by("id").first()
    if staff is None:
        print("no superuser: run `manage.py seed_demo` first", file=sys.stderr)
        return 1
    client = Client()
    client.force_login(staff)
    # The API pages (JWT); the admin pages go by the session and ignore it.
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {AccessToken.for_user(staff)}"

    rows = []
    pages = [*PAGES, *_last_pages(client), *_api_pages(client)]
    for number, (name, path) in enumerate(pages, 1):
        client.get(path)  # warm-up: connection, content types, plans
        times, cpu = [], []
        for _ in range(args.rounds):
            with CaptureQueriesContext(connection) as queries:
                start, start_cpu = time.perf_counter(), time.process_time()
                response = client.get(path)
                times.append((time.perf_counter() - start) * 1000)
                cpu.append((time.process_time() - start_cpu) * 1000)
            if response.status_code != 200:
                print(f"{path}: HTTP {response.status_code}", file=sys.stderr)
                return 1
        sql_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
        medians = (statistics.median(times), max(times), statistics.median(cpu))
        row = (name, path, *medians, sql_ms, len(queries.captured_queries))
        rows.append(row)
        print(
            f"[{number}/{len(pages)}] {name:28} median {row[2]:7.1f} ms  max {row[3]:7.1f} ms"
            f"  python CPU {row[4]:6.1f} ms  SQL {row[5]:6.1f} ms  {row[6]} queries"
        )

    table = [
        f"Admin changelists on {connection.vendor}, ~{enrollments:,} enrollments, "
        f"median of {args.rounds} rounds after a warm-up (in process, superuser).",
        "",
        "Python CPU is this process's CPU time for the request (steady on a busy machine);",
        "SQL is PostgreSQL's time as Django measured it, for the last round.",
        "",
        "| page | median ms | max ms | Python CPU ms | SQL ms | queries |",
        "|---|---:|---:|---:|---:|---:|",
        *[
            f"| {name} (`{path}`) | {median:.0f} | {worst:.0f} | {cpu_ms:.0f} | {sql:.0f} | {count} |"
            for name, path, median, worst, cpu_ms, sql, count in rows
        ],
    ]
    if args.write:
        args.write.write_text("\n".join(table) + "\n")
        print(f"wrote {args.write}")
    worst_median = max(row[2] for row in rows)
    print(f"slowest median: {worst_median:.0f} ms ({'under' if worst_median < 300 else 'OVER'} 300 ms)")
    return 0


def _last_pages(client: Client) -> list[tuple[str, str]]:
    """The last page each changelist links (its paginator stops at a bounded depth)."""
    last = []
    for name, path in PAGES:
        links = re.findall(r'href="\?[^"]*\bp=(\d+)[^"]*"', client.get(path).content.decode())
        num_pages = max((int(n) for n in links), default=1)
        if num_pages > 1:
            last.append((f"{name}: last linked page", f"{path}{'&' if '?' in path else '?'}p={num_pages}"))
    return last


def _api_pages(client: Client) -> list[tuple[str, str]]:
    """API lists at the deepest page a page number reaches (the list's last one when it is
    shorter), and a staff enrollments cursor page 20,000 rows deep (every cursor page
    costs the same)."""
    pages = []
    for name, base, size in [
        ("API enrollments", "/enrollments/?", 10),
        ("API enrollments", "/enrollments/?", 100),
        ("API enrollments: cancelled", "/enrollments/?status=cancelled&", 100),
        ("API courses by price", "/courses/?ordering=-price&", 100),
    ]:
        count = client.get(f"{base}page_size={size}").json()["count"]
        deepest = min(math.ceil(count / size), MAX_PAGE_ROWS // size)
        pages.append((f"{name}: deepest page ({size} rows)", f"{base}page={deepest}&page_size={size}"))
    url = "/enrollments/?cursor=&page_size=100"
    for _ in range(200):
        url = client.get(url).json()["next"] or url
    pages.append(("API enrollments: cursor, 20,000 rows deep", url.removeprefix("http://testserver")))
    return pages


def _estimate(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
        return int(cursor.fetchone()[0])


if __name__ == "__main__":
    sys.exit(main())
