"""Registration, tokens, what a token is worth, and the login/register throttles."""

import base64
import json
from datetime import timedelta
from typing import Any

import jwt
import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.models import User
from tests.factories import ProgrammeFactory, UserFactory

pytestmark = pytest.mark.django_db

REGISTER_URL = "/auth/register/"
TOKEN_URL = "/auth/token/"
REFRESH_URL = "/auth/token/refresh/"
PASSWORD = "password-123"  # UserFactory's
STRONG = "correct-horse-battery-staple-42"


def bearer(client: APIClient, token: str) -> APIClient:
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def with_rates(**rates: str) -> Any:
    return override_settings(
        REST_FRAMEWORK={
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
        }
    )


# --- Register ------------------------------------------------------------------------


def test_register_creates_a_student_and_never_returns_the_password(api_client: APIClient) -> None:
    response = api_client.post(
        REGISTER_URL,
        {
            "email": "  Ada@Example.COM ",
            "password": STRONG,
            "first_name": "Ada",
            "last_name": "Lovelace",
            # Mass assignment: none of these may stick.
            "role": "staff",
            "plan": "pro",
            "is_staff": True,
            "is_superuser": True,
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {
        "id",
        "email",
        "first_name",
        "last_name",
        "role",
        "plan",
        "enrollment_count",
        "email_verified",
        "date_joined",
    }
    assert body["email_verified"] is False
    assert body["email"] == "ada@example.com"
    assert (body["role"], body["plan"], body["enrollment_count"]) == ("student", "free", 0)
    assert STRONG not in response.content.decode()
    user = User.objects.get(pk=body["id"])
    assert (user.role, user.plan, user.is_staff, user.is_superuser) == ("student", "free", False, False)
    assert user.check_password(STRONG)
    assert user.last_login is None


def test_register_query_budget(api_client: APIClient, django_assert_num_queries: Any) -> None:
    # SAVEPOINT + duplicate check + INSERT + RELEASE (the service's transaction; BEGIN and
    # COMMIT outside a test).
    with django_assert_num_queries(4):
        response = api_client.post(REGISTER_URL, {"email": "new@example.com", "password": STRONG})
    assert response.status_code == 201


@pytest.mark.parametrize("email", ["taken@example.com", "TAKEN@example.com", "Taken@Example.Com"])
def test_register_duplicate_email_is_400_whatever_the_case(api_client: APIClient, email: str) -> None:
    UserFactory(email="taken@example.com")
    response = api_client.post(REGISTER_URL, {"email": email, "password": STRONG})
    assert response.status_code == 400
    assert response.json() == {"email": ["A user with this e-mail address already exists."]}
    assert User.objects.count() == 1


def test_register_duplicate_of_a_mixed_case_legacy_account(api_client: APIClient) -> None:
    UserFactory(email="Legacy@example.com")
    assert api_client.post(REGISTER_URL, {"email": "legacy@example.com", "password": STRONG}).status_code == 400


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("short1", "too short"),
        ("password", "too common"),
        ("83920174650", "entirely numeric"),
        ("ada@example.com", "too similar"),
    ],
)
def test_register_runs_django_password_validators(api_client: APIClient, password: str, fragment: str) -> None:
    response = api_client.post(REGISTER_URL, {"email": "ada@example.com", "password": password})
    assert response.status_code == 400
    assert any(fragment in message for message in response.json()["password"])
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"password": STRONG}, "email"),
        ({"email": "not-an-email", "password": STRONG}, "email"),
        ({"email": "a@example.com"}, "password"),
        ({"email": "a@example.com", "password": STRONG, "first_name": "x" * 151}, "first_name"),
    ],
)
def test_register_bad_input_is_400_naming_the_field(api_client: APIClient, payload: dict[str, str], field: str) -> None:
    response = api_client.post(REGISTER_URL, payload)
    assert response.status_code == 400
    assert field in response.json()
    assert not User.objects.exists()


def test_register_malformed_json_is_400(api_client: APIClient) -> None:
    response = api_client.post(REGISTER_URL, data=b"{not json", content_type="application/json")
    assert response.status_code == 400
    assert "detail" in response.json()


# --- Tokens ----------------------------------------------------------------------------


def test_token_pair_and_refresh(api_client: APIClient) -> None:
    user = UserFactory(email="learner@example.com")
    response = api_client.post(TOKEN_URL, {"email": "learner@example.com", "password": PASSWORD})
    assert response.status_code == 200
    tokens = response.json()
    assert set(tokens) == {"access", "refresh"}
    assert AccessToken(tokens["access"])["user_id"] == str(user.pk)

    refreshed = api_client.post(REFRESH_URL, {"refresh": tokens["refresh"]})
    assert refreshed.status_code == 200
    # Rotation: a new refresh token too (the one sent is now revoked; tests/accounts/test_lifecycle.py).
    assert set(refreshed.json()) == {"access", "refresh"}
    me = bearer(APIClient(), refreshed.json()["access"]).get("/me/")
    assert me.status_code == 200
    assert me.json()["id"] == user.pk


