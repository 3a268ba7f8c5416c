"""Logout and refresh rotation, revoking every token of a user, password change and reset,
e-mail verification, and the auth event log lines."""

import io
import logging
import re
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.tokens import PasswordResetTokenGenerator, default_token_generator
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import AccessToken

import accounts.auth_events
import accounts.lifecycle
import core.mail
from accounts.emails import email_verification_token, password_reset_uid
from accounts.lifecycle import tokens_revoke_all
from accounts.models import User
from core.logging import RequestIDFilter
from tests.conftest import clear_caches
from tests.factories import CourseFactory, UserFactory

pytestmark = pytest.mark.django_db

TOKEN_URL = "/auth/token/"
REFRESH_URL = "/auth/token/refresh/"
LOGOUT_URL = "/auth/logout/"
PASSWORD_URL = "/me/password/"
RESET_URL = "/auth/password-reset/"
CONFIRM_URL = "/auth/password-reset/confirm/"
VERIFY_URL = "/auth/verify-email/"
RESEND_URL = "/me/verify-email/"
PASSWORD = "password-123"  # UserFactory's
NEW_PASSWORD = "correct-horse-battery-staple-42"


def login(user: User, password: str = PASSWORD) -> dict[str, str]:
    response = APIClient().post(TOKEN_URL, {"email": user.email, "password": password})
    assert response.status_code == 200, response.content
    return dict(response.json())


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def link_params(message: Any) -> dict[str, str]:
    url = re.search(r"https?://\S+", message.body).group(0)
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def learner():  # type: ignore[no-untyped-def]
    return UserFactory(email="learner@example.com")


# --- Refresh rotation and logout -------------------------------------------------------------


def test_refresh_rotates_and_a_used_refresh_token_is_401(api_client: APIClient, learner: User) -> None:
    first = login(learner)
    response = api_client.post(REFRESH_URL, {"refresh": first["refresh"]})
    assert response.status_code == 200
    second = response.json()
    assert set(second) == {"access", "refresh"} and second["refresh"] != first["refresh"]
    assert bearer(second["access"]).get("/me/").status_code == 200

    replay = api_client.post(REFRESH_URL, {"refresh": first["refresh"]})
    assert replay.status_code == 401
    assert "detail" in replay.json()
    # The new one works once too.
    assert api_client.post(REFRESH_URL, {"refresh": second["refresh"]}).status_code == 200
    assert api_client.post(REFRESH_URL, {"refresh": second["refresh"]}).status_code == 401


