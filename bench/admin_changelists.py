"""Times every admin changelist (and a search on each big one) at the data set's scale.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/brisk_seed \\
        .venv/bin/python -m bench.admin_changelists [--rounds 7] [--write bench/ADMIN.md]

In process, with Django's test client logged in as a superuser: what is timed is the
server's work for the page (queries and rendering), not a network. Each page is fetched
once to warm up, then `--rounds` times; the median and the worst are reported with the
page's query count. Needs a seeded database (`seed_demo --size large`).
"""

import argparse
import os
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

from accounts.models import User  # noqa: E402
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

    rows = []
    for number, (name, path) in enumerate(PAGES, 1):
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
            f"[{number}/{len(PAGES)}] {name:28} median {row[2]:7.1f} ms  max {row[3]:7.1f} ms"
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


def _estimate(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
        return int(cursor.fetchone()[0])


if __name__ == "__main__":
    sys.exit(main())
