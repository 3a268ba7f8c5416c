"""Writes to courses, enrollments and reviews. Each service is one transaction.

Seats: every write that can take a seat or change `capacity` (enrol, bulk enrol, course
update) first locks the course row (`SELECT ... FOR UPDATE`), then counts the held seats
(active and completed enrollments). Those writes are therefore serialised per course, and
a count can never be overtaken by a concurrent enrol. A cancellation only frees a seat and
needs no lock. The unique constraint on (user, course) is the last line: an IntegrityError
becomes a 409, never a second row.

Errors are the domain's (core.errors): Django's ValidationError (400) and PermissionDenied
(403), NotFound (404), Conflict (409). Rules the database holds (a unique slug, a price
not below 0, a rating of 1 to 5, progress of 0 to 100, one enrollment and one review per
learner and course) are not checked beforehand: the write is made, and a broken
constraint is recognised by its name.
"""

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypedDict

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import User
from core.errors import Conflict, NotFound, raise_for_constraint
from core.services import model_update

from .models import Category, Course, Enrollment, Review, linked_programmes, programme_link, programme_links

MAX_BULK_ENROLLMENT = 10_000
_SHOWN_IDS = 20  # unknown ids listed in an error message

COURSE_FIELDS = (
    "title",
    "slug",
    "summary",
    "description",
    "price",
    "category",
    "capacity",
    "is_published",
    "programmes",
    "instructor",
)


class BulkEnrollmentResult(TypedDict):
    created: int
    skipped: int


# --- Courses ---------------------------------------------------------------------------


def _course_errors(slug: str) -> dict[str, Exception]:
    """What a broken constraint of a course write means to the caller."""
    return {
        "courses_course_slug_key": ValidationError({"slug": [f"A course with the slug '{slug}' already exists."]}),
        "course_price_non_negative": ValidationError({"price": ["The price cannot be negative."]}),
    }


def _course_instructor(*, actor: User, requested: User | None, current: User | None = None) -> User:
    """Staff choose the instructor (themselves by default); an instructor is always their own."""
    if not actor.is_staff:
        return current or actor
    chosen = requested or current or actor
    if not (chosen.is_staff or chosen.role == User.Role.INSTRUCTOR):
        raise ValidationError({"instructor": [f"User {chosen.pk} is not an instructor."]})
    return chosen


def _locked_programmes(programme_ids: Iterable[int]) -> list[Any]:
    """The programmes, row-locked in id order (positions are computed under the lock), or a
    400 naming the ids that do not exist."""
    wanted = sorted(set(programme_ids))
    found = list(linked_programmes().select_for_update().filter(pk__in=wanted).order_by("pk"))
    missing = sorted(set(wanted) - {programme.pk for programme in found})
    if missing:
        raise ValidationError({"programmes": [f"Unknown programme ids: {missing}."]})
    return found


def _append_to_programmes(course: Course, programmes: Sequence[Any]) -> None:
    """Link `course` at the end of each programme: 1 query for the ends, 1 insert."""
    if not programmes:
        return
    ends = dict(
        programme_links()
        .filter(programme__in=programmes)
        .values("programme")
        .annotate(end=Max("position"))
        .values_list("programme", "end")
    )
    programme_links().bulk_create(
        [
            programme_link(programme=programme, course=course, position=ends.get(programme.pk, -1) + 1)
            for programme in programmes
        ]
    )


def _held_seats(course_id: int) -> int:
    return Enrollment.objects.filter(course_id=course_id, status__in=Enrollment.HELD_STATUSES).count()


