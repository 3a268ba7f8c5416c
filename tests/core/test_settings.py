"""Production settings, checked in subprocesses with a production environment: settings
are read once per process, and this one runs the test settings."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

# Settings are read without connecting: nothing listens on port 1.
DATABASE_URL = "postgres://brisk@127.0.0.1:1/brisk"


def production_env(**changes: str | None) -> dict[str, str]:
    """A production environment; a value of None removes that variable."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DATABASE_REPLICA_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL=DATABASE_URL,
        ALLOWED_HOSTS="api.example.com",
    )
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )


DUMP = """
import json, sys, django
from django.conf import settings
django.setup()
import config.urls, config.wsgi  # everything a worker imports
db = settings.DATABASES["default"]
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "INSTALLED_APPS": settings.INSTALLED_APPS,
    "MIDDLEWARE": settings.MIDDLEWARE,
    "debug_toolbar_imported": any(m.split(".")[0] == "debug_toolbar" for m in sys.modules),
    "SECURE_SSL_REDIRECT": settings.SECURE_SSL_REDIRECT,
    "SECURE_PROXY_SSL_HEADER": settings.SECURE_PROXY_SSL_HEADER,
    "SECURE_HSTS_SECONDS": settings.SECURE_HSTS_SECONDS,
    "SESSION_COOKIE_SECURE": settings.SESSION_COOKIE_SECURE,
    "CSRF_COOKIE_SECURE": settings.CSRF_COOKIE_SECURE,
    "CORS_ALLOWED_ORIGINS": settings.CORS_ALLOWED_ORIGINS,
    "STATICFILES_BACKEND": settings.STORAGES["staticfiles"]["BACKEND"],
    "LOG_FORMATTER": settings.LOGGING["handlers"]["console"]["formatter"],
    "DATABASES": {alias: {k: v for k, v in d.items() if k != "PASSWORD"} for alias, d in settings.DATABASES.items()},
    "DATABASE_ROUTERS": settings.DATABASE_ROUTERS,
}, default=str))
"""


def dump(**changes: str | None) -> dict:  # type: ignore[type-arg]
    result = run(production_env(**changes), "-c", DUMP)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_check_deploy_is_clean() -> None:
    result = run(production_env(), "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS"])
def test_production_refuses_to_start_without(missing: str) -> None:
    result = run(production_env(**{missing: None}), "manage.py", "check")
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line == (
        f"django.core.exceptions.ImproperlyConfigured: Production settings need these environment variables: {missing}"
    )


def test_production_refuses_a_weak_secret_key() -> None:
    result = run(production_env(SECRET_KEY="django-insecure-" + "x" * 50), "manage.py", "check")
    assert result.returncode != 0
    assert "SECRET_KEY must be a random string of at least 50 characters" in result.stderr


