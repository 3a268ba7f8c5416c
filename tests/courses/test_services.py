"""Course, enrollment and review services: rules, exact query budgets, concurrency.

Budgets count the SAVEPOINT/RELEASE pair of each service's transaction: a test runs
inside a transaction, so `@transaction.atomic` is a savepoint here (BEGIN/COMMIT, not
logged as queries, in production).
"""

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from core.errors import Conflict, NotFound
from courses.models import Course, Enrollment, Review
from courses.services import (
    MAX_BULK_ENROLLMENT,
    course_create,
    course_delete,
    course_update,
    enrollment_cancel,
    enrollment_create,
    enrollment_update_progress,
    enrollments_bulk_create,
    review_create,
)
from programmes.models import ProgrammeCourse
from tests.conftest import RunInThreads
from tests.factories import (
    CategoryFactory,
    CourseFactory,
    EnrollmentFactory,
    InstructorFactory,
    ProgrammeFactory,
    ReviewFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

HELD = Enrollment.HELD_STATUSES


def errors(exc_info: Any) -> dict[str, Any]:
    """The field errors of a raised ValidationError."""
    return exc_info.value.message_dict


def create_kwargs(**overrides: Any) -> dict[str, Any]:
    return {
        "title": "Intro to Rust",
        "slug": "intro-to-rust",
        "category": CategoryFactory(),
        "price": Decimal("19.00"),
        **overrides,
    }


# --- course_create ---------------------------------------------------------------------


def test_instructor_always_becomes_the_instructor() -> None:
    me, other = InstructorFactory(), InstructorFactory()
    course = course_create(actor=me, instructor=other, **create_kwargs())
    assert Course.objects.get(pk=course.pk).instructor_id == me.pk


def test_staff_chooses_the_instructor_or_is_it() -> None:
    staff, teacher = StaffFactory(), InstructorFactory()
    chosen = course_create(actor=staff, instructor=teacher, **create_kwargs())
    default = course_create(actor=staff, **create_kwargs(slug="other"))
    assert (chosen.instructor_id, default.instructor_id) == (teacher.pk, staff.pk)


def test_staff_cannot_make_a_student_the_instructor() -> None:
    with pytest.raises(ValidationError) as exc:
        course_create(actor=StaffFactory(), instructor=UserFactory(), **create_kwargs())
    assert "instructor" in exc.value.message_dict
    assert not Course.objects.exists()


def test_student_cannot_create() -> None:
    with pytest.raises(PermissionDenied):
        course_create(actor=UserFactory(), **create_kwargs())
    assert not Course.objects.exists()


def test_duplicate_slug_and_negative_price_are_400() -> None:
    CourseFactory(slug="taken")
    with pytest.raises(ValidationError) as exc:
        course_create(actor=InstructorFactory(), **create_kwargs(slug="taken"))
    assert "slug" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        course_create(actor=InstructorFactory(), **create_kwargs(price=Decimal("-0.01")))
    assert "price" in exc.value.message_dict
    assert Course.objects.count() == 1


def test_programmes_get_the_course_at_their_end() -> None:
    first, second, empty = ProgrammeFactory(), ProgrammeFactory(), ProgrammeFactory()
    CourseFactory.create_batch(3, programmes=[first])
    CourseFactory(programmes=[second])
    course = course_create(actor=InstructorFactory(), programmes=[first.pk, second.pk, empty.pk], **create_kwargs())
    positions = dict(ProgrammeCourse.objects.filter(course=course).values_list("programme_id", "position"))
    assert positions == {first.pk: 3, second.pk: 1, empty.pk: 0}


def test_unknown_programme_is_400_and_nothing_is_created() -> None:
    programme = ProgrammeFactory()
    with pytest.raises(ValidationError) as exc:
        course_create(actor=InstructorFactory(), programmes=[programme.pk, 999_999], **create_kwargs())
    assert "999999" in str(errors(exc)["programmes"])
    assert not Course.objects.exists()


@pytest.mark.parametrize("programmes", [1, 30])
def test_course_create_query_budget(django_assert_num_queries: Any, programmes: int) -> None:
    ids = [p.pk for p in ProgrammeFactory.create_batch(programmes)]
    actor, kwargs = InstructorFactory(), create_kwargs()
    # SAVEPOINT, lock programmes, INSERT course, programme ends, INSERT links, RELEASE.
    with django_assert_num_queries(6):
        course = course_create(actor=actor, programmes=ids, **kwargs)
    assert ProgrammeCourse.objects.filter(course=course).count() == programmes


def test_course_create_without_programmes_query_budget(django_assert_num_queries: Any) -> None:
    actor, kwargs = InstructorFactory(), create_kwargs()
    with django_assert_num_queries(3):  # SAVEPOINT, INSERT, RELEASE
        course_create(actor=actor, **kwargs)


# --- course_update / course_delete -----------------------------------------------------


def test_update_fields_and_slug_conflict() -> None:
    CourseFactory(slug="taken")
    course = CourseFactory(slug="mine", price=Decimal("10.00"))
    course_update(course=course, actor=course.instructor, fields={"title": "New", "price": Decimal("0.00")})
    course.refresh_from_db()
    assert (course.title, course.price) == ("New", Decimal("0.00"))
    with pytest.raises(ValidationError) as exc:
        course_update(course=course, actor=course.instructor, fields={"slug": "taken", "title": "Lost"})
    assert "slug" in exc.value.message_dict
    course.refresh_from_db()
    assert (course.slug, course.title) == ("mine", "New")


def test_update_keeps_own_slug() -> None:
    """Sending a course's own slug back is no conflict with itself."""
    course = CourseFactory(slug="mine", title="Old")
    course_update(course=course, actor=course.instructor, fields={"slug": "mine", "title": "New"})
    assert Course.objects.filter(slug="mine").values_list("pk", "title").get() == (course.pk, "New")


def test_instructor_field_honoured_for_staff_only() -> None:
    course = CourseFactory()
    owner, other = course.instructor, InstructorFactory()
    course_update(course=course, actor=owner, fields={"instructor": other})
    assert Course.objects.get(pk=course.pk).instructor_id == owner.pk
    course_update(course=course, actor=StaffFactory(), fields={"instructor": other})
    assert Course.objects.get(pk=course.pk).instructor_id == other.pk


def test_capacity_cannot_go_below_held_seats() -> None:
    course = CourseFactory(capacity=10)
    EnrollmentFactory.create_batch(2, course=course)
    EnrollmentFactory(course=course, status=Enrollment.Status.COMPLETED)
    EnrollmentFactory.create_batch(3, course=course, status=Enrollment.Status.CANCELLED)
    with pytest.raises(ValidationError) as exc:
        course_update(course=course, actor=course.instructor, fields={"capacity": 2})
    assert "3 seats" in str(errors(exc)["capacity"])
    assert Course.objects.get(pk=course.pk).capacity == 10
    course_update(course=course, actor=course.instructor, fields={"capacity": 3})
    assert Course.objects.get(pk=course.pk).capacity == 3
    course_update(course=course, actor=course.instructor, fields={"capacity": None})
    assert Course.objects.get(pk=course.pk).capacity is None


def test_update_replaces_programmes_new_ones_at_the_end() -> None:
    keep, drop, add = ProgrammeFactory(), ProgrammeFactory(), ProgrammeFactory()
    CourseFactory.create_batch(2, programmes=[add])
    course = CourseFactory(programmes=[keep, drop])
    course_update(course=course, actor=course.instructor, fields={"programmes": [keep.pk, add.pk]})
    links = dict(ProgrammeCourse.objects.filter(course=course).values_list("programme_id", "position"))
    assert links == {keep.pk: 0, add.pk: 2}


def test_update_unknown_field_is_a_programming_error() -> None:
    course = CourseFactory()
    with pytest.raises(TypeError):
        course_update(course=course, actor=course.instructor, fields={"created_at": timezone.now()})


@pytest.mark.parametrize("enrollments", [1, 30])
def test_course_update_query_budget(django_assert_num_queries: Any, enrollments: int) -> None:
    course = CourseFactory(capacity=100)
    EnrollmentFactory.create_batch(enrollments, course=course)
    fields = {"title": "T", "slug": "new-slug", "price": Decimal("5.00"), "capacity": 50}
    # SAVEPOINT, lock course, count held, UPDATE, RELEASE.
    with django_assert_num_queries(5):
        course_update(course=course, actor=course.instructor, fields=fields)


def test_course_update_programmes_query_budget(django_assert_num_queries: Any) -> None:
    old, new = ProgrammeFactory.create_batch(3), ProgrammeFactory.create_batch(3)
    course = CourseFactory(programmes=old)
    # SAVEPOINT, current links, DELETE dropped, lock new programmes, their ends, INSERT, RELEASE.
    with django_assert_num_queries(7):
        course_update(course=course, actor=course.instructor, fields={"programmes": [p.pk for p in new]})
    assert ProgrammeCourse.objects.filter(course=course).count() == 3


def test_delete_with_enrollments_is_409_and_deletes_nothing() -> None:
    course = CourseFactory(programmes=[ProgrammeFactory()])
    EnrollmentFactory(course=course, status=Enrollment.Status.CANCELLED)
    ReviewFactory(course=course)
    with pytest.raises(Conflict) as exc:
        course_delete(course=course)
    assert "1 enrollment" in exc.value.message
    assert Course.objects.filter(pk=course.pk).exists()
    assert Review.objects.filter(course=course).count() == 1
    assert ProgrammeCourse.objects.filter(course=course).count() == 1


def test_delete_query_budget(django_assert_num_queries: Any) -> None:
    course = CourseFactory(programmes=ProgrammeFactory.create_batch(3))
    ReviewFactory.create_batch(3, course=course)
    # SAVEPOINT, lock, count enrollments, then Django's collector: enrollments (PROTECT),
    # DELETE reviews, DELETE programme links, DELETE course; RELEASE.
    with django_assert_num_queries(8):
        course_delete(course=course)
    assert not Course.objects.filter(pk=course.pk).exists()
    assert not Review.objects.exists()
    assert not ProgrammeCourse.objects.exists()


# --- enrollment_create -----------------------------------------------------------------


def test_enrol_first_time_then_same_enrollment() -> None:
    course, user = CourseFactory(price=Decimal("49.00")), UserFactory()
    enrollment, created = enrollment_create(user=user, course=course)
    assert created
    assert (enrollment.status, enrollment.amount_paid, enrollment.progress) == ("active", Decimal("49.00"), 0)
    again, created = enrollment_create(user=user, course=course)
    assert (again.pk, created) == (enrollment.pk, False)
    assert Enrollment.objects.count() == 1


def test_amount_paid_is_the_price_at_enrol_time() -> None:
    course = CourseFactory(price=Decimal("10.00"))
    first, _ = enrollment_create(user=UserFactory(), course=course)
    Course.objects.filter(pk=course.pk).update(price=Decimal("99.00"))
    second, _ = enrollment_create(user=UserFactory(), course=course)  # stale instance: price read under lock
    first.refresh_from_db()
    assert (first.amount_paid, second.amount_paid) == (Decimal("10.00"), Decimal("99.00"))


def test_completed_enrollment_is_returned_unchanged() -> None:
    done = EnrollmentFactory(status=Enrollment.Status.COMPLETED, progress=100)
    enrollment, created = enrollment_create(user=done.user, course=done.course)
    assert (enrollment.pk, enrollment.status, created) == (done.pk, "completed", False)


def test_cancelled_enrollment_is_reactivated() -> None:
    cancelled = EnrollmentFactory(status=Enrollment.Status.CANCELLED, progress=40, amount_paid=Decimal("1.00"))
    enrollment, created = enrollment_create(user=cancelled.user, course=cancelled.course)
    assert (enrollment.pk, created) == (cancelled.pk, False)
    cancelled.refresh_from_db()
    assert (cancelled.status, cancelled.progress, cancelled.amount_paid) == ("active", 40, cancelled.course.price)


def test_unpublished_course_is_404() -> None:
    course = CourseFactory(is_published=False)
    with pytest.raises(NotFound):
        enrollment_create(user=UserFactory(), course=course)
    assert not Enrollment.objects.exists()


def test_full_course_is_409_and_cancelled_seats_are_free() -> None:
    course = CourseFactory(capacity=2)
    EnrollmentFactory(course=course)
    EnrollmentFactory(course=course, status=Enrollment.Status.CANCELLED)
    enrollment_create(user=UserFactory(), course=course)
    with pytest.raises(Conflict) as exc:
        enrollment_create(user=UserFactory(), course=course)
    assert "full" in exc.value.message
    assert Enrollment.objects.filter(course=course, status__in=HELD).count() == 2


def test_reactivation_needs_a_seat() -> None:
    course = CourseFactory(capacity=1)
    cancelled = EnrollmentFactory(course=course, status=Enrollment.Status.CANCELLED)
    EnrollmentFactory(course=course)
    with pytest.raises(Conflict):
        enrollment_create(user=cancelled.user, course=course)
    cancelled.refresh_from_db()
    assert cancelled.status == "cancelled"


@pytest.mark.parametrize("others", [1, 30])
def test_enrol_query_budgets(django_assert_num_queries: Any, others: int) -> None:
    course, user = CourseFactory(capacity=100), UserFactory()
    EnrollmentFactory.create_batch(others, course=course)
    # SAVEPOINT, lock course, existing enrollment, count held, INSERT, RELEASE.
    with django_assert_num_queries(6):
        enrollment_create(user=user, course=course)
    # Already enrolled: SAVEPOINT, lock, existing, RELEASE.
    with django_assert_num_queries(4):
        enrollment_create(user=user, course=course)
    Enrollment.objects.filter(user=user).update(status=Enrollment.Status.CANCELLED)
    # Reactivation: SAVEPOINT, lock, existing, count held, UPDATE, RELEASE.
    with django_assert_num_queries(6):
        enrollment_create(user=user, course=course)


def test_enrol_unlimited_course_skips_the_count(django_assert_num_queries: Any) -> None:
    course, user = CourseFactory(capacity=None), UserFactory()
    with django_assert_num_queries(5):  # SAVEPOINT, lock, existing, INSERT, RELEASE
        enrollment_create(user=user, course=course)


# --- progress and cancel ---------------------------------------------------------------


def test_progress_then_completion() -> None:
    enrollment = EnrollmentFactory()
    enrollment_update_progress(enrollment=enrollment, progress=60)
    enrollment.refresh_from_db()
    assert (enrollment.progress, enrollment.status, enrollment.completed_at) == (60, "active", None)
    before = timezone.now()
    enrollment_update_progress(enrollment=enrollment, progress=100)
    enrollment.refresh_from_db()
    assert (enrollment.progress, enrollment.status) == (100, "completed")
    assert enrollment.completed_at is not None and enrollment.completed_at >= before  # type: ignore[operator]
    # 100 again: no change, no error.
    completed_at = enrollment.completed_at
    enrollment_update_progress(enrollment=enrollment, progress=100)
    enrollment.refresh_from_db()
    assert enrollment.completed_at == completed_at


@pytest.mark.parametrize("progress", [-1, 101])
def test_progress_out_of_range_is_400(progress: int) -> None:
    enrollment = EnrollmentFactory(progress=10)
    with pytest.raises(ValidationError):
        enrollment_update_progress(enrollment=enrollment, progress=progress)
    enrollment.refresh_from_db()
    assert enrollment.progress == 10


@pytest.mark.parametrize(
    ("status", "progress"),
    [(Enrollment.Status.CANCELLED, 50), (Enrollment.Status.CANCELLED, 100), (Enrollment.Status.COMPLETED, 20)],
)
def test_progress_of_cancelled_or_completed_is_409(status: str, progress: int) -> None:
    enrollment = EnrollmentFactory(status=status, progress=30 if status == "cancelled" else 100)
    with pytest.raises(Conflict):
        enrollment_update_progress(enrollment=enrollment, progress=progress)
    stored = Enrollment.objects.get(pk=enrollment.pk)
    assert (stored.status, stored.progress) == (enrollment.status, enrollment.progress)


def test_progress_query_budget(django_assert_num_queries: Any) -> None:
    enrollment = EnrollmentFactory()
    with django_assert_num_queries(3):  # SAVEPOINT, conditional UPDATE, RELEASE
        enrollment_update_progress(enrollment=enrollment, progress=100)
    with django_assert_num_queries(4):  # + re-read when the UPDATE matched nothing
        enrollment_update_progress(enrollment=enrollment, progress=100)


def test_cancel() -> None:
    enrollment = EnrollmentFactory(progress=30)
    enrollment_cancel(enrollment=enrollment)
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.progress) == ("cancelled", 30)
    enrollment_cancel(enrollment=enrollment)  # again: no change, no error
    done = EnrollmentFactory(status=Enrollment.Status.COMPLETED, progress=100)
    with pytest.raises(Conflict):
        enrollment_cancel(enrollment=done)
    assert Enrollment.objects.get(pk=done.pk).status == "completed"


