"""GET and PATCH /me/."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from courses.models import Enrollment
from tests.factories import EnrollmentFactory, UserFactory

pytestmark = pytest.mark.django_db

ME_URL = "/me/"


@pytest.fixture
def learner():  # type: ignore[no-untyped-def]
    return UserFactory(first_name="Ada", last_name="Lovelace")


@pytest.fixture
def client_of(learner: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(learner)
    return client


def test_me_shape_and_enrollment_count(client_of: APIClient, learner: Any) -> None:
    EnrollmentFactory.create_batch(2, user=learner)
    EnrollmentFactory(user=learner, status=Enrollment.Status.COMPLETED)
    EnrollmentFactory(user=learner, status=Enrollment.Status.CANCELLED)
    EnrollmentFactory()  # someone else's
    body = client_of.get(ME_URL).json()
    assert body == {
        "id": learner.pk,
        "email": learner.email,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "role": "student",
        "plan": "free",
        "enrollment_count": 3,  # active and completed, as a course counts them
        "email_verified": False,
        "date_joined": body["date_joined"],
    }
    assert body["date_joined"].endswith(("Z", "+00:00"))


@pytest.mark.parametrize("enrollments", [0, 30])
def test_me_query_budget(client_of: APIClient, learner: Any, django_assert_num_queries: Any, enrollments: int) -> None:
    EnrollmentFactory.create_batch(enrollments, user=learner)
    # force_authenticate skips the user-row query a Bearer token costs (test_auth checks
    # that one); 1 query: the user with its enrollment_count annotation.
    with django_assert_num_queries(1):
        response = client_of.get(ME_URL)
    assert response.json()["enrollment_count"] == enrollments


def test_me_with_a_real_token_costs_two_queries(learner: Any, django_assert_num_queries: Any) -> None:
    from rest_framework_simplejwt.tokens import AccessToken

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(learner)}")
    with django_assert_num_queries(2):  # the user row (authentication) + the profile
        assert client.get(ME_URL).status_code == 200


def test_me_needs_authentication(api_client: APIClient) -> None:
    assert api_client.get(ME_URL).status_code == 401
    assert api_client.patch(ME_URL, {"first_name": "X"}).status_code == 401


def test_patch_changes_names_only(client_of: APIClient, learner: Any) -> None:
    before = type(learner).objects.get(pk=learner.pk)
    response = client_of.patch(
        ME_URL,
        {
            "first_name": "Augusta",
            "last_name": "King",
            "email": "evil@example.com",
            "role": "staff",
            "plan": "pro",
            "is_staff": True,
            "id": 999,
            "date_joined": "2000-01-01T00:00:00Z",
            "enrollment_count": 42,
            "password": "new-password-123",
        },
    )
    assert response.status_code == 200
    assert (response.json()["first_name"], response.json()["last_name"]) == ("Augusta", "King")
    after = type(learner).objects.get(pk=learner.pk)
    assert (after.first_name, after.last_name) == ("Augusta", "King")
    for field in ("email", "role", "plan", "is_staff", "is_superuser", "date_joined", "password", "last_login"):
        assert getattr(after, field) == getattr(before, field), field


def test_patch_one_name_keeps_the_other(client_of: APIClient, learner: Any) -> None:
    assert client_of.patch(ME_URL, {"last_name": "Byron"}).json()["first_name"] == "Ada"
    learner.refresh_from_db()
    assert (learner.first_name, learner.last_name) == ("Ada", "Byron")


def test_patch_too_long_name_is_400(client_of: APIClient, learner: Any) -> None:
    response = client_of.patch(ME_URL, {"first_name": "x" * 151})
    assert response.status_code == 400
    assert "first_name" in response.json()
    learner.refresh_from_db()
    assert learner.first_name == "Ada"


@pytest.mark.parametrize("enrollments", [0, 30])
def test_patch_query_budget(
    client_of: APIClient, learner: Any, django_assert_num_queries: Any, enrollments: int
) -> None:
    EnrollmentFactory.create_batch(enrollments, user=learner)
    # SAVEPOINT + UPDATE + RELEASE (user_update_names) + the profile with its annotation.
    with django_assert_num_queries(4):
        response = client_of.patch(ME_URL, {"first_name": "Grace"})
    assert response.status_code == 200
    assert response.json()["enrollment_count"] == enrollments


@pytest.mark.parametrize("method", ["put", "delete", "post"])
def test_other_methods_are_405(client_of: APIClient, method: str) -> None:
    assert getattr(client_of, method)(ME_URL, {}).status_code == 405


@pytest.mark.parametrize(("field", "value"), [("last_name", 0), ("first_name", 1.5), ("first_name", ["Ada"])])
def test_patch_a_name_that_is_not_a_json_string_is_400(
    client_of: APIClient, learner: Any, field: str, value: Any
) -> None:
    """Found by the contract fuzzer: DRF turned `{"last_name": 0}` into the name "0"."""
    response = client_of.patch(ME_URL, {field: value}, format="json")
    assert response.status_code == 400
    assert response.json() == {field: ["Not a valid string: send a JSON string."]}
    learner.refresh_from_db()
    assert learner.first_name == "Ada"
