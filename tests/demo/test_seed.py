"""`manage.py seed_demo`: the rules its data obeys, determinism, and running it again."""

from datetime import UTC, datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q

from accounts.models import User
from courses.models import Category, Course, Enrollment, Review
from demo.demo_data import DEMO_ACCOUNTS, GENERATED_USER_PASSWORD
from demo.management.commands.seed_demo import Command
from programmes.models import Programme, ProgrammeCourse
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory

pytestmark = pytest.mark.django_db

TINY = ("--programmes", "6", "--courses", "40", "--users", "80", "--enrollments", "400")
HELD = Enrollment.HELD_STATUSES


@pytest.fixture(autouse=True)
def _fixed_anchor(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dates hang off midnight UTC today; a test running across midnight must not see two."""
    monkeypatch.setattr("demo.management.commands.seed_demo.demo_anchor", lambda: datetime(2026, 6, 1, tzinfo=UTC))


def seed(*args: str, size: tuple[str, ...] = TINY) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("seed_demo", *size, "--no-progress", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def table_counts() -> dict[str, int]:
    return {
        model.__name__: model._default_manager.count()
        for model in (User, Programme, Category, Course, ProgrammeCourse, Enrollment, Review)
    }


def snapshot() -> dict[str, list[Any]]:
    """The data set by natural keys (ids may differ between runs on SQLite)."""
    return {
        "users": list(
            User.objects.order_by("email").values_list(
                "email", "first_name", "last_name", "role", "plan", "is_staff", "is_active", "date_joined"
            )
        ),
        "programmes": list(Programme.objects.order_by("slug").values_list("slug", "title", "is_active", "created_at")),
        "courses": list(
            Course.objects.order_by("slug").values_list(
                "slug", "title", "category__slug", "instructor__email", "price", "capacity", "is_published"
            )
        ),
        "links": list(
            ProgrammeCourse.objects.order_by("programme__slug", "position").values_list(
                "programme__slug", "position", "course__slug"
            )
        ),
        "enrollments": list(
            Enrollment.objects.order_by("course__slug", "user__email").values_list(
                "course__slug", "user__email", "status", "progress", "amount_paid", "enrolled_at", "completed_at"
            )
        ),
        "reviews": list(
            Review.objects.order_by("course__slug", "user__email").values_list(
                "course__slug", "user__email", "rating", "comment", "created_at"
            )
        ),
    }


def test_builds_the_requested_sizes() -> None:
    out, _err = seed()
    counts = table_counts()
    assert counts["Programme"] == 6
    assert counts["Course"] == 40
    assert counts["User"] == 80 + len(DEMO_ACCOUNTS)
    assert counts["Enrollment"] == 400
    assert counts["Category"] == 20
    assert 40 <= counts["ProgrammeCourse"] <= 120
    held = Enrollment.objects.filter(status__in=HELD).count()
    assert 0.08 * held <= counts["Review"] <= 0.3 * held
    assert "400 enrollments" in out


def test_data_obeys_the_rules() -> None:
    seed()
    # Statuses, progress and completed_at agree.
    assert set(Enrollment.objects.values_list("status", flat=True).distinct()) == set(Enrollment.Status)
    assert not Enrollment.objects.filter(status="completed").exclude(progress=100, completed_at__isnull=False).exists()
    assert not Enrollment.objects.exclude(status="completed").filter(completed_at__isnull=False).exists()
    assert not Enrollment.objects.filter(status="active", progress=100).exists()
    assert not Enrollment.objects.filter(completed_at__lt=F("enrolled_at")).exists()
    # Nobody enrolls before the course exists or before joining.
    assert not Enrollment.objects.filter(
        Q(enrolled_at__lt=F("course__created_at")) | Q(enrolled_at__lt=F("user__date_joined"))
    ).exists()
    # The price paid is the course's.
    assert not Enrollment.objects.exclude(amount_paid=F("course__price")).exists()
    assert not Course.objects.filter(price__lt=0).exists()
    # Reviews only by users holding a seat in the course, one each (the constraint).
    for user_id, course_id in Review.objects.values_list("user_id", "course_id"):
        assert Enrollment.objects.filter(user_id=user_id, course_id=course_id, status__in=HELD).exists()
    assert not Review.objects.filter(Q(rating__lt=1) | Q(rating__gt=5)).exists()
    # Every course in 1-3 programmes; each programme's positions are 0..n-1.
    per_course = Course.objects.annotate(n=Count("programme_links")).values_list("n", flat=True)
    assert set(per_course) <= {1, 2, 3}
    for programme in Programme.objects.all():
        positions = sorted(programme.course_links.values_list("position", flat=True))
        assert positions == list(range(len(positions)))
    # A mix of published and draft, capped and open, roles and plans.
    assert Course.objects.filter(is_published=False).exists()
    assert Course.objects.filter(capacity__isnull=False).exists()
    assert set(User.objects.values_list("role", flat=True).distinct()) == set(User.Role)
    assert set(User.objects.values_list("plan", flat=True).distinct()) == set(User.Plan)
    assert not Course.objects.exclude(instructor__role="instructor").exists()


def test_capacity_is_never_exceeded_and_popular_capped_courses_fill_up() -> None:
    # Far more demand than seats: every course fills to its limit.
    seed(size=("--programmes", "2", "--courses", "30", "--users", "300", "--enrollments", "9000"))
    capped = Course.objects.filter(capacity__isnull=False).annotate(
        held=Count("enrollments", filter=Q(enrollments__status__in=HELD))
    )
    assert capped
    for course in capped:
        assert course.capacity is not None
        assert course.held <= course.capacity
    assert any(course.held == course.capacity for course in capped)
    # Each course's learners are distinct (the unique constraint held during the load).
    assert Enrollment.objects.count() == Enrollment.objects.values("user", "course").distinct().count()


def test_demo_accounts() -> None:
    seed()
    staff = User.objects.get(email="staff@brisk.local")
    assert staff.is_staff and staff.is_superuser and staff.role == User.Role.STAFF
    assert staff.check_password("brisk-staff-demo")
    instructor = User.objects.get(email="instructor@brisk.local")
    assert instructor.role == User.Role.INSTRUCTOR and instructor.check_password("brisk-instructor-demo")
    assert instructor.taught_courses.filter(is_published=True).exists()
    student = User.objects.get(email="student@brisk.local")
    assert student.role == User.Role.STUDENT and student.check_password("brisk-student-demo")
    assert student.enrollments.count() >= 3
    generated = User.objects.filter(email__endswith="@demo.brisk.local").first()
    assert generated is not None and generated.check_password(GENERATED_USER_PASSWORD)


def test_same_seed_same_data_and_another_seed_other_data() -> None:
    seed()
    first = snapshot()
    seed("--reset")
    assert snapshot() == first
    seed("--reset", "--seed", "7")
    assert snapshot()["enrollments"] != first["enrollments"]


def test_second_run_writes_nothing_and_says_how_to_rebuild() -> None:
    seed()
    before = table_counts()
    _out, err = seed()
    assert table_counts() == before
    assert "nothing was written" in err
    assert "--reset" in err


def test_if_empty_seeds_an_empty_database_and_skips_a_seeded_one() -> None:
    seed("--if-empty")
    before = table_counts()
    assert before["Programme"] == 6
    out, err = seed("--if-empty")
    assert table_counts() == before
    assert "nothing to do" in out
    assert not err


def test_reset_replaces_existing_data_instead_of_adding_to_it() -> None:
    EnrollmentFactory(course=CourseFactory(slug="not-from-the-seed"))
    seed("--reset")
    first = table_counts()
    seed("--reset")
    assert table_counts() == first
    assert first["Programme"] == 6
    assert first["User"] == 80 + len(DEMO_ACCOUNTS)
    assert not Course.objects.filter(slug="not-from-the-seed").exists()


def test_seeds_next_to_accounts_that_are_not_demo_data() -> None:
    """A database with only someone's own account is empty of demo data: it is seeded, and
    the account stays."""
    own = UserFactory(email="me@example.com")
    seed()
    assert User.objects.filter(pk=own.pk).exists()
    assert User.objects.count() == 1 + 80 + len(DEMO_ACCOUNTS)
    assert User.objects.exclude(pk=own.pk).order_by("pk").first().pk > own.pk


def test_new_rows_after_seeding_get_fresh_ids_and_constraints_still_hold() -> None:
    """Ids were assigned by the command: the sequences must have moved past them, and the
    unique constraint dropped during a PostgreSQL load must be back."""
    seed()
    enrollment = EnrollmentFactory()
    assert enrollment.pk > Enrollment.objects.exclude(pk=enrollment.pk).order_by("-pk").values_list("pk", flat=True)[0]
    taken = Enrollment.objects.exclude(pk=enrollment.pk).first()
    assert taken is not None
    with pytest.raises(IntegrityError), transaction.atomic():
        Enrollment.objects.create(user_id=taken.user_id, course_id=taken.course_id, amount_paid=0)


@pytest.mark.postgres
def test_postgres_load_restores_every_index_and_constraint() -> None:
    def schema() -> set[tuple[str, str]]:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index
                WHERE indrelid = ANY(%(tables)s::regclass[])
                UNION ALL
                SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
                WHERE conrelid = ANY(%(tables)s::regclass[])
                """,
                {"tables": ["courses_enrollment", "courses_review", "courses_course", "accounts_user"]},
            )
            return set(cursor.fetchall())

    before = schema()
    assert any("gin_trgm_ops" in definition for _name, definition in before)
    seed()
    assert schema() == before


def test_progress_bars_go_to_stderr() -> None:
    out, err = StringIO(), StringIO()
    call_command("seed_demo", *TINY, stdout=out, stderr=err)
    assert "enrollments" in err.getvalue() and "100%" in err.getvalue()
    assert "100%" not in out.getvalue()


def test_help_documents_the_accounts_and_running_twice() -> None:
    text = Command().create_parser("manage.py", "seed_demo").format_help()
    for account in DEMO_ACCOUNTS:
        assert account.email in text and account.password in text
    assert "--reset" in text and "exits 0" in text