def test_cancel_query_budget(django_assert_num_queries: Any) -> None:
    enrollment = EnrollmentFactory()
    with django_assert_num_queries(3):  # SAVEPOINT, conditional UPDATE, RELEASE
        enrollment_cancel(enrollment=enrollment)


# --- bulk enrollment -------------------------------------------------------------------


def test_bulk_creates_skips_and_reactivates() -> None:
    course = CourseFactory(price=Decimal("12.00"))
    active = EnrollmentFactory(course=course)
    completed = EnrollmentFactory(course=course, status=Enrollment.Status.COMPLETED)
    cancelled = EnrollmentFactory(course=course, status=Enrollment.Status.CANCELLED, amount_paid=Decimal("1.00"))
    new = UserFactory.create_batch(3)
    ids = [u.pk for u in new] + [active.user_id, completed.user_id, cancelled.user_id, new[0].pk]
    result = enrollments_bulk_create(course=course, user_ids=ids)
    assert result == {"created": 4, "skipped": 2}
    rows = {e.user_id: e for e in Enrollment.objects.filter(course=course)}
    assert len(rows) == 6
    assert all(rows[u.pk].status == "active" and rows[u.pk].amount_paid == Decimal("12.00") for u in new)
    assert (rows[cancelled.user_id].status, rows[cancelled.user_id].amount_paid) == ("active", Decimal("12.00"))
    assert rows[completed.user_id].status == "completed"