def test_login_query_budget_and_no_token_row(learner: User, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(1):  # the user by e-mail; no OutstandingToken row, no axes row
        login(learner)
    assert not BlacklistedToken.objects.exists()


def test_refresh_query_budget(api_client: APIClient, learner: User, django_assert_num_queries: Any) -> None:
    refresh = login(learner)["refresh"]
    # The user row (active? generation?) + SAVEPOINT, INSERT outstanding, INSERT blacklisted,
    # RELEASE (BEGIN/COMMIT in production).
    with django_assert_num_queries(5):
        assert api_client.post(REFRESH_URL, {"refresh": refresh}).status_code == 200


def test_logout_revokes_the_refresh_token(api_client: APIClient, learner: User, django_assert_num_queries: Any) -> None:
    tokens = login(learner)
    # The user row + SAVEPOINT, INSERT outstanding, INSERT blacklisted, RELEASE.
    with django_assert_num_queries(5):
        response = api_client.post(LOGOUT_URL, {"refresh": tokens["refresh"]})
    assert response.status_code == 204
    assert not response.content
    assert api_client.post(REFRESH_URL, {"refresh": tokens["refresh"]}).status_code == 401
    # Again: still logged out, still 204.
    assert api_client.post(LOGOUT_URL, {"refresh": tokens["refresh"]}).status_code == 204
    assert BlacklistedToken.objects.count() == 1


@pytest.mark.parametrize(
    "make_body",
    [
        pytest.param(lambda tokens: {"refresh": tokens["access"]}, id="an-access-token"),
        pytest.param(lambda tokens: {"refresh": "not-a-jwt"}, id="garbage"),
        pytest.param(lambda tokens: {"refresh": tokens["refresh"][:-3] + "abc"}, id="tampered"),
    ],
)
@pytest.mark.parametrize("url", [REFRESH_URL, LOGOUT_URL])
def test_refresh_and_logout_refuse_what_is_not_a_refresh_token(
    api_client: APIClient, learner: User, make_body: Callable[[dict[str, str]], dict[str, str]], url: str
) -> None:
    response = api_client.post(url, make_body(login(learner)))
    assert response.status_code == 401
    assert "detail" in response.json()
    assert not BlacklistedToken.objects.exists()


@pytest.mark.parametrize("url", [REFRESH_URL, LOGOUT_URL])
@pytest.mark.parametrize("body", [{}, {"refresh": 5}, {"refresh": "x" * 5000}])
def test_refresh_and_logout_bad_bodies_are_400(api_client: APIClient, url: str, body: dict[str, Any]) -> None:
    response = api_client.post(url, body, format="json")
    assert response.status_code == 400
    assert "refresh" in response.json()


def test_refresh_of_an_inactive_or_deleted_user_is_401(api_client: APIClient, learner: User) -> None:
    refresh = login(learner)["refresh"]
    User.objects.filter(pk=learner.pk).update(is_active=False)
    assert api_client.post(REFRESH_URL, {"refresh": refresh}).status_code == 401
    User.objects.filter(pk=learner.pk).delete()
    assert api_client.post(REFRESH_URL, {"refresh": refresh}).status_code == 401
    assert api_client.post(LOGOUT_URL, {"refresh": refresh}).status_code == 204


@pytest.mark.django_db(transaction=True)
def test_a_revoked_refresh_token_is_refused_by_another_connection_with_no_cache(learner: User) -> None:
    """The blacklist is rows in the database, not process memory or Redis: a logout seen
    from another connection (another instance), with every cache emptied, still holds."""
    tokens = login(learner)
    assert APIClient().post(LOGOUT_URL, {"refresh": tokens["refresh"]}).status_code == 204
    clear_caches()
    statuses: list[int] = []

    def elsewhere() -> None:
        try:
            statuses.append(APIClient().post(REFRESH_URL, {"refresh": tokens["refresh"]}).status_code)
        finally:
            connection.close()

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert statuses == [401]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_refreshes_with_one_token_make_one_new_pair(learner: User) -> None:
    refresh = login(learner)["refresh"]
    barrier = threading.Barrier(8)
    statuses: list[int] = []
    lock = threading.Lock()

    def use() -> None:
        try:
            barrier.wait()
            status = APIClient().post(REFRESH_URL, {"refresh": refresh}).status_code
            with lock:
                statuses.append(status)
        finally:
            connection.close()

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [401] * 7
    assert BlacklistedToken.objects.count() == 1


# --- Revoking every token of a user ----------------------------------------------------------


def test_revoke_all_refuses_every_access_and_refresh_token(api_client: APIClient, learner: User) -> None:
    phone, laptop = login(learner), login(learner)
    other = login(UserFactory())
    assert tokens_revoke_all(users=User.objects.filter(pk=learner.pk)) == 1
    for tokens in (phone, laptop):
        assert bearer(tokens["access"]).get("/me/").status_code == 401
        assert bearer(tokens["access"]).get("/programmes/").status_code == 401
        assert api_client.post(REFRESH_URL, {"refresh": tokens["refresh"]}).status_code == 401
    assert bearer(other["access"]).get("/me/").status_code == 200
    # Signing in again works.
    assert bearer(login(learner)["access"]).get("/me/").status_code == 200


def test_the_generation_check_costs_no_query(learner: User, django_assert_num_queries: Any) -> None:
    client = bearer(login(learner)["access"])
    with django_assert_num_queries(2):  # the user row (authentication) + the profile
        assert client.get("/me/").status_code == 200


def test_tokens_made_before_the_generation_claim_still_work(learner: User) -> None:
    legacy = AccessToken.for_user(learner)  # type: ignore[type-var]
    assert "gen" not in legacy.payload
    assert bearer(str(legacy)).get("/me/").status_code == 200
    tokens_revoke_all(users=User.objects.filter(pk=learner.pk))
    assert bearer(str(legacy)).get("/me/").status_code == 401


def test_revoke_tokens_command(learner: User) -> None:
    tokens = login(learner)
    call_command("revoke_tokens", "LEARNER@example.com", stdout=io.StringIO())
    assert bearer(tokens["access"]).get("/me/").status_code == 401
    from django.core.management import CommandError

    with pytest.raises(CommandError, match=re.escape("nobody@example.com")):
        call_command("revoke_tokens", "nobody@example.com", stdout=io.StringIO())


def test_admin_sign_out_everywhere_action(learner: User, admin_client: Any) -> None:
    tokens = login(learner)
    bystander = login(UserFactory())
    response = admin_client.post(
        "/admin/accounts/user/", {"action": "sign_out_everywhere", "_selected_action": [learner.pk]}
    )
    assert response.status_code == 302
    assert bearer(tokens["access"]).get("/me/").status_code == 401
    assert bearer(bystander["access"]).get("/me/").status_code == 200


# --- Password change -------------------------------------------------------------------------


def test_password_change_revokes_other_tokens_and_answers_a_new_pair(api_client: APIClient, learner: User) -> None:
    other_device = login(learner)
    mine = login(learner)
    response = bearer(mine["access"]).post(PASSWORD_URL, {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 200, response.content
    fresh = response.json()
    assert set(fresh) == {"access", "refresh"}
    for tokens in (other_device, mine):
        assert bearer(tokens["access"]).get("/me/").status_code == 401
        assert api_client.post(REFRESH_URL, {"refresh": tokens["refresh"]}).status_code == 401
    assert bearer(fresh["access"]).get("/me/").status_code == 200
    assert api_client.post(REFRESH_URL, {"refresh": fresh["refresh"]}).status_code == 200
    learner.refresh_from_db()
    assert learner.check_password(NEW_PASSWORD)
    assert api_client.post(TOKEN_URL, {"email": learner.email, "password": PASSWORD}).status_code == 401


def test_password_change_query_budget(learner: User, django_assert_num_queries: Any) -> None:
    client = bearer(login(learner)["access"])
    # The user row (authentication) + SAVEPOINT, the row locked, UPDATE, RELEASE.
    with django_assert_num_queries(5):
        response = client.post(PASSWORD_URL, {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"current_password": "wrong-password", "new_password": NEW_PASSWORD}, "current_password"),
        ({"current_password": PASSWORD, "new_password": "short1"}, "new_password"),
        ({"current_password": PASSWORD, "new_password": "password"}, "new_password"),
        ({"current_password": PASSWORD, "new_password": "learner@example.com"}, "new_password"),
        ({"current_password": PASSWORD}, "new_password"),
        ({"new_password": NEW_PASSWORD}, "current_password"),
        ({"current_password": 5, "new_password": NEW_PASSWORD}, "current_password"),
    ],
)
def test_password_change_refusals_are_400_and_change_nothing(learner: User, body: dict[str, Any], field: str) -> None:
    tokens = login(learner)
    response = bearer(tokens["access"]).post(PASSWORD_URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    learner.refresh_from_db()
    assert learner.check_password(PASSWORD)
    assert learner.token_generation == 0
    assert bearer(tokens["access"]).get("/me/").status_code == 200


def test_password_change_is_throttled_per_user(learner: User) -> None:
    client = bearer(login(learner)["access"])
    body = {"current_password": "wrong-password", "new_password": NEW_PASSWORD}
    statuses = [client.post(PASSWORD_URL, body, REMOTE_ADDR=f"10.9.0.{i}").status_code for i in range(11)]
    assert statuses == [400] * 10 + [429]


# --- Password reset --------------------------------------------------------------------------


def request_reset(client: APIClient, email: str, capture: Any) -> Any:
    with capture(execute=True):
        return client.post(RESET_URL, {"email": email})


def test_reset_mails_a_link_that_sets_a_new_password_once(
    api_client: APIClient, learner: User, django_capture_on_commit_callbacks: Any
) -> None:
    old = login(learner)
    response = request_reset(api_client, "  Learner@Example.com ", django_capture_on_commit_callbacks)
    assert response.status_code == 202
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["learner@example.com"]
    assert message.subject == "Reset your Brisk password"
    assert message.body.count("http://localhost:3000/reset-password?uid=") == 1
    params = link_params(message)
    assert params["uid"] == password_reset_uid(learner)

    body = {**params, "new_password": NEW_PASSWORD}
    confirmed = api_client.post(CONFIRM_URL, body)
    assert confirmed.status_code == 204, confirmed.content
    learner.refresh_from_db()
    assert learner.check_password(NEW_PASSWORD)
    assert learner.email_verified  # the link reached the address
    # Every token from before is revoked; the new password signs in.
    assert bearer(old["access"]).get("/me/").status_code == 401
    assert api_client.post(REFRESH_URL, {"refresh": old["refresh"]}).status_code == 401
    login(learner, NEW_PASSWORD)
    # The link works once.
    replay = api_client.post(CONFIRM_URL, {**params, "new_password": "another-horse-battery-99"})
    assert replay.status_code == 400
    assert "token" in replay.json()
    learner.refresh_from_db()
    assert learner.check_password(NEW_PASSWORD)


def test_unknown_address_is_answered_the_same_and_mails_nothing(
    api_client: APIClient, learner: User, django_capture_on_commit_callbacks: Any
) -> None:
    known = request_reset(api_client, learner.email, django_capture_on_commit_callbacks)
    unknown = request_reset(api_client, "nobody@example.com", django_capture_on_commit_callbacks)
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    assert [m.to for m in mail.outbox] == [[learner.email]]


@pytest.mark.parametrize(
    "make_user",
    [
        pytest.param(lambda: UserFactory(email="gone@example.com", is_active=False), id="inactive"),
        pytest.param(lambda: UserFactory(email="gone@example.com", password=None), id="unusable-password"),
    ],
)
def test_reset_mails_no_inactive_account(
    api_client: APIClient, make_user: Callable[[], User], django_capture_on_commit_callbacks: Any
) -> None:
    user = make_user()
    if user.password is None or not user.has_usable_password():
        user.set_unusable_password()
        user.save()
    assert request_reset(api_client, "gone@example.com", django_capture_on_commit_callbacks).status_code == 202
    assert mail.outbox == []


def test_reset_for_an_unknown_address_does_the_same_work(
    api_client: APIClient, learner: User, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    """The same queries and the same hashing and message building, known or not (their
    timing is measured in bench/RESET_TIMING.md, not here)."""
    calls: list[str] = []
    make_token = PasswordResetTokenGenerator.make_token
    build = accounts.lifecycle.password_reset_message

    def counting_make_token(self: Any, user: Any) -> str:
        calls.append("token")
        return make_token(self, user)

    def counting_build(user: Any) -> Any:
        calls.append("message")
        return build(user)

    monkeypatch.setattr(PasswordResetTokenGenerator, "make_token", counting_make_token)
    monkeypatch.setattr(accounts.lifecycle, "password_reset_message", counting_build)
    hand_over = core.mail._hand_over

    def counting_hand_over(*args: Any) -> None:
        calls.append("hand-over")
        hand_over(*args)

    monkeypatch.setattr(core.mail, "_hand_over", counting_hand_over)

    def work(email: str) -> tuple[list[str], list[str]]:
        calls.clear()
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
            assert api_client.post(RESET_URL, {"email": email}).status_code == 202
        sql = [re.sub(r"'[^']*'|%s|\?", "?", q["sql"]) for q in queries.captured_queries]
        return sql, list(calls)

    known = work(learner.email)
    unknown = work("nobody@example.com")
    assert known == unknown
    assert [m.to for m in mail.outbox] == [[learner.email]]  # the mail thread drops the other
    assert len(known[0]) == 1  # the user, by e-mail
    assert known[1] == ["message", "token", "hand-over"]


def test_reset_request_query_budget(api_client: APIClient, learner: User, django_assert_num_queries: Any) -> None:
    for email in (learner.email, "nobody@example.com"):
        with django_assert_num_queries(1):  # the active user with that address
            assert api_client.post(RESET_URL, {"email": email}).status_code == 202


def test_reset_confirm_query_budget(api_client: APIClient, learner: User, django_assert_num_queries: Any) -> None:
    body = {
        "uid": password_reset_uid(learner),
        "token": default_token_generator.make_token(learner),
        "new_password": NEW_PASSWORD,
    }
    # SAVEPOINT, the user row locked, UPDATE (password, generation, verified), RELEASE.
    with django_assert_num_queries(4):
        assert api_client.post(CONFIRM_URL, body).status_code == 204


def test_reset_token_is_useless_after_a_password_change(api_client: APIClient, learner: User) -> None:
    token = default_token_generator.make_token(learner)
    access = login(learner)["access"]
    changed = bearer(access).post(PASSWORD_URL, {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert changed.status_code == 200
    body = {"uid": password_reset_uid(learner), "token": token, "new_password": "another-horse-battery-99"}
    assert api_client.post(CONFIRM_URL, body).status_code == 400
    learner.refresh_from_db()
    assert learner.check_password(NEW_PASSWORD)


def test_reset_token_is_not_valid_for_another_user(api_client: APIClient, learner: User) -> None:
    victim = UserFactory()
    token = default_token_generator.make_token(learner)
    body = {"uid": password_reset_uid(victim), "token": token, "new_password": NEW_PASSWORD}
    response = api_client.post(CONFIRM_URL, body)
    assert response.status_code == 400
    assert response.json() == {"token": [accounts.lifecycle.INVALID_RESET_LINK]}
    victim.refresh_from_db()
    assert victim.check_password(PASSWORD)


def test_reset_token_expires(api_client: APIClient, learner: User, monkeypatch: pytest.MonkeyPatch) -> None:
    token = default_token_generator.make_token(learner)
    later = timezone.now().replace(tzinfo=None) + timedelta(hours=1, seconds=5)
    monkeypatch.setattr(PasswordResetTokenGenerator, "_now", lambda self: later)
    body = {"uid": password_reset_uid(learner), "token": token, "new_password": NEW_PASSWORD}
    assert api_client.post(CONFIRM_URL, body).status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"uid": "!!", "token": "x", "new_password": NEW_PASSWORD},
        {"uid": "OTk5OTk5OTk5OTk5OTk5OTk5OTk5", "token": "abc-def", "new_password": NEW_PASSWORD},  # 10**21
        {"uid": "LTE", "token": "abc-def", "new_password": NEW_PASSWORD},  # -1
        {"uid": "_w", "token": "abc-def", "new_password": NEW_PASSWORD},  # not UTF-8
        {"uid": "", "token": "", "new_password": NEW_PASSWORD},
        {"uid": "MQ", "token": 5, "new_password": NEW_PASSWORD},
        {"token": "abc"},
    ],
)
def test_reset_confirm_bad_input_is_400(api_client: APIClient, learner: User, body: dict[str, Any]) -> None:
    response = api_client.post(CONFIRM_URL, body, format="json")
    assert response.status_code == 400
    assert response.json()


def test_reset_confirm_runs_the_password_validators_and_keeps_the_link(api_client: APIClient, learner: User) -> None:
    body = {"uid": password_reset_uid(learner), "token": default_token_generator.make_token(learner)}
    weak = api_client.post(CONFIRM_URL, {**body, "new_password": "password"})
    assert weak.status_code == 400
    assert "new_password" in weak.json()
    assert api_client.post(CONFIRM_URL, {**body, "new_password": NEW_PASSWORD}).status_code == 204


def test_reset_request_is_throttled_per_ip_and_per_address(api_client: APIClient) -> None:
    with override_settings(REST_FRAMEWORK=_rates(auth_password_reset="3/hour")):
        statuses = [api_client.post(RESET_URL, {"email": f"u{i}@example.com"}).status_code for i in range(4)]
        assert statuses == [202, 202, 202, 429]
        clear_caches()
        statuses = [
            api_client.post(RESET_URL, {"email": "Target@example.com"}, REMOTE_ADDR=f"10.8.0.{i}").status_code
            for i in range(4)
        ]
        assert statuses == [202, 202, 202, 429]


def test_reset_confirm_is_throttled_per_ip_and_per_account(api_client: APIClient, learner: User) -> None:
    uid = password_reset_uid(learner)
    with override_settings(REST_FRAMEWORK=_rates(auth_password_reset_confirm="3/minute")):
        statuses = [
            api_client.post(CONFIRM_URL, {"uid": uid, "token": f"bad-{i}", "new_password": NEW_PASSWORD}).status_code
            for i in range(4)
        ]
        assert statuses == [400, 400, 400, 429]
        clear_caches()
        statuses = [
            api_client.post(
                CONFIRM_URL, {"uid": uid, "token": "bad", "new_password": NEW_PASSWORD}, REMOTE_ADDR=f"10.7.0.{i}"
            ).status_code
            for i in range(4)
        ]
        assert statuses == [400, 400, 400, 429]


def _rates(**rates: str) -> dict[str, Any]:
    from django.conf import settings

    return {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


# --- E-mail verification ---------------------------------------------------------------------


def test_register_mails_a_verification_link_that_verifies(
    api_client: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/auth/register/", {"email": "Ada@Example.com", "password": NEW_PASSWORD})
    assert response.status_code == 201
    assert response.json()["email_verified"] is False
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ada@example.com"]
    token = link_params(mail.outbox[0])["token"]

    verified = api_client.post(VERIFY_URL, {"token": token})
    assert verified.status_code == 200
    assert verified.json() == {"email_verified": True}
    user = User.objects.get(email="ada@example.com")
    assert bearer(login(user, NEW_PASSWORD)["access"]).get("/me/").json()["email_verified"] is True
    # Used again: still verified, still 200.
    assert api_client.post(VERIFY_URL, {"token": token}).status_code == 200


def test_verify_query_budget(api_client: APIClient, learner: User, django_assert_num_queries: Any) -> None:
    token = email_verification_token(learner)
    with django_assert_num_queries(1):  # UPDATE ... WHERE id, email, not verified yet
        assert api_client.post(VERIFY_URL, {"token": token}).status_code == 200
    with django_assert_num_queries(2):  # the same UPDATE (no row) + is it verified already?
        assert api_client.post(VERIFY_URL, {"token": token}).status_code == 200


def test_verify_refuses_a_tampered_stale_or_foreign_link(api_client: APIClient, learner: User) -> None:
    token = email_verification_token(learner)
    assert api_client.post(VERIFY_URL, {"token": token[:-2] + "xx"}).status_code == 400
    with override_settings(EMAIL_VERIFICATION_MAX_AGE=-1):
        assert api_client.post(VERIFY_URL, {"token": token}).status_code == 400
    # The address changed since the link was made: it does not verify the new one.
    User.objects.filter(pk=learner.pk).update(email="changed@example.com")
    response = api_client.post(VERIFY_URL, {"token": token})
    assert response.status_code == 400
    assert response.json() == {"token": [accounts.lifecycle.INVALID_VERIFICATION_LINK]}
    learner.refresh_from_db()
    assert not learner.email_verified


def test_resend_verification(learner: User, django_capture_on_commit_callbacks: Any) -> None:
    client = bearer(login(learner)["access"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(RESEND_URL)
    assert (response.status_code, response.json()) == (202, {"email_verified": False})
    assert [m.to for m in mail.outbox] == [[learner.email]]
    User.objects.filter(pk=learner.pk).update(email_verified_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(RESEND_URL)
    assert (response.status_code, response.json()) == (202, {"email_verified": True})
    assert len(mail.outbox) == 1


def test_resend_query_budget(learner: User, django_assert_num_queries: Any) -> None:
    client = bearer(login(learner)["access"])
    with django_assert_num_queries(1):  # the user row (authentication); the mail needs none
        assert client.post(RESEND_URL).status_code == 202


@pytest.mark.parametrize(("verified", "expected"), [(False, 403), (True, 201)])
def test_unverified_users_may_not_enroll_when_the_setting_says_so(learner: User, verified: bool, expected: int) -> None:
    if verified:
        User.objects.filter(pk=learner.pk).update(email_verified_at=timezone.now())
    course = CourseFactory()
    client = bearer(login(learner)["access"])
    with override_settings(UNVERIFIED_USERS_MAY_ENROLL=False):
        response = client.post(f"/courses/{course.pk}/enroll/")
    assert response.status_code == expected
    if expected == 403:
        assert "e-mail" in response.json()["detail"]


def test_unverified_users_may_enroll_by_default(learner: User) -> None:
    client = bearer(login(learner)["access"])
    assert client.post(f"/courses/{CourseFactory().pk}/enroll/").status_code == 201


# --- Auth event log lines --------------------------------------------------------------------


@pytest.fixture
def auth_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.handler.addFilter(RequestIDFilter())
    caplog.set_level(logging.INFO, logger="brisk.auth")
    yield caplog
    caplog.handler.removeFilter(caplog.handler.filters[-1])


def events(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "brisk.auth"]


def test_every_auth_event_is_one_line_with_the_request_id_and_no_secret(
    api_client: APIClient, learner: User, auth_log: pytest.LogCaptureFixture, django_capture_on_commit_callbacks: Any
) -> None:
    secrets: list[str] = [PASSWORD, NEW_PASSWORD, "wrong-password"]

    def call(request_id: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return method(*args, HTTP_X_REQUEST_ID=request_id, **kwargs)

    call("r-failed", api_client.post, TOKEN_URL, {"email": learner.email, "password": "wrong-password"})
    tokens = call("r-login", api_client.post, TOKEN_URL, {"email": learner.email, "password": PASSWORD}).json()
    secrets += tokens.values()
    changed = call(
        "r-change",
        bearer(tokens["access"]).post,
        PASSWORD_URL,
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    ).json()
    secrets += changed.values()
    call("r-logout", api_client.post, LOGOUT_URL, {"refresh": changed["refresh"]})
    with django_capture_on_commit_callbacks(execute=True):
        call("r-reset", api_client.post, RESET_URL, {"email": learner.email})
    params = link_params(mail.outbox[-1])
    secrets += [params["token"], str(mail.outbox[-1].body)]
    call("r-done", api_client.post, CONFIRM_URL, {**params, "new_password": "another-horse-battery-99"})
    secrets.append("another-horse-battery-99")

    seen = [(record.event, record.request_id) for record in events(auth_log)]  # type: ignore[attr-defined]
    assert seen == [
        ("login_failed", "r-failed"),
        ("login", "r-login"),
        ("password_changed", "r-change"),
        ("logout", "r-logout"),
        ("password_reset_requested", "r-reset"),
        ("password_reset_done", "r-done"),
    ]
    for record in events(auth_log):
        text = record.getMessage() + repr(vars(record))
        assert not [secret for secret in secrets if secret and secret in text], record.getMessage()
        assert learner.email not in text  # addresses appear hashed (email_sha)
    failed = events(auth_log)[0]
    assert failed.levelno == logging.WARNING
    assert failed.channel == "api" and failed.client_ip == "127.0.0.1"  # type: ignore[attr-defined]
    assert failed.email_sha == accounts.auth_events.email_digest(learner.email)  # type: ignore[attr-defined]
    assert events(auth_log)[1].user_id == learner.pk  # type: ignore[attr-defined]
