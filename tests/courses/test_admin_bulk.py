"""The admin at any size: pages linked only as deep as they can be served, actions on big
selections batched or refused up front (with the command that does them offline), the
CSV export's first line before any query, and outages shown as admin pages."""

import csv
import io
from typing import Any

import pytest
from django.contrib.admin.sites import site
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.db import OperationalError
from django.test import Client

from core import admin_actions as core_admin_actions
from core.admin_pagination import EstimatedCountPaginator
from core.batches import values_in_chunks
from courses import admin as courses_admin
from courses.admin import EnrollmentAdmin
from courses.bulk import enrollments_csv
from courses.models import Course, Enrollment
from tests.factories import CategoryFactory, CourseFactory, EnrollmentFactory

pytestmark = pytest.mark.django_db

AUTH = 2  # session + user
ENROLLMENTS_URL = "/admin/courses/enrollment/"
COURSES_URL = "/admin/courses/course/"


@pytest.fixture(autouse=True)
def _warm_content_types() -> None:
    ContentType.objects.get_for_models(*site._registry)


@pytest.fixture
def count_queries(on_postgres: bool) -> int:
    """The estimating paginator on a small, unfiltered table (see test_admin.py)."""
    return 2 if on_postgres else 1


def post_all(client: Client, url: str, action: str, query: str = "") -> Any:
    """The action on "select all" of the changelist at `url` + `query`."""
    return client.post(url + query, {"action": action, "select_across": "1", "index": "0", "_selected_action": ["0"]})


def messages_of(client: Client, url: str) -> list[str]:
    return [str(m) for m in client.get(url).context["messages"]]


# --- Pages: linked only as deep as they can be served ----------------------------------