def test_production_defaults() -> None:
    settings = dump()
    assert settings["DEBUG"] is False
    assert settings["SECURE_SSL_REDIRECT"] is True
    assert settings["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert settings["SECURE_HSTS_SECONDS"] > 0
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["CSRF_COOKIE_SECURE"] is True
    assert settings["CORS_ALLOWED_ORIGINS"] == []
    assert settings["STATICFILES_BACKEND"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert "whitenoise.middleware.WhiteNoiseMiddleware" in settings["MIDDLEWARE"]
    assert settings["LOG_FORMATTER"] == "json"
    assert "replica" not in settings["DATABASES"]


def test_debug_toolbar_is_never_in_production() -> None:
    settings = dump(DEBUG="true", DEBUG_TOOLBAR="true")
    assert settings["DEBUG"] is False
    assert "debug_toolbar" not in settings["INSTALLED_APPS"]
    assert not any("debug_toolbar" in name for name in settings["MIDDLEWARE"])
    assert settings["debug_toolbar_imported"] is False
    # And the image cannot import it at all: it is a development requirement only.
    runtime = (ROOT / "requirements.txt").read_text().lower()
    assert "debug-toolbar" not in runtime
    assert "debug-toolbar" in (ROOT / "requirements-dev.txt").read_text().lower()


def test_debug_toolbar_in_local_settings_with_debug() -> None:
    env = production_env(DJANGO_SETTINGS_MODULE="config.settings.local", DEBUG="true", DATABASE_URL=None)
    script = "import django; from django.conf import settings; django.setup(); print(settings.INSTALLED_APPS)"
    result = run(env, "-c", script)
    assert result.returncode == 0, result.stderr
    assert "debug_toolbar" in result.stdout


def test_https_settings_from_the_environment() -> None:
    settings = dump(
        SECURE_SSL_REDIRECT="false",
        SECURE_PROXY_SSL_HEADER="false",
        SECURE_HSTS_SECONDS="31536000",
        CORS_ALLOWED_ORIGINS="https://app.example.com,https://admin.example.com",
    )
    assert settings["SECURE_SSL_REDIRECT"] is False
    assert settings["SECURE_PROXY_SSL_HEADER"] is None
    assert settings["SECURE_HSTS_SECONDS"] == 31536000
    assert settings["CORS_ALLOWED_ORIGINS"] == ["https://app.example.com", "https://admin.example.com"]


def test_database_deadlines_and_reuse() -> None:
    db = dump()["DATABASES"]["default"]
    assert db["CONN_HEALTH_CHECKS"] is True
    assert db["CONN_MAX_AGE"] == 60
    assert db["OPTIONS"]["connect_timeout"] == 3
    assert db["OPTIONS"]["options"] == "-c statement_timeout=10000 -c idle_in_transaction_session_timeout=20000"
    assert "pool" not in db["OPTIONS"]


def test_database_pool_when_asked() -> None:
    db = dump(DB_POOL="true", GUNICORN_THREADS="6")["DATABASES"]["default"]
    assert db["CONN_MAX_AGE"] == 0
    assert db["OPTIONS"]["pool"] == {"min_size": 1, "max_size": 6, "timeout": 3.0}


def test_pgbouncer_transaction_mode() -> None:
    db = dump(DATABASE_PGBOUNCER="true", DB_POOL="true")["DATABASES"]["default"]
    assert db["CONN_MAX_AGE"] == 0
    assert db["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert db["OPTIONS"]["prepare_threshold"] is None
    assert "pool" not in db["OPTIONS"]  # PgBouncer pools
    assert "options" not in db["OPTIONS"]  # PgBouncer rejects startup options: set them on the role


@pytest.mark.parametrize("replica_direct", [False, True])
def test_pgbouncer_in_front_of_the_primary_and_maybe_the_replica(replica_direct: bool) -> None:
    """DATABASE_REPLICA_PGBOUNCER=false: PgBouncer fronts the primary only, and the replica
    keeps persistent connections with the timeouts as startup options."""
    extra = {"DATABASE_REPLICA_PGBOUNCER": "false"} if replica_direct else {}
    databases = dump(
        DATABASE_PGBOUNCER="true", DATABASE_REPLICA_URL="postgres://brisk@127.0.0.1:1/brisk_replica", **extra
    )["DATABASES"]
    assert databases["default"]["CONN_MAX_AGE"] == 0
    assert "options" not in databases["default"]["OPTIONS"]
    replica = databases["replica"]
    if replica_direct:
        assert replica["CONN_MAX_AGE"] == 60
        assert "statement_timeout=10000" in replica["OPTIONS"]["options"]
        assert "prepare_threshold" not in replica["OPTIONS"]
    else:
        assert replica["CONN_MAX_AGE"] == 0
        assert replica["OPTIONS"]["prepare_threshold"] is None


def test_replica_has_the_same_deadlines_and_a_router() -> None:
    settings = dump(DATABASE_REPLICA_URL="postgres://brisk@127.0.0.1:1/brisk_replica")
    primary, replica = settings["DATABASES"]["default"], settings["DATABASES"]["replica"]
    assert replica["NAME"] == "brisk_replica"
    assert replica["OPTIONS"] == primary["OPTIONS"]
    assert replica["CONN_HEALTH_CHECKS"] is True
    assert replica["TEST"]["MIRROR"] == "default"
    assert settings["DATABASE_ROUTERS"] == ["core.db_router.PrimaryReplicaRouter"]


def test_gunicorn_config_loads_the_app() -> None:
    result = run(production_env(), "-m", "gunicorn", "-c", "gunicorn_config.py", "--check-config", "config.wsgi")
    assert result.returncode == 0, result.stdout + result.stderr
