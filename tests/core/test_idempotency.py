"""`Idempotency-Key` (core.idempotency) on a small view of its own, and on registration."""

import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import include, path
from django.utils import timezone
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from accounts.models import User
from core.idempotency import idempotent
from core.models import IdempotencyKey
from courses.models import Category
from tests.conftest import RunInThreads
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


class CategoryCreateView(APIView):
    """A write with a visible effect: one Category per call."""

    permission_classes = (AllowAny,)

    @idempotent
    def post(self, request: Request) -> Response:
        name = request.data.get("name", "")
        if not name:
            return Response({"name": ["This field is required."]}, status=status.HTTP_400_BAD_REQUEST)
        if name == "explode":
            raise ValueError("boom")
        category = Category.objects.create(name=name, slug=f"c-{Category.objects.count()}")
        return Response({"id": category.pk, "name": category.name, "price": "1.50"}, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("categories/", CategoryCreateView.as_view()),
    path("other/", CategoryCreateView.as_view()),
    path("", include("accounts.urls")),
]

URL = "/categories/"


def post(client: APIClient, body: dict[str, Any], key: str | None = "key-1", url: str = URL) -> Any:
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(url, body, **headers)


def test_without_a_key_every_request_acts(api_client: APIClient) -> None:
    post(api_client, {"name": "a"}, key=None)
    post(api_client, {"name": "a"}, key=None)
    assert Category.objects.count() == 2
    assert not IdempotencyKey.objects.exists()


def test_same_key_and_body_replays_the_first_answer(api_client: APIClient) -> None:
    first = post(api_client, {"name": "Data", "extra": [1, 2]})
    second = post(api_client, {"extra": [1, 2], "name": "Data"})  # same body, other key order
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert Category.objects.count() == 1


def test_same_key_other_body_is_422_without_effect(api_client: APIClient) -> None:
    post(api_client, {"name": "Data"})
    response = post(api_client, {"name": "Art"})
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["detail"]
    assert list(Category.objects.values_list("name", flat=True)) == ["Data"]


def test_same_key_other_path_is_422(api_client: APIClient) -> None:
    post(api_client, {"name": "Data"})
    assert post(api_client, {"name": "Data"}, url="/other/").status_code == 422


def test_keys_are_per_caller(api_client: APIClient) -> None:
    alice, bob = UserFactory(), UserFactory()
    api_client.force_authenticate(alice)
    post(api_client, {"name": "Data"})
    api_client.force_authenticate(bob)
    assert post(api_client, {"name": "Data"}).headers.get("Idempotent-Replayed") is None
    api_client.force_authenticate(None)
    assert post(api_client, {"name": "Data"}).headers.get("Idempotent-Replayed") is None
    assert Category.objects.count() == 3
    assert IdempotencyKey.objects.count() == 3


def test_a_failed_request_leaves_the_key_free(api_client: APIClient) -> None:
    assert post(api_client, {"name": ""}).status_code == 400
    assert not IdempotencyKey.objects.exists()
    assert post(api_client, {"name": "Fixed"}).status_code == 201
    assert Category.objects.count() == 1


def test_an_exception_rolls_back_the_key_and_the_effect(api_client: APIClient) -> None:
    api_client.raise_request_exception = False
    assert post(api_client, {"name": "explode"}).status_code == 500
    assert not IdempotencyKey.objects.exists()


@pytest.mark.parametrize("key", ["", "   ", "x" * 256, "caf\u00e9"])
def test_bad_keys_are_400(api_client: APIClient, key: str) -> None:
    response = post(api_client, {"name": "Data"}, key=key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert not Category.objects.exists()


def test_get_ignores_the_key() -> None:
    assert APIClient().get(URL, HTTP_IDEMPOTENCY_KEY="k").status_code == 405


def test_query_budget(api_client: APIClient, django_assert_num_queries: Any) -> None:
    # The view's own 2 (count, INSERT) + SAVEPOINT, claim INSERT ... ON CONFLICT DO NOTHING,
    # read back, store the answer, RELEASE.
    with django_assert_num_queries(7):
        post(api_client, {"name": "Data"})
    # Replay: SAVEPOINT, claim, read back, RELEASE; the view does not run.
    with django_assert_num_queries(4):
        post(api_client, {"name": "Data"})


def test_keys_are_kept_24_hours_then_purged(api_client: APIClient) -> None:
    post(api_client, {"name": "Old"}, key="old")
    post(api_client, {"name": "New"}, key="new")
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
    IdempotencyKey.objects.filter(key="new").update(created_at=timezone.now() - timedelta(hours=23))
    out = io.StringIO()
    call_command("purge_idempotency_keys", stdout=out)
    assert "Deleted 1 " in out.getvalue()
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]


def test_registration_replays(api_client: APIClient) -> None:
    body = {"email": "ada@example.com", "password": "correct-horse-battery-staple"}
    first = api_client.post("/auth/register/", body, HTTP_IDEMPOTENCY_KEY="signup-1")
    second = api_client.post("/auth/register/", body, HTTP_IDEMPOTENCY_KEY="signup-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert User.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_act_once(in_threads: RunInThreads) -> None:
    user = UserFactory()
    n = 12

    def run(i: int) -> Any:
        client = APIClient()
        client.force_authenticate(user)
        return post(client, {"name": "Race"}, key="race")

    responses = in_threads(n, run)
    assert Category.objects.count() == 1
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert sum(1 for r in responses if r.headers.get("Idempotent-Replayed")) == n - 1
