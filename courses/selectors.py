"""Reads of courses, reviews and enrollments: every query an endpoint runs is built here."""

from typing import TYPE_CHECKING

from django.db.models import (
    Avg,
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest

from accounts.models import User
from accounts.selectors import USER_BRIEF_FIELDS
from core.aggregates import count_subquery, stats_subquery

from .models import Course, Enrollment, Review, linked_programmes

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    # request.user: a User, or AnonymousUser when no credentials were sent.
    Viewer = User | AnonymousUser | None

_COURSE_LIST_FIELDS = (
    "id",
    "slug",
    "title",
    "summary",
    "price",
    "is_published",
    "created_at",
    "category",
    "category__id",
    "category__name",
    "instructor",
    *(f"instructor__{name}" for name in USER_BRIEF_FIELDS),
)
_COURSE_DETAIL_FIELDS = (*_COURSE_LIST_FIELDS, "description", "capacity")


def _user(viewer: "Viewer") -> User | None:
    """The signed-in user, None for an anonymous caller."""
    return viewer if isinstance(viewer, User) else None


def _is_staff(viewer: "Viewer") -> bool:
    user = _user(viewer)
    return user is not None and user.is_staff


def course_enrollment_count() -> Coalesce:
    """Held seats (active and completed enrollments) of the outer course, as a subquery."""
    return count_subquery(
        Enrollment.objects.filter(course=OuterRef("pk"), status__in=Enrollment.HELD_STATUSES),
        "course",
        Count("pk"),
    )


def _review_stats() -> Coalesce:
    """`{rating_average, rating_count}` of the outer course in one subquery over reviews."""
    return stats_subquery(
        Review.objects.filter(course=OuterRef("pk")),
        "course",
        rating_average=Avg("rating"),
        rating_count=Count("pk"),
    )


def _enrollment_stats() -> Coalesce:
    """The dashboard's enrollment aggregates of the outer course in one subquery."""
    held = Q(status__in=Enrollment.HELD_STATUSES)
    return stats_subquery(
        Enrollment.objects.filter(course=OuterRef("pk")),
        "course",
        student_count=Count("user", distinct=True, filter=held),
        active_count=Count("pk", filter=Q(status=Enrollment.Status.ACTIVE)),
        completed_count=Count("pk", filter=Q(status=Enrollment.Status.COMPLETED)),
        revenue=Sum("amount_paid", filter=held, default=0),
        average_progress=Avg("progress", filter=held),
    )


def _courses(*, user: "Viewer", fields: tuple[str, ...], all_courses: bool = False) -> QuerySet[Course]:
    return (
        (Course.objects.all() if all_courses else Course.objects.visible_to(_user(user)))
        .select_related("category", "instructor")
        .only(*fields)
        .annotate(enrollment_count=course_enrollment_count(), review_stats=_review_stats())
    )


def course_list(*, user: "Viewer") -> QuerySet[Course]:
    """Courses `user` may see (published; staff: all), with their category and instructor,
    `enrollment_count` and `review_stats` (`{rating_average, rating_count}`) annotated."""
    return _courses(user=user, fields=_COURSE_LIST_FIELDS).order_by("title", "id")


def course_detail(*, user: "Viewer", all_courses: bool = False) -> QuerySet[Course]:
    """`course_list` plus the detail columns, `seats_left` and the course's programmes.
    `all_courses`: unpublished ones too, for the answer to a write by their instructor."""
    return (
        _courses(user=user, fields=_COURSE_DETAIL_FIELDS, all_courses=all_courses)
        .annotate(
            # F() repeats the count subquery; on the one row of a detail that is cheaper than
            # a second round trip, and keeps the rule (a cancelled seat is free) in SQL.
            seats_left=Case(
                When(capacity__isnull=True, then=Value(None)),
                default=Greatest(F("capacity") - F("enrollment_count"), Value(0)),
                output_field=IntegerField(),
            )
        )
        .prefetch_related(
            Prefetch("programmes", queryset=linked_programmes().only("id", "slug", "title").order_by("title", "id"))
        )
    )


def course_editable_list() -> QuerySet[Course]:
    """Every course, published or not, with its instructor: the target of a course update
    or delete. Whether the caller may change it is the permission's call (a 403), not a
    matter of visibility."""
    return Course.objects.select_related("instructor")


def course_enrollable_list(*, user: "Viewer") -> QuerySet[Course]:
    """Courses `user` may see, with the columns an enrol, a review or a bulk enrol reads
    (an enrollment shows `course {id, slug, title}`); the services lock and re-read the row."""
    return Course.objects.visible_to(_user(user)).only("id", "slug", "title", "instructor", "is_published")


def course_is_visible(*, user: "Viewer", course_id: int | str) -> bool:
    """Whether the course exists and `user` may see it."""
    return Course.objects.visible_to(_user(user)).filter(pk=course_id).exists()


def course_review_list(*, user: "Viewer", course_id: int | str) -> QuerySet[Review]:
    """Reviews of one course `user` may see, newest first, each with its author."""
    return (
        Review.objects.filter(course_id=course_id, course__in=Course.objects.visible_to(_user(user)))
        .select_related("user")
        .only("id", "rating", "comment", "created_at", "user", *(f"user__{name}" for name in USER_BRIEF_FIELDS))
        .order_by("-created_at", "id")
    )


def enrollment_list(*, user: "Viewer") -> QuerySet[Enrollment]:
    """The caller's enrollments (staff: everyone's; anonymous: none), newest first, with
    user and course."""
    if _is_staff(user):
        enrollments = Enrollment.objects.all()
    else:
        enrollments = Enrollment.objects.filter(user=_user(user)) if _user(user) else Enrollment.objects.none()
    return (
        enrollments.select_related("user", "course")
        .only(
            "id",
            "status",
            "progress",
            "amount_paid",
            "enrolled_at",
            "completed_at",
            "user",
            *(f"user__{name}" for name in USER_BRIEF_FIELDS),
            "course",
            "course__id",
            "course__slug",
            "course__title",
        )
        .order_by("-enrolled_at", "id")
    )


def instructor_course_list(*, user: "Viewer") -> QuerySet[Course]:
    """The caller's courses (staff: all; anonymous: none), published or not, with
    `enrollment_stats` (`{student_count, active_count, completed_count, revenue,
    average_progress}`) and `review_stats` annotated: one subquery per relation, so they
    never multiply."""
    if _is_staff(user):
        courses = Course.objects.all()
    else:
        courses = Course.objects.filter(instructor=_user(user)) if _user(user) else Course.objects.none()
    return (
        courses.only("id", "title", "is_published")
        .annotate(enrollment_stats=_enrollment_stats(), review_stats=_review_stats())
        .order_by("title", "id")
    )