@transaction.atomic
def course_create(
    *,
    actor: User,
    title: str,
    slug: str,
    category: Category,
    price: Decimal,
    summary: str = "",
    description: str = "",
    capacity: int | None = None,
    is_published: bool = False,
    programmes: Sequence[int] = (),
    instructor: User | None = None,
) -> Course:
    """Create a course for `actor` (staff or an instructor). An instructor always becomes its
    instructor; staff may name another one. Linked programmes get it at their end.
    Slug taken or negative price: 400."""
    if not (actor.is_staff or actor.role == User.Role.INSTRUCTOR):
        raise PermissionDenied("Only staff and instructors can create courses.")
    linked = _locked_programmes(programmes) if programmes else []
    course = Course(
        title=title,
        slug=slug,
        summary=summary,
        description=description,
        category=category,
        price=price,
        capacity=capacity,
        is_published=is_published,
        instructor=_course_instructor(actor=actor, requested=instructor),
    )
    try:
        course.save(force_insert=True)
    except IntegrityError as exc:
        raise_for_constraint(exc, _course_errors(slug))
    _append_to_programmes(course, linked)
    return course


@transaction.atomic
def course_update(*, course: Course, actor: User, fields: Mapping[str, Any]) -> Course:
    """Change the given `fields` (keys of COURSE_FIELDS; `programmes` is a list of ids that
    replaces the course's programmes, new ones linked at their end). `instructor` is
    honoured for staff only. `capacity` below the seats held now: 400."""
    unknown = set(fields) - set(COURSE_FIELDS)
    if unknown:
        raise TypeError(f"course_update() got unknown fields: {sorted(unknown)}")
    data = {name: value for name, value in fields.items() if name not in ("instructor", "programmes")}
    if actor.is_staff and fields.get("instructor") is not None:
        data["instructor"] = _course_instructor(actor=actor, requested=fields["instructor"], current=course.instructor)
    if data.get("capacity") is not None:
        # Locked, so no enrol can take a seat between this count and the commit.
        Course.objects.select_for_update().filter(pk=course.pk).values_list("pk").get()
        held = _held_seats(course.pk)
        if data["capacity"] < held:
            raise ValidationError(
                {"capacity": [f"The capacity cannot be below the {held} seats already held (active or completed)."]}
            )
    try:
        model_update(instance=course, fields=COURSE_FIELDS, data=data)
    except IntegrityError as exc:
        raise_for_constraint(exc, _course_errors(course.slug))
    if "programmes" in fields:
        _replace_programmes(course, fields["programmes"])
    return course


def _replace_programmes(course: Course, programme_ids: Sequence[int]) -> None:
    wanted = set(programme_ids)
    current = set(programme_links().filter(course=course).values_list("programme_id", flat=True))
    if current - wanted:
        programme_links().filter(course=course, programme_id__in=current - wanted).delete()
    if wanted - current:
        _append_to_programmes(course, _locked_programmes(wanted - current))


@transaction.atomic
def course_delete(*, course: Course) -> None:
    """Delete a course with its reviews and programme links. A course with enrollments (of
    any status: they are its learners' history) is a 409 and nothing is deleted."""
    # Locked, so no enrol can slip in between the check and the delete.
    Course.objects.select_for_update().filter(pk=course.pk).values_list("pk").get()
    enrolled = Enrollment.objects.filter(course=course).count()
    if enrolled:
        raise Conflict(
            f"This course has {enrolled} enrollment(s) and cannot be deleted; unpublish it instead "
            "(is_published=false)."
        )
    course.delete()


# --- Enrollments -----------------------------------------------------------------------


def _locked_published_course(course_id: int) -> Course:
    """The course row locked, with its current price and capacity; unpublished: 404."""
    locked = Course.objects.select_for_update().filter(pk=course_id, is_published=True).only("id", "price", "capacity")
    try:
        return locked.get()
    except Course.DoesNotExist as exc:
        raise NotFound("No published course matches this id.") from exc


def _course_full(capacity: int) -> Conflict:
    return Conflict(f"This course is full: all {capacity} seats are taken.")


