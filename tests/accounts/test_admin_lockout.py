"""The admin's door: failed /admin/ logins lock out per IP and per account (django-axes),
with a clear answer and a log line; staff unlock; the API's logins are left to its throttles."""

import io
import logging
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client, override_settings

from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

LOGIN_URL = "/admin/login/"
PASSWORD = "password-123"  # UserFactory's


@pytest.fixture
def staff_user():  # type: ignore[no-untyped-def]
    return StaffFactory(email="staff@example.com")


def admin_login(email: str, password: str, ip: str = "127.0.0.1") -> Any:
    return Client(REMOTE_ADDR=ip).post(LOGIN_URL, {"username": email, "password": password, "next": "/admin/"})


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(
    staff_user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="brisk.auth")
    statuses = [admin_login("staff@example.com", f"wrong-{i}").status_code for i in range(5)]
    # The form again, with its error; the fifth failure locks.
    assert statuses == [200] * 4 + [429]
    locked = admin_login("staff@example.com", PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert "sessionid" not in locked.cookies
    lines = [r for r in caplog.records if r.name == "brisk.auth"]
    assert [r.event for r in lines].count("login_failed") == 6  # type: ignore[attr-defined]
    assert any(r.event == "admin_lockout" and r.levelno == logging.WARNING for r in lines)  # type: ignore[attr-defined]
    assert all(PASSWORD not in r.getMessage() and "wrong-" not in r.getMessage() for r in lines)


def test_the_account_is_locked_from_every_ip_whatever_the_case(staff_user: Any) -> None:
    for i in range(4):
        assert (
            admin_login("Staff@Example.com " if i % 2 else "staff@example.com", "nope", f"10.5.0.{i}").status_code
            == 200
        )
    assert admin_login("staff@example.com", "nope", "10.5.0.9").status_code == 429
    assert admin_login("staff@example.com", PASSWORD, "10.5.1.1").status_code == 429


def test_an_ip_is_locked_whatever_the_account(staff_user: Any) -> None:
    for i in range(4):
        assert admin_login(f"someone{i}@example.com", "nope", "10.6.0.1").status_code == 200
    assert admin_login("someone9@example.com", "nope", "10.6.0.1").status_code == 429
    assert admin_login("staff@example.com", PASSWORD, "10.6.0.1").status_code == 429
    # Another IP, the right password: in.
    assert admin_login("staff@example.com", PASSWORD, "10.6.0.2").status_code == 302


def test_a_success_before_the_limit_resets_the_count(staff_user: Any) -> None:
    for _ in range(4):
        admin_login("staff@example.com", "nope")
    assert admin_login("staff@example.com", PASSWORD).status_code == 302
    for _ in range(4):
        assert admin_login("staff@example.com", "nope").status_code == 200


def test_staff_unlock_with_a_command(staff_user: Any) -> None:
    for _ in range(5):
        admin_login("staff@example.com", "nope")
    assert admin_login("staff@example.com", PASSWORD).status_code == 429
    call_command("axes_reset_username", "staff@example.com", stdout=io.StringIO())
    call_command("axes_reset_ip", "127.0.0.1", stdout=io.StringIO())
    assert admin_login("staff@example.com", PASSWORD).status_code == 302


def test_staff_unlock_from_the_admin(staff_user: Any, admin_client: Client) -> None:
    for _ in range(5):
        admin_login("staff@example.com", "nope", "10.4.0.1")
    assert admin_login("staff@example.com", PASSWORD, "10.4.0.2").status_code == 429
    listing = admin_client.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200
    assert "staff@example.com" in listing.content.decode()
    ids = list(AccessAttempt.objects.values_list("pk", flat=True))
    response = admin_client.post(
        "/admin/axes/accessattempt/", {"action": "delete_selected", "_selected_action": ids, "post": "yes"}
    )
    assert response.status_code == 302
    assert admin_login("staff@example.com", PASSWORD, "10.4.0.2").status_code == 302


def test_the_lockout_expires(staff_user: Any) -> None:
    from datetime import timedelta

    with override_settings(AXES_COOLOFF_TIME=timedelta(seconds=0)):
        for _ in range(5):
            admin_login("staff@example.com", "nope")
        assert admin_login("staff@example.com", PASSWORD).status_code == 302


def test_api_logins_are_neither_recorded_nor_locked_by_axes(staff_user: Any) -> None:
    client = Client()
    for _ in range(8):
        response = client.post(
            "/auth/token/", {"email": "staff@example.com", "password": "nope"}, content_type="application/json"
        )
        assert response.status_code == 401
    assert not AccessAttempt.objects.exists()
    ok = client.post(
        "/auth/token/", {"email": "staff@example.com", "password": PASSWORD}, content_type="application/json"
    )
    assert ok.status_code == 200