def test_bulk_unknown_ids_are_400_and_nothing_is_created() -> None:
    course, user = CourseFactory(), UserFactory()
    with pytest.raises(ValidationError) as exc:
        enrollments_bulk_create(course=course, user_ids=[user.pk, 999_998, 999_999])
    assert "2 unknown user id(s): 999998, 999999" in str(errors(exc)["user_ids"])
    assert not Enrollment.objects.exists()


def test_bulk_respects_capacity_all_or_nothing() -> None:
    course = CourseFactory(capacity=3)
    EnrollmentFactory(course=course)
    EnrollmentFactory(course=course, status=Enrollment.Status.CANCELLED)
    users = UserFactory.create_batch(3)
    with pytest.raises(Conflict) as exc:
        enrollments_bulk_create(course=course, user_ids=[u.pk for u in users])
    assert "Only 2 seat(s) left for 3" in exc.value.message
    assert Enrollment.objects.filter(course=course).count() == 2
    assert enrollments_bulk_create(course=course, user_ids=[u.pk for u in users[:2]]) == {"created": 2, "skipped": 0}


def test_bulk_unpublished_is_404_and_too_many_is_400() -> None:
    with pytest.raises(NotFound):
        enrollments_bulk_create(course=CourseFactory(is_published=False), user_ids=[UserFactory().pk])
    with pytest.raises(ValidationError):
        enrollments_bulk_create(course=CourseFactory(), user_ids=list(range(1, MAX_BULK_ENROLLMENT + 2)))