@transaction.atomic
def enrollment_create(*, user: User, course: Course) -> tuple[Enrollment, bool]:
    """Enrol `user` in `course`: `(enrollment, True)` the first time; `(the same enrollment,
    False)` when already enrolled; a cancelled one is reactivated (False). `amount_paid` is
    the price at enrol time. Unpublished: 404; no seat left: 409.

    The course row lock serialises enrolments per course: two requests for one user cannot
    both miss the existing row, and two users cannot both take the last seat."""
    locked = _locked_published_course(course.pk)
    existing = Enrollment.objects.select_for_update().filter(user=user, course_id=course.pk).first()
    if existing is not None:
        # The rows we hold already: a serializer reading them costs no query.
        existing.user, existing.course = user, course
        if existing.status in Enrollment.HELD_STATUSES:
            return existing, False
    if locked.capacity is not None and _held_seats(course.pk) >= locked.capacity:
        raise _course_full(locked.capacity)
    now = timezone.now()
    if existing is not None:  # cancelled: re-enrolling takes a seat again at today's price
        existing.status = Enrollment.Status.ACTIVE
        existing.amount_paid = locked.price
        existing.enrolled_at = now
        existing.completed_at = None
        existing.save(update_fields=["status", "amount_paid", "enrolled_at", "completed_at"])
        return existing, False
    enrollment = Enrollment(user=user, course=course, status=Enrollment.Status.ACTIVE, amount_paid=locked.price)
    try:
        enrollment.save(force_insert=True)
    except IntegrityError as exc:  # a writer that bypassed the lock (admin, script)
        raise_for_constraint(
            exc,
            {
                "enrollment_one_per_user_course": Conflict(
                    "This enrollment was created concurrently; retry the request."
                )
            },
        )
    return enrollment, True


@transaction.atomic
def enrollment_update_progress(*, enrollment: Enrollment, progress: int) -> Enrollment:
    """Set `progress` (0-100) of an active enrollment; 100 completes it and sets
    `completed_at`. A completed one accepts 100 again (no change) and refuses any other
    value; a cancelled one refuses all: 409, re-enrol first."""
    values: dict[str, Any] = {"progress": progress}
    if progress == 100:
        values |= {"status": Enrollment.Status.COMPLETED, "completed_at": timezone.now()}
    # One conditional UPDATE: a concurrent cancel or completion cannot be overwritten.
    try:
        updated = Enrollment.objects.filter(pk=enrollment.pk, status=Enrollment.Status.ACTIVE).update(**values)
    except IntegrityError as exc:
        out_of_range = ValidationError({"progress": ["Progress must be between 0 and 100."]})
        raise_for_constraint(
            exc, {"enrollment_progress_range": out_of_range, "courses_enrollment_progress_check": out_of_range}
        )
    if updated:
        for name, value in values.items():
            setattr(enrollment, name, value)
        return enrollment
    enrollment.refresh_from_db(fields=["status", "progress", "completed_at"])
    if enrollment.status == Enrollment.Status.COMPLETED and progress == 100:
        return enrollment
    if enrollment.status == Enrollment.Status.COMPLETED:
        raise Conflict("This enrollment is completed; its progress can no longer change.")
    raise Conflict("This enrollment is cancelled; enrol in the course again to continue.")


@transaction.atomic
def enrollment_cancel(*, enrollment: Enrollment) -> Enrollment:
    """Cancel an active enrollment, freeing its seat (progress is kept for a re-enrol).
    Cancelling a cancelled one changes nothing; a completed one is a 409."""
    if Enrollment.objects.filter(pk=enrollment.pk, status=Enrollment.Status.ACTIVE).update(
        status=Enrollment.Status.CANCELLED
    ):
        enrollment.status = Enrollment.Status.CANCELLED
        return enrollment
    enrollment.refresh_from_db(fields=["status", "progress", "completed_at"])
    if enrollment.status == Enrollment.Status.COMPLETED:
        raise Conflict("A completed enrollment cannot be cancelled.")
    return enrollment