def test_token_email_is_case_insensitive(api_client: APIClient) -> None:
    UserFactory(email="learner@example.com")
    assert api_client.post(TOKEN_URL, {"email": "Learner@Example.com", "password": PASSWORD}).status_code == 200


def test_token_login_writes_nothing(api_client: APIClient) -> None:
    user = UserFactory()
    with CaptureQueriesContext(connection) as queries:
        assert api_client.post(TOKEN_URL, {"email": user.email, "password": PASSWORD}).status_code == 200
    assert [q["sql"] for q in queries.captured_queries if not q["sql"].startswith("SELECT")] == []
    user.refresh_from_db()
    assert user.last_login is None


@pytest.mark.parametrize(
    "payload",
    [
        {"email": "learner@example.com", "password": "wrong-password"},
        {"email": "nobody@example.com", "password": PASSWORD},
    ],
)
def test_wrong_credentials_are_401(api_client: APIClient, payload: dict[str, str]) -> None:
    UserFactory(email="learner@example.com")
    response = api_client.post(TOKEN_URL, payload)
    assert response.status_code == 401
    assert "detail" in response.json()


def test_inactive_user_gets_no_token(api_client: APIClient) -> None:
    UserFactory(email="gone@example.com", is_active=False)
    assert api_client.post(TOKEN_URL, {"email": "gone@example.com", "password": PASSWORD}).status_code == 401


def test_token_missing_fields_are_400(api_client: APIClient) -> None:
    response = api_client.post(TOKEN_URL, {"email": "a@example.com"})
    assert response.status_code == 400
    assert "password" in response.json()


def test_refresh_with_an_access_token_is_401(api_client: APIClient) -> None:
    access = str(AccessToken.for_user(UserFactory()))  # type: ignore[type-var]
    assert api_client.post(REFRESH_URL, {"refresh": access}).status_code == 401


# --- What a presented token is worth ----------------------------------------------------


def _segment(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _expired(user: User) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(seconds=1))
    return str(token)


def _tampered(user: User) -> str:
    header, payload, signature = str(AccessToken.for_user(user)).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["user_id"] = str(UserFactory(role=User.Role.STAFF, is_staff=True).pk)
    return f"{header}.{_segment(claims)}.{signature}"


def _alg_none(user: User) -> str:
    claims = dict(AccessToken.for_user(user).payload)
    return jwt.encode(claims, None, algorithm="none")


def _wrong_key(user: User) -> str:
    claims = dict(AccessToken.for_user(user).payload)
    return jwt.encode(claims, "another-secret-key-of-sufficient-length", algorithm="HS256")


def _refresh(user: User) -> str:
    return str(RefreshToken.for_user(user))


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda user: "not-a-jwt", id="garbage"),
        pytest.param(_expired, id="expired"),
        pytest.param(_tampered, id="tampered"),
        pytest.param(_alg_none, id="alg-none"),
        pytest.param(_wrong_key, id="wrong-key"),
        pytest.param(_refresh, id="refresh-as-access"),
    ],
)
@pytest.mark.parametrize("path", ["/me/", "/programmes/"])
def test_bad_tokens_are_401_even_on_public_reads(api_client: APIClient, make_token: Any, path: str) -> None:
    ProgrammeFactory()
    response = bearer(api_client, make_token(UserFactory())).get(path)
    assert response.status_code == 401, response.content
    assert "detail" in response.json()
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_token_of_a_deleted_or_inactive_user_is_401(api_client: APIClient) -> None:
    user = UserFactory()
    token = str(AccessToken.for_user(user))  # type: ignore[type-var]
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert bearer(api_client, token).get("/programmes/").status_code == 401


def test_missing_token_on_a_public_read_is_anonymous(api_client: APIClient) -> None:
    assert api_client.get("/programmes/").status_code == 200
    assert api_client.get("/me/").status_code == 401


def test_authentication_costs_one_query_and_writes_nothing(
    api_client: APIClient, django_assert_num_queries: Any
) -> None:
    ProgrammeFactory.create_batch(3)
    with django_assert_num_queries(2):
        assert api_client.get("/programmes/").status_code == 200
    user = UserFactory()
    bearer(api_client, str(AccessToken.for_user(user)))  # type: ignore[type-var]
    with CaptureQueriesContext(connection) as queries:
        assert api_client.get("/programmes/").status_code == 200
    # The user row, then the same 2 queries as anonymous: no session, no last_login.
    assert len(queries) == 3
    assert all(q["sql"].lstrip().upper().startswith("SELECT") for q in queries.captured_queries)
    assert "accounts_user" in queries.captured_queries[0]["sql"]
    user.refresh_from_db()
    assert user.last_login is None