def test_bulk_empty_list() -> None:
    assert enrollments_bulk_create(course=CourseFactory(), user_ids=[]) == {"created": 0, "skipped": 0}


def _make_users(n: int) -> list[int]:
    from accounts.models import User

    User.objects.bulk_create([User(email=f"bulk{i}@example.com") for i in range(n)])
    return list(User.objects.filter(email__startswith="bulk").values_list("pk", flat=True))


@pytest.mark.parametrize("users", [1, 30, MAX_BULK_ENROLLMENT])
def test_bulk_query_budget_is_constant(django_assert_num_queries: Any, users: int) -> None:
    course = CourseFactory(capacity=MAX_BULK_ENROLLMENT)
    ids = _make_users(users)
    # SAVEPOINT, lock course, known ids, UPDATE cancelled, INSERT ... SELECT, count held, RELEASE.
    with django_assert_num_queries(7):
        result = enrollments_bulk_create(course=course, user_ids=ids)
    assert result == {"created": users, "skipped": 0}
    assert Enrollment.objects.filter(course=course).count() == users


# --- reviews ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", HELD)
def test_review_by_a_learner(status: str) -> None:
    enrollment = EnrollmentFactory(status=status)
    review = review_create(user=enrollment.user, course=enrollment.course, rating=5, comment="Great")
    assert Review.objects.get(pk=review.pk).rating == 5


