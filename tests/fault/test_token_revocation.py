"""Revocation holds across instances: two Gunicorns with their own processes and their own
Redis, one PostgreSQL. What one revokes, the other refuses at once."""

from typing import Any

import pytest

from harness import STUDENT, Client, running_gunicorn

pytestmark = [pytest.mark.postgres, pytest.mark.fault]


def post(port: int, path: str, body: Any, token: str | None = None) -> Any:
    with Client(port, token=token) as client:
        return client.request("POST", path, body)


def get(port: int, path: str, token: str) -> Any:
    with Client(port, token=token) as client:
        return client.get(path)


def test_what_one_instance_revokes_every_instance_refuses(live_env: dict[str, str], redis_server: Any) -> None:
    one = {**live_env, "GUNICORN_WORKERS": "1", "GUNICORN_THREADS": "2"}
    other = {**one, "REDIS_URL": redis_server.url(8)}
    with running_gunicorn(one) as a, running_gunicorn(other) as b:
        email, password = STUDENT
        tokens = post(a.port, "/auth/token/", {"email": email, "password": password}).json()

        # Rotation on A; the used token is refused by B.
        rotated = post(a.port, "/auth/token/refresh/", {"refresh": tokens["refresh"]})
        assert rotated.status == 200
        assert post(b.port, "/auth/token/refresh/", {"refresh": tokens["refresh"]}).status == 401

        # Logout on B; the token is refused by A.
        assert post(b.port, "/auth/logout/", {"refresh": rotated.json()["refresh"]}).status == 204
        assert post(a.port, "/auth/token/refresh/", {"refresh": rotated.json()["refresh"]}).status == 401

        # A password change on A revokes every token, also on B.
        fresh = post(a.port, "/auth/token/", {"email": email, "password": password}).json()
        assert get(b.port, "/me/", fresh["access"]).status == 200
        changed = post(
            a.port,
            "/me/password/",
            {"current_password": password, "new_password": "another-long-password-42"},
            token=fresh["access"],
        )
        assert changed.status == 200
        assert get(b.port, "/me/", fresh["access"]).status == 401
        assert post(b.port, "/auth/token/refresh/", {"refresh": fresh["refresh"]}).status == 401
        assert get(b.port, "/me/", changed.json()["access"]).status == 200