def test_changelist_links_and_serves_pages_up_to_the_bound(
    admin_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(EnrollmentAdmin, "list_per_page", 2)
    monkeypatch.setattr(EstimatedCountPaginator, "max_rows_linked", 4)
    EnrollmentFactory.create_batch(7)
    first = admin_client.get(ENROLLMENTS_URL)
    assert first.context["cl"].paginator.num_pages == 2  # 4 pages of rows, 2 linked
    assert first.context["cl"].result_count == 7
    last = admin_client.get(ENROLLMENTS_URL, {"p": 2})
    assert last.status_code == 200
    expected = list(Enrollment.objects.order_by("-enrolled_at", "id").values_list("pk", flat=True))
    assert [e.pk for e in last.context["cl"].result_list] == expected[2:4]
    # A page past the bound is the admin's "invalid page" redirect, never a deep OFFSET.
    deep = admin_client.get(ENROLLMENTS_URL, {"p": 4})
    assert deep.status_code == 302
    assert deep["Location"].endswith("?e=1")


def test_the_bound_is_two_hundred_pages_of_fifty() -> None:
    paginator = EstimatedCountPaginator(range(2_000_000), 50)
    assert paginator.num_pages == 200
    assert EstimatedCountPaginator(range(120), 50).num_pages == 3


# --- Actions: batched within the limit -------------------------------------------------


def test_select_all_cancels_in_batches(
    admin_client: Client, django_assert_num_queries: Any, count_queries: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(courses_admin, "ACTION_BATCH_SIZE", 2)
    active = EnrollmentFactory.create_batch(5)
    completed = EnrollmentFactory(status=Enrollment.Status.COMPLETED, progress=100)
    # + the count stopped at the limit + 3 batches (2, 2, 1 rows) of ids and UPDATE
    with django_assert_num_queries(AUTH + count_queries + 1 + 3 * 2):
        response = post_all(admin_client, ENROLLMENTS_URL, "cancel")
    assert response.status_code == 302
    assert Enrollment.objects.filter(pk__in=[e.pk for e in active], status="cancelled").count() == 5
    completed.refresh_from_db()
    assert completed.status == Enrollment.Status.COMPLETED
    assert any("Cancelled 5 active" in m for m in messages_of(admin_client, ENROLLMENTS_URL))


def test_select_all_keeps_the_changelist_filter(admin_client: Client) -> None:
    course = CourseFactory()
    mine = EnrollmentFactory.create_batch(2, course=course)
    other = EnrollmentFactory()
    post_all(admin_client, ENROLLMENTS_URL, "cancel", f"?q={course.title}")
    assert Enrollment.objects.filter(pk__in=[e.pk for e in mine], status="cancelled").count() == 2
    other.refresh_from_db()
    assert other.status == Enrollment.Status.ACTIVE


# --- Actions: refused past the limit ---------------------------------------------------


@pytest.mark.parametrize(
    ("url", "action", "command"),
    [
        (ENROLLMENTS_URL, "cancel", "cancel_enrollments"),
        (COURSES_URL, "publish", "publish_courses"),
        (COURSES_URL, "unpublish", "publish_courses --unpublish"),
    ],
)
def test_a_selection_past_the_limit_is_refused_up_front(
    admin_client: Client, monkeypatch: pytest.MonkeyPatch, url: str, action: str, command: str
) -> None:
    monkeypatch.setattr(courses_admin, "ACTION_ROW_LIMIT", 3)
    EnrollmentFactory.create_batch(4)  # four enrollments, four courses
    Course.objects.update(is_published=action == "unpublish")
    before = (
        list(Enrollment.objects.values_list("status", flat=True)),
        list(Course.objects.values_list("is_published", flat=True)),
    )
    response = post_all(admin_client, url, action)
    assert response.status_code == 302
    after = (
        list(Enrollment.objects.values_list("status", flat=True)),
        list(Course.objects.values_list("is_published", flat=True)),
    )
    assert after == before
    (message,) = messages_of(admin_client, url)
    assert "limited to 3 rows" in message
    assert f"python manage.py {command}`" in message


def test_ticked_rows_are_counted_without_a_query(
    admin_client: Client, django_assert_num_queries: Any, count_queries: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(courses_admin, "ACTION_ROW_LIMIT", 1)
    pks = [e.pk for e in EnrollmentFactory.create_batch(2)]
    with django_assert_num_queries(AUTH + count_queries):  # refused: no count, no write
        admin_client.post(ENROLLMENTS_URL, {"action": "cancel", "_selected_action": pks, "index": "0"})
    assert not Enrollment.objects.filter(status="cancelled").exists()


def test_an_export_past_its_limit_is_refused(admin_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(courses_admin, "EXPORT_ROW_LIMIT", 2)
    EnrollmentFactory.create_batch(3)
    response = post_all(admin_client, ENROLLMENTS_URL, "export_csv")
    assert response.status_code == 302
    (message,) = messages_of(admin_client, ENROLLMENTS_URL)
    assert "limited to 2 rows" in message and "export_enrollments" in message


# --- The export: first line before any query, then short chunks -------------------------


def test_export_writes_its_header_before_any_query(django_assert_num_queries: Any) -> None:
    EnrollmentFactory.create_batch(3)
    lines = enrollments_csv(Enrollment.objects.all(), chunk_size=2)
    with django_assert_num_queries(0):
        assert next(lines).startswith("id,user_email,")
    with django_assert_num_queries(2):  # chunks of 2 and 1 rows
        assert len(list(lines)) == 3


def test_chunks_walk_the_keys_without_overlap(django_assert_num_queries: Any) -> None:
    enrollments = EnrollmentFactory.create_batch(4)
    with django_assert_num_queries(3):  # 2 + 2 + an empty one that ends it
        rows = list(values_in_chunks(Enrollment.objects.all(), ("status",), chunk_size=2))
    assert [row[0] for row in rows] == sorted(e.pk for e in enrollments)


def test_select_all_export_streams_every_row(admin_client: Client) -> None:
    enrollments = EnrollmentFactory.create_batch(3)
    response = post_all(admin_client, ENROLLMENTS_URL, "export_csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [int(r["id"]) for r in rows] == sorted(e.pk for e in enrollments)


# --- The offline commands --------------------------------------------------------------


def test_cancel_enrollments_command(django_assert_num_queries: Any) -> None:
    course = CourseFactory()
    mine = EnrollmentFactory.create_batch(3, course=course)
    completed = EnrollmentFactory(course=course, status=Enrollment.Status.COMPLETED, progress=100)
    other = EnrollmentFactory()
    out = io.StringIO()
    call_command("cancel_enrollments", "--course", str(course.pk), "--batch-size", "2", stdout=out)
    assert "Cancelled 3 active" in out.getvalue()
    assert Enrollment.objects.filter(pk__in=[e.pk for e in mine], status="cancelled").count() == 3
    for untouched, status in ((completed, "completed"), (other, "active")):
        untouched.refresh_from_db()
        assert untouched.status == status


def test_enrollment_commands_want_a_selection() -> None:
    with pytest.raises(CommandError, match="--all"):
        call_command("cancel_enrollments")
    with pytest.raises(CommandError, match="--all"):
        call_command("publish_courses")


def test_export_enrollments_command(tmp_path: Any) -> None:
    cancelled = EnrollmentFactory.create_batch(2, status=Enrollment.Status.CANCELLED)
    EnrollmentFactory()
    out = io.StringIO()
    call_command("export_enrollments", "--status", "cancelled", stdout=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [int(r["id"]) for r in rows] == sorted(e.pk for e in cancelled)
    target = tmp_path / "all.csv"
    call_command("export_enrollments", "--all", "--output", str(target))
    assert len(list(csv.DictReader(io.StringIO(target.read_text())))) == 3


def test_publish_courses_command() -> None:
    category = CategoryFactory()
    mine = CourseFactory.create_batch(3, category=category, is_published=True)
    other = CourseFactory(is_published=True)
    out = io.StringIO()
    call_command("publish_courses", "--unpublish", "--category", category.slug, "--batch-size", "2", stdout=out)
    assert "Unpublished 3 course(s)" in out.getvalue()
    assert not Course.objects.filter(pk__in=[c.pk for c in mine], is_published=True).exists()
    other.refresh_from_db()
    assert other.is_published
    call_command("publish_courses", "--all", stdout=io.StringIO())
    assert Course.objects.filter(is_published=True).count() == 4


# --- Outages inside the admin are admin pages ------------------------------------------


def test_a_database_outage_inside_the_admin_is_an_admin_page(
    admin_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def timed_out(*args: Any, **kwargs: Any) -> int:
        raise OperationalError("canceling statement due to statement timeout")

    monkeypatch.setattr(courses_admin, "enrollments_cancel", timed_out)
    enrollment = EnrollmentFactory()
    response = admin_client.post(
        ENROLLMENTS_URL, {"action": "cancel", "_selected_action": [enrollment.pk], "index": "0"}
    )
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"] == "5"
    body = response.content.decode()
    assert "The database is unavailable" in body and ENROLLMENTS_URL in body


def test_an_outage_in_the_api_stays_json(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def timed_out(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("canceling statement due to statement timeout")

    monkeypatch.setattr("courses.views.CourseViewSet.get_queryset", timed_out)
    response = client.get("/courses/")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"


# --- "Delete selected" is bounded too --------------------------------------------------


def test_delete_selected_past_its_limit_is_refused(admin_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(core_admin_actions, "DELETE_ROW_LIMIT", 2)
    EnrollmentFactory.create_batch(3)
    response = post_all(admin_client, ENROLLMENTS_URL, "delete_selected")
    assert response.status_code == 302
    assert Enrollment.objects.count() == 3
    (message,) = messages_of(admin_client, ENROLLMENTS_URL)
    assert "limited to 2 rows" in message


def test_delete_selected_within_its_limit_asks_then_deletes(admin_client: Client) -> None:
    enrollments = EnrollmentFactory.create_batch(2)
    pks = [e.pk for e in enrollments]
    confirm = admin_client.post(ENROLLMENTS_URL, {"action": "delete_selected", "_selected_action": pks, "index": "0"})
    assert confirm.status_code == 200  # Django's confirmation page
    done = admin_client.post(
        ENROLLMENTS_URL, {"action": "delete_selected", "_selected_action": pks, "post": "yes", "index": "0"}
    )
    assert done.status_code == 302
    assert not Enrollment.objects.filter(pk__in=pks).exists()