@pytest.mark.parametrize("status", [None, Enrollment.Status.CANCELLED])
def test_review_without_a_held_seat_is_403(status: str | None) -> None:
    course, user = CourseFactory(), UserFactory()
    if status:
        EnrollmentFactory(user=user, course=course, status=status)
    with pytest.raises(PermissionDenied):
        review_create(user=user, course=course, rating=4)
    assert not Review.objects.exists()


def test_second_review_is_409() -> None:
    enrollment = EnrollmentFactory()
    review_create(user=enrollment.user, course=enrollment.course, rating=4)
    with pytest.raises(Conflict):
        review_create(user=enrollment.user, course=enrollment.course, rating=2)
    assert list(Review.objects.values_list("rating", flat=True)) == [4]


@pytest.mark.parametrize("rating", [0, 6])
def test_rating_out_of_range_is_400(rating: int) -> None:
    enrollment = EnrollmentFactory()
    with pytest.raises(ValidationError):
        review_create(user=enrollment.user, course=enrollment.course, rating=rating)


def test_review_query_budget(django_assert_num_queries: Any) -> None:
    enrollment = EnrollmentFactory()
    with django_assert_num_queries(4):  # SAVEPOINT, enrollment check, INSERT, RELEASE
        review_create(user=enrollment.user, course=enrollment.course, rating=4)


