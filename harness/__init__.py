"""Private servers for the tests and the benchmarks: PostgreSQL, Redis and Gunicorn
processes we start, break and stop ourselves, an HTTP client, and a load driver.

- `harness.postgres`: PrivatePostgres, a cluster made with initdb on its own port (a
  throwaway one for tests, or a kept one with pg_stat_statements for the bench).
- `harness.redis`: PrivateRedis, in memory only, that can be stopped, hung and restarted.
- `harness.gunicorn`: Gunicorn with gunicorn_config.py and the production settings,
  production_env() and manage().
- `harness.http`: Client and its Answer; `harness.load`: Load, client threads under a bound.

Everything talks to 127.0.0.1 only and to processes it started; the shared PostgreSQL
(5432) and Redis (6379) of other runs are never touched. This is development tooling:
tests/ and bench/ use it, the production image does not need it.
"""

from harness.base import ROOT, free_port, port_is_open, report_to, wait_until, which_or_install
from harness.gunicorn import (
    Gunicorn,
    gunicorn,
    gunicorn_env,
    kill_process_group,
    manage,
    production_env,
    rss_kib,
    running_gunicorn,
    stop_all,
    worker_rss_kib,
)
from harness.http import (
    INSTRUCTOR,
    LEARNER_PASSWORD,
    STAFF,
    STUDENT,
    Answer,
    Client,
    get_once,
    http_request,
    login,
    published_ids,
)
from harness.load import Load, Step, summary
from harness.postgres import (
    BENCH_SETTINGS,
    DISPOSABLE_SETTINGS,
    PrivatePostgres,
    demo_learners,
    pg_connection_count,
    postgres_bin_dir,
    prepare_database,
    private_postgres,
)
from harness.redis import PrivateRedis, private_redis

__all__ = [
    "BENCH_SETTINGS",
    "DISPOSABLE_SETTINGS",
    "INSTRUCTOR",
    "LEARNER_PASSWORD",
    "ROOT",
    "STAFF",
    "STUDENT",
    "Answer",
    "Client",
    "Gunicorn",
    "Load",
    "PrivatePostgres",
    "PrivateRedis",
    "Step",
    "demo_learners",
    "free_port",
    "get_once",
    "gunicorn",
    "gunicorn_env",
    "http_request",
    "kill_process_group",
    "login",
    "manage",
    "pg_connection_count",
    "port_is_open",
    "postgres_bin_dir",
    "prepare_database",
    "private_postgres",
    "private_redis",
    "production_env",
    "published_ids",
    "report_to",
    "rss_kib",
    "running_gunicorn",
    "stop_all",
    "summary",
    "wait_until",
    "which_or_install",
    "worker_rss_kib",
]
