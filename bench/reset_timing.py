"""Times `POST /auth/password-reset/` for an address with an account and for one without.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/brisk \\
        .venv/bin/python -m bench.reset_timing [--rounds 400] [--write bench/RESET_TIMING.md]

In process, with Django's test client (the server's work, not a network), the two kinds
interleaved so that both see the same machine load. The mail goes to the in-memory backend
through the mail thread, as in production (core.mail): the request hands it over and
returns. The tests assert that both do the same queries and hashing
(tests/accounts/test_lifecycle.py); this measures the time once. Creates one account,
`reset-timing@brisk.local`, when it is missing.
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
os.environ.setdefault("EMAIL_URL", "memorymail://")
os.environ.setdefault("THROTTLE_AUTH_PASSWORD_RESET", "1000000/minute")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.models import User  # noqa: E402

KNOWN = "reset-timing@brisk.local"
UNKNOWN = "nobody-here@brisk.local"


def timed(client: Client, email: str) -> float:
    started = time.perf_counter()
    response = client.post("/auth/password-reset/", {"email": email}, content_type="application/json")
    took = (time.perf_counter() - started) * 1000
    assert response.status_code == 202, response.content
    return took


def summary(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.9)], statistics.fmean(ordered)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--write", type=Path, help="write a Markdown report to this file")
    args = parser.parse_args()

    if not User.objects.filter(email=KNOWN).exists():
        User.objects.create_user(KNOWN, "reset-timing-password-42")
    client = Client()
    for _ in range(20):  # warm up both paths
        timed(client, KNOWN)
        timed(client, UNKNOWN)
    known: list[float] = []
    unknown: list[float] = []
    for i in range(args.rounds):
        pair = [(known, KNOWN), (unknown, UNKNOWN)]
        for samples, email in pair if i % 2 else reversed(pair):
            samples.append(timed(client, email))

    rows = [("address with an account", summary(known)), ("address without one", summary(unknown))]
    load = os.getloadavg()[0]
    lines = [
        "# Password reset: the same time for a known and an unknown address",
        "",
        f"`python -m bench.reset_timing --rounds {args.rounds}` on {connection.vendor}, in process, "
        f"{args.rounds} requests of each kind, interleaved; milliseconds.",
        "",
        "| `POST /auth/password-reset/` for | median | p90 | mean |",
        "|---|---|---|---|",
        *[f"| {name} | {m:.2f} | {p90:.2f} | {mean:.2f} |" for name, (m, p90, mean) in rows],
        "",
        f"Difference of the medians: {abs(rows[0][1][0] - rows[1][1][0]):.2f} ms. Load average at the end: "
        f"{load:.1f} on {os.cpu_count()} cores (the absolute times grow with it; both kinds alternate, so "
        "they see the same load).",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        args.write.write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
