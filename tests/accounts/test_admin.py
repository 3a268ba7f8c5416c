"""The user admin: e-mail login without a username, exact query budgets, search, filters."""

from typing import Any

import pytest
from django.contrib.admin.sites import site
from django.contrib.contenttypes.models import ContentType
from django.test import Client

from accounts.models import User
from tests.factories import InstructorFactory, UserFactory

pytestmark = pytest.mark.django_db

AUTH = 2  # session + user
USERS_URL = "/admin/accounts/user/"


@pytest.fixture(autouse=True)
def _warm_content_types() -> None:
    """Cached per process: a running server has them already."""
    ContentType.objects.get_for_models(*site._registry)


@pytest.fixture
def count_queries(on_postgres: bool) -> int:
    """The estimating paginator on a small table: the planner's figure and a bounded count
    on PostgreSQL, a count elsewhere."""
    return 2 if on_postgres else 1


@pytest.mark.parametrize("rows", [1, 50])
def test_changelist_budget(admin_client: Client, django_assert_num_queries: Any, count_queries: int, rows: int) -> None:
    UserFactory.create_batch(rows)
    with django_assert_num_queries(AUTH + count_queries + 1):  # + count + page
        response = admin_client.get(USERS_URL)
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == min(rows + 1, 50)  # and the admin; 50 a page


@pytest.mark.parametrize("rows", [1, 50])
def test_change_form_budget(admin_client: Client, django_assert_num_queries: Any, rows: int) -> None:
    users = UserFactory.create_batch(rows)
    # + the user + the groups and permissions of the two pickers, each once: (available
    # permissions, user's permissions, available groups, user's groups)
    with django_assert_num_queries(AUTH + 1 + 4):
        response = admin_client.get(f"{USERS_URL}{users[0].pk}/change/")
    assert response.status_code == 200
    content = response.content.decode()
    assert 'name="email"' in content
    assert 'name="username"' not in content


def test_add_form_creates_a_user_by_email(admin_client: Client) -> None:
    response = admin_client.get(f"{USERS_URL}add/")
    assert response.status_code == 200
    assert 'name="username"' not in response.content.decode()
    response = admin_client.post(
        f"{USERS_URL}add/",
        {
            "email": "new.teacher@example.com",
            "role": "instructor",
            "plan": "pro",
            "usable_password": "true",
            "password1": "a-long-enough-password-42",
            "password2": "a-long-enough-password-42",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(email="new.teacher@example.com")
    assert user.role == User.Role.INSTRUCTOR and user.plan == User.Plan.PRO
    assert user.check_password("a-long-enough-password-42")


def test_change_form_saves_role_and_plan(admin_client: Client) -> None:
    user = UserFactory()
    response = admin_client.get(f"{USERS_URL}{user.pk}/change/")
    form = response.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    data.update(
        {
            "role": "instructor",
            "plan": "pro",
            "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
            "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
            "groups": [],
            "user_permissions": [],
        }
    )
    response = admin_client.post(f"{USERS_URL}{user.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    user.refresh_from_db()
    assert (user.role, user.plan) == ("instructor", "pro")


def test_search_by_email(admin_client: Client) -> None:
    wanted = UserFactory(email="amira.hassan@example.com")
    UserFactory(email="someone.else@example.com")
    response = admin_client.get(USERS_URL, {"q": "HASSAN"})
    assert response.status_code == 200
    assert [u.pk for u in response.context["cl"].result_list] == [wanted.pk]


def test_search_with_many_matches_gives_the_same_rows(admin_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past SEARCH_ID_LIMIT matches the search stays a plain filter: same rows."""
    wanted = {UserFactory(email=f"wide{n}@example.com").pk for n in range(4)}
    precise = admin_client.get(USERS_URL, {"q": "wide"}).context["cl"].result_list
    monkeypatch.setattr(site._registry[User], "SEARCH_ID_LIMIT", 2)
    broad = admin_client.get(USERS_URL, {"q": "wide", "role__exact": "student"}).context["cl"].result_list
    assert {u.pk for u in precise} == wanted
    assert {u.pk for u in broad} == wanted


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"role__exact": "instructor"}, {"teacher@example.com"}),
        ({"plan__exact": "pro"}, {"pro@example.com"}),
        ({"is_staff__exact": "1"}, {"admin@example.com"}),
    ],
)
def test_filters(admin_client: Client, params: dict[str, str], expected: set[str]) -> None:
    InstructorFactory(email="teacher@example.com")
    UserFactory(email="pro@example.com", plan=User.Plan.PRO)
    response = admin_client.get(USERS_URL, params)
    assert response.status_code == 200
    assert {u.email for u in response.context["cl"].result_list} == expected


def test_autocomplete_finds_users_by_email(admin_client: Client) -> None:
    UserFactory(email="amira.hassan@example.com")
    UserFactory(email="ben.smith@example.com")
    response = admin_client.get(
        "/admin/autocomplete/",
        {"app_label": "courses", "model_name": "enrollment", "field_name": "user", "term": "amira"},
    )
    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == ["amira.hassan@example.com"]
