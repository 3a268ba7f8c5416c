"""GET /metrics under a real Gunicorn with several workers (prometheus-client's
multiprocess mode): the counts it reports are the requests this test sent, whichever
worker answered each one and whichever worker answers the scrape; a killed worker is
counted as a restart, its live gauge is removed and its counts are kept."""

import os
import signal
import time
from collections import Counter

import pytest
from prometheus_client.parser import text_string_to_metric_families

from harness import Client, Gunicorn, get_once, published_ids, running_gunicorn

pytestmark = [pytest.mark.postgres, pytest.mark.fault]

WORKERS = 3
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(server: Gunicorn) -> Samples:
    answer = get_once(server.port, "/metrics")
    assert answer.status == 200, (answer.status, answer.body[:300])
    found: Samples = {}
    for family in text_string_to_metric_families(answer.body.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def pids(samples: Samples, name: str) -> set[str]:
    return {dict(labels)["pid"] for found, labels in samples if found == name}


def wait_for_workers(server: Gunicorn, count: int, timeout: float = 30.0) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = server.worker_pids()
        if len(found) == count:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{count} workers expected, found {server.worker_pids()}")


def test_counts_are_the_requests_sent_across_workers(live_env: dict[str, str]) -> None:
    env = {**live_env, "GUNICORN_WORKERS": str(WORKERS), "THROTTLE_AUTH_TOKEN": "3/minute"}
    with running_gunicorn(env) as server:
        workers = wait_for_workers(server, WORKERS)
        course = published_ids(server.port, "/courses/")[0]  # 1 request: course-list, a miss
        sent: Counter[tuple[str, str, str]] = Counter({("course-list", "GET", "2xx"): 1})
        # A new connection per request spreads them over the workers.
        statuses = [get_once(server.port, f"/courses/{course}/").status for _ in range(20)]
        assert statuses == [200] * 20
        sent["course-detail", "GET", "2xx"] += 20
        assert {get_once(server.port, "/courses/999999999/").status for _ in range(5)} == {404}
        sent["course-detail", "GET", "4xx"] += 5
        assert {get_once(server.port, f"/nothing/here/{i}").status for i in range(4)} == {404}
        sent["unmatched", "GET", "4xx"] += 4
        logins = []
        for _ in range(5):
            with Client(server.port) as client:
                logins.append(client.request("POST", "/auth/token/", {"email": "x@example.com", "password": "wrong"}))
        assert [a.status for a in logins] == [401, 401, 401, 429, 429]
        sent["auth-token", "POST", "4xx"] += 5

        samples = scrape(server)
        for (route, method, status), count in sent.items():
            got = value(samples, "brisk_http_requests_total", route=route, method=method, status=status)
            assert got == count, (route, method, status, got, count)
        assert value(samples, "brisk_http_request_duration_seconds_count", route="course-detail", method="GET") == 25
        assert value(samples, "brisk_http_request_sql_statements_count", route="course-detail", method="GET") == 25
        assert value(samples, "brisk_http_throttled_requests_total", route="auth-token", method="POST") == 2
        # The first request of the page computes it, and the first of the missing id its 404
        # (stored briefly too); the rest are served from Redis.
        hits = value(samples, "brisk_catalogue_cache_requests_total", route="course-detail", result="hit")
        misses = value(samples, "brisk_catalogue_cache_requests_total", route="course-detail", result="miss")
        assert (hits + misses, misses >= 2, hits >= 18) == (25, True, True), (hits, misses)
        # A hit runs no SQL: the statements of all 20 are those of the misses and the 404s.
        assert value(samples, "brisk_http_request_sql_statements_sum", route="course-detail", method="GET") <= (
            misses * 2 + 5 * 2
        )
        # Several workers answered, each its own gauge; the answers were spread over them.
        live = pids(samples, "brisk_db_connections_open")
        assert {str(pid) for pid in workers} <= live, (workers, live)
        assert value(samples, "brisk_gunicorn_worker_restarts_total") == 0

        # Any worker answers a scrape with the same totals.
        for _ in range(4):
            again = scrape(server)
            got = value(again, "brisk_http_requests_total", route="course-detail", method="GET", status="2xx")
            assert got == 20

        # A worker killed: replaced, counted, its gauge gone, its counts kept.
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (victim in server.worker_pids() or len(server.worker_pids()) < WORKERS):
            time.sleep(0.1)
        after = scrape(server)
        assert value(after, "brisk_gunicorn_worker_restarts_total") == 1
        assert str(victim) not in pids(after, "brisk_db_connections_open")
        assert value(after, "brisk_http_requests_total", route="course-detail", method="GET", status="2xx") == 20
        assert value(after, "brisk_http_requests_total", route="metrics", method="GET", status="2xx") >= 5

        # Through a proxy (X-Forwarded-For), even from loopback, the address is not enough.
        with Client(server.port) as client:
            refused = client.request("GET", "/metrics", headers={"X-Forwarded-For": "198.51.100.7"})
        assert refused.status == 403