# --- concurrency (PostgreSQL: real row locks) --------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_bulk_and_single_enrolments_respect_capacity(in_threads: RunInThreads) -> None:
    course = CourseFactory(capacity=10)
    users = UserFactory.create_batch(20)

    def enrol(i: int) -> Any:
        if i == 0:
            return enrollments_bulk_create(course=course, user_ids=[u.pk for u in users[:8]])
        return enrollment_create(user=users[i], course=course)

    results = in_threads(13, enrol)
    assert all(isinstance(r, tuple | dict | Conflict) for r in results), results
    assert Enrollment.objects.filter(course=course, status__in=HELD).count() <= 10


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_enrolments_of_one_user_make_one_row(in_threads: RunInThreads) -> None:
    course, user = CourseFactory(), UserFactory()
    results = in_threads(20, lambda i: enrollment_create(user=user, course=course))
    assert all(isinstance(r, tuple) for r in results), results
    assert sum(1 for _, created in results if created) == 1
    assert len({enrollment.pk for enrollment, _ in results}) == 1
    assert Enrollment.objects.filter(user=user, course=course).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_thirty_users_race_for_five_seats(in_threads: RunInThreads) -> None:
    course = CourseFactory(capacity=5)
    users = UserFactory.create_batch(30)
    results = in_threads(30, lambda i: enrollment_create(user=users[i], course=course))
    assert sum(1 for r in results if isinstance(r, tuple)) == 5
    assert sum(1 for r in results if isinstance(r, Conflict)) == 25
    assert Enrollment.objects.filter(course=course, status__in=HELD).count() == 5
