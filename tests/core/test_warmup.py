"""Gunicorn's warm-up (config/warmup.py, gunicorn_config.py): the master builds what every
worker inherits, each worker opens its database connections before serving, and nothing
in it can keep a worker from serving. How much it saves is measured, not asserted:
bench/first_request.py."""

import ast
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from config.warmup import _connections
from harness import gunicorn, production_env, wait_until

STEPS = re.compile(r"warm-up of worker \d+ \(ms\): (\{.*\})")


def worker_steps(log: str) -> dict[str, float]:
    found = STEPS.search(log)
    assert found, log
    return ast.literal_eval(found.group(1))  # type: ignore[no-any-return]


def test_workers_start_warm(tmp_path: Path) -> None:
    env = production_env(f"sqlite:///{tmp_path / 'db.sqlite3'}", GUNICORN_WORKERS="2", GUNICORN_THREADS="3")
    with gunicorn(env) as server:
        assert server.get("/healthz").status == 200
        assert server.get("/schema/").status == 200
        # The first worker may answer while the second is still warming up.
        log = wait_until(
            lambda: (text := server.log_text()).count("warm-up of worker") == 2 and text, what="both workers warm"
        )
    assert "warm-up in the master (ms): {'urls':" in log
    assert set(worker_steps(log)) == {"urls", "serializers", "schema", "views", "database"}
    assert "warm-up step" not in log, log  # no step failed


def test_a_failed_warm_up_still_serves(tmp_path: Path) -> None:
    # Nothing listens on port 1: the database step fails at once.
    env = production_env("postgres://brisk@127.0.0.1:1/brisk", GUNICORN_WORKERS="1", DB_CONNECT_TIMEOUT="2")
    with gunicorn(env) as server:
        assert server.get("/healthz").status == 200
        assert server.get("/schema/").status == 200
        assert server.get("/programmes/").status == 503
        log = server.log_text()
    assert "warm-up step 'database' failed; the first request will do it" in log


def test_warm_up_can_be_turned_off(tmp_path: Path) -> None:
    env = production_env(f"sqlite:///{tmp_path / 'db.sqlite3'}", GUNICORN_WORKERS="1", GUNICORN_WARMUP="false")
    with gunicorn(env) as server:
        assert server.get("/healthz").status == 200
        log = server.log_text()
    assert "warm-up" not in log


@pytest.mark.parametrize("threads", [1, 4])
def test_one_connection_per_request_thread(threads: int) -> None:
    """gthread's pool starts a thread per task while none is idle: the warm-up's tasks wait
    for each other, so each of the pool's threads opens one."""
    seen: set[int] = set()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        _connections(pool if threads > 1 else None, threads, connect=lambda: seen.add(threading.get_ident()))
    assert len(seen) == threads