@transaction.atomic
def enrollments_bulk_create(*, course: Course, user_ids: Sequence[int]) -> BulkEnrollmentResult:
    """Enrol up to MAX_BULK_ENROLLMENT users at once, in a constant number of queries:
    lock the course, check the ids, reactivate cancelled enrollments (1 UPDATE), insert the
    new ones (1 INSERT ... SELECT ... ON CONFLICT DO NOTHING), count held seats.

    `created` counts new and reactivated enrollments, `skipped` the distinct users who
    already held a seat. Unknown user ids: 400. Fewer seats left than enrollments to make:
    409 and nothing is created. Unpublished course: 404."""
    wanted = sorted(set(user_ids))
    if len(wanted) > MAX_BULK_ENROLLMENT:
        raise ValidationError({"user_ids": [f"At most {MAX_BULK_ENROLLMENT} user ids at a time."]})
    locked = _locked_published_course(course.pk)
    if not wanted:
        return {"created": 0, "skipped": 0}
    known = set(User.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    if len(known) != len(wanted):
        unknown = [pk for pk in wanted if pk not in known]
        shown = ", ".join(map(str, unknown[:_SHOWN_IDS])) + (" ..." if len(unknown) > _SHOWN_IDS else "")
        raise ValidationError({"user_ids": [f"{len(unknown)} unknown user id(s): {shown}."]})
    now = timezone.now()
    reactivated = Enrollment.objects.filter(
        course_id=course.pk, user_id__in=wanted, status=Enrollment.Status.CANCELLED
    ).update(status=Enrollment.Status.ACTIVE, amount_paid=locked.price, enrolled_at=now, completed_at=None)
    inserted = _insert_missing_enrollments(course_id=course.pk, user_ids=wanted, price=locked.price, now=now)
    created = reactivated + inserted
    if created and locked.capacity is not None:
        held = _held_seats(course.pk)
        if held > locked.capacity:
            # Raising rolls back the UPDATE and the INSERT: nothing is created.
            seats_left = max(locked.capacity - (held - created), 0)
            raise Conflict(f"Only {seats_left} seat(s) left for {created} new enrollment(s); nothing was created.")
    return {"created": created, "skipped": len(wanted) - created}


def _insert_missing_enrollments(*, course_id: int, user_ids: Sequence[int], price: Decimal, now: Any) -> int:
    """One statement for any number of users (bulk_create would be batched by 999
    parameters on SQLite); the unique constraint skips those already enrolled."""
    ops = connection.ops
    table = ops.quote_name(Enrollment._meta.db_table)
    users = ops.quote_name(User._meta.db_table)
    placeholders = ", ".join(["%s"] * len(user_ids))
    sql = (
        f"INSERT INTO {table} (user_id, course_id, status, progress, amount_paid, enrolled_at, completed_at) "
        f"SELECT u.id, %s, %s, 0, %s, %s, NULL FROM {users} u WHERE u.id IN ({placeholders}) "
        "ON CONFLICT (user_id, course_id) DO NOTHING"
    )
    params = [
        course_id,
        Enrollment.Status.ACTIVE.value,
        ops.adapt_decimalfield_value(price, max_digits=10, decimal_places=2),
        ops.adapt_datetimefield_value(now),
        *user_ids,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


# --- Reviews ---------------------------------------------------------------------------


@transaction.atomic
def review_create(*, user: User, course: Course, rating: int, comment: str = "") -> Review:
    """A review by a learner holding a seat (active or completed enrollment; else 403),
    one per user and course (a second: 409), rating 1 to 5 (else 400)."""
    if not Enrollment.objects.filter(user=user, course=course, status__in=Enrollment.HELD_STATUSES).exists():
        raise PermissionDenied("Only learners with an active or completed enrollment can review this course.")
    review = Review(user=user, course=course, rating=rating, comment=comment)
    try:
        review.save(force_insert=True)
    except IntegrityError as exc:
        raise_for_constraint(
            exc,
            {
                "review_one_per_user_course": Conflict("You have already reviewed this course."),
                "review_rating_range": ValidationError({"rating": ["The rating must be between 1 and 5."]}),
                "courses_review_rating_check": ValidationError({"rating": ["The rating must be between 1 and 5."]}),
            },
        )
    return review