def test_api_sets_no_session_cookie(api_client: APIClient) -> None:
    user = UserFactory()
    response = api_client.post(TOKEN_URL, {"email": user.email, "password": PASSWORD})
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    response = bearer(api_client, response.json()["access"]).get("/me/")
    assert settings.SESSION_COOKIE_NAME not in response.cookies


# --- Throttling ------------------------------------------------------------------------


def _login(client: APIClient, email: str, **extra: str) -> Any:
    return client.post(TOKEN_URL, {"email": email, "password": "wrong-password"}, **extra)


def test_token_is_throttled_per_ip_with_retry_after(api_client: APIClient) -> None:
    statuses = [_login(api_client, f"user{i}@example.com").status_code for i in range(10)]
    assert statuses == [401] * 10
    response = _login(api_client, "another@example.com")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "detail" in response.json()
    # Another client is not affected.
    assert _login(api_client, "another@example.com", REMOTE_ADDR="10.0.0.2").status_code == 401


def test_token_is_throttled_per_email_across_ips(api_client: APIClient) -> None:
    for i in range(10):
        assert _login(api_client, "target@example.com", REMOTE_ADDR=f"10.0.1.{i}").status_code == 401
    response = _login(api_client, "TARGET@example.com", REMOTE_ADDR="10.0.2.1")
    assert response.status_code == 429
    assert "Retry-After" in response.headers
    assert _login(api_client, "other@example.com", REMOTE_ADDR="10.0.2.1").status_code == 401


def test_register_is_throttled_per_ip_and_per_email(api_client: APIClient) -> None:
    for i in range(10):
        api_client.post(REGISTER_URL, {"email": f"new{i}@example.com", "password": STRONG})
    blocked = api_client.post(REGISTER_URL, {"email": "late@example.com", "password": STRONG})
    assert blocked.status_code == 429
    assert "Retry-After" in blocked.headers
    assert not User.objects.filter(email="late@example.com").exists()

    for i in range(10):
        api_client.post(REGISTER_URL, {"email": "same@example.com", "password": "x"}, REMOTE_ADDR=f"10.1.0.{i}")
    assert api_client.post(REGISTER_URL, {"email": "same@example.com"}, REMOTE_ADDR="10.1.1.1").status_code == 429


def test_login_and_register_have_separate_buckets(api_client: APIClient) -> None:
    for i in range(10):
        _login(api_client, f"user{i}@example.com")
    assert _login(api_client, "x@example.com").status_code == 429
    assert api_client.post(REGISTER_URL, {"email": "x@example.com", "password": STRONG}).status_code == 201


def test_x_forwarded_for_cannot_dodge_the_throttle_without_proxies(api_client: APIClient) -> None:
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == 0
    for i in range(10):
        assert _login(api_client, f"u{i}@example.com", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code == 401
    assert _login(api_client, "u@example.com", HTTP_X_FORWARDED_FOR="198.51.100.99").status_code == 429


def test_behind_one_proxy_the_client_ip_is_the_one_the_proxy_appended(api_client: APIClient) -> None:
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}):
        # The client forges a first entry each time; the proxy appends the real address.
        for i in range(10):
            forged = f"198.51.100.{i}, 203.0.113.7"
            assert _login(api_client, f"u{i}@example.com", HTTP_X_FORWARDED_FOR=forged).status_code == 401
        blocked = _login(api_client, "u@example.com", HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.7")
        assert blocked.status_code == 429
        # A different real client behind the same proxy has its own bucket.
        assert _login(api_client, "u@example.com", HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 401


def test_rates_come_from_settings(api_client: APIClient) -> None:
    with with_rates(auth_token="2/minute"):
        assert [_login(api_client, f"u{i}@example.com").status_code for i in range(3)] == [401, 401, 429]


def test_throttle_fails_open_when_the_cache_is_down(api_client: APIClient) -> None:
    dead_redis = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.05, "SOCKET_TIMEOUT": 0.05},
        },
        "catalogue": settings.CACHES["catalogue"],
    }
    with override_settings(CACHES=dead_redis, DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS=False):
        statuses = {_login(api_client, "target@example.com").status_code for _ in range(15)}
    assert statuses == {401}


@pytest.mark.parametrize(("field", "value"), [("email", 5), ("password", 12345678), ("email", {"a": 1})])
def test_token_credentials_that_are_not_strings_are_400(api_client: APIClient, field: str, value: Any) -> None:
    """Not a 401 for the e-mail "5": the body is wrong, and the answer says which field."""
    UserFactory(email="a@example.com")
    response = api_client.post(TOKEN_URL, {"email": "a@example.com", "password": PASSWORD, field: value}, format="json")
    assert response.status_code == 400
    assert response.json() == {field: ["Not a valid string: send a JSON string."]}
