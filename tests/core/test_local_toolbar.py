"""The debug toolbar of `make run` (local settings): collapsed, and off the admin's pages
unless DEBUG_TOOLBAR_ON_ADMIN asks for it. Local settings are read once per process, so
each case runs in a subprocess."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

PAGES = """
import json, django
django.setup()
from django.test import Client
client = Client()
out = {}
for path in ("/admin/login/", "/docs/", "/programmes/"):
    response = client.get(path, HTTP_ACCEPT="text/html")
    body = response.content.decode()
    out[path] = {
        "status": response.status_code,
        "toolbar": 'id="djDebug"' in body,
        "collapsed": 'data-default-show="false"' in body,
    }
print(json.dumps(out))
"""


def pages(tmp_path: Path, **extra: str) -> dict[str, dict[str, object]]:
    pytest.importorskip("debug_toolbar")
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DATABASE_REPLICA_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DEBUG="true",
        DEBUG_TOOLBAR="true",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        ALLOWED_HOSTS="testserver",
        **extra,
    )
    migrate = [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"]
    subprocess.run(migrate, cwd=ROOT, env=env, check=True, timeout=120)
    result = subprocess.run(
        [sys.executable, "-c", PAGES], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_toolbar_is_collapsed_and_off_the_admin(tmp_path: Path) -> None:
    shown = pages(tmp_path)
    assert all(page["status"] == 200 for page in shown.values()), shown
    assert shown["/admin/login/"]["toolbar"] is False
    for path in ("/docs/", "/programmes/"):
        assert shown[path]["toolbar"] is True, path
        assert shown[path]["collapsed"] is True, path


def test_toolbar_on_the_admin_when_asked(tmp_path: Path) -> None:
    shown = pages(tmp_path, DEBUG_TOOLBAR_ON_ADMIN="true")
    assert shown["/admin/login/"]["toolbar"] is True
    assert shown["/admin/login/"]["collapsed"] is True
