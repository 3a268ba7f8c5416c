"""Reads of programmes: every query an endpoint runs is built here."""

from django.db.models import Count, OuterRef, Prefetch, QuerySet

from accounts.selectors import USER_BRIEF_FIELDS
from core.aggregates import count_subquery
from courses.models import Course, Enrollment
from courses.selectors import course_enrollment_count, course_list

from .models import Programme, ProgrammeCourse


def _programmes() -> QuerySet[Programme]:
    """Programmes with `course_count` (published courses) and `student_count` (distinct users
    holding a seat in any of its published courses), both annotations."""
    course_count = count_subquery(
        ProgrammeCourse.objects.filter(programme=OuterRef("pk"), course__is_published=True),
        "programme",
        Count("pk"),
    )
    student_count = count_subquery(
        Enrollment.objects.filter(
            course__programme_links__programme=OuterRef("pk"),
            course__is_published=True,
            status__in=Enrollment.HELD_STATUSES,
        ),
        "course__programme_links__programme",
        Count("user", distinct=True),
    )
    return Programme.objects.annotate(course_count=course_count, student_count=student_count)


def programme_list() -> QuerySet[Programme]:
    """Programmes for the list: the aggregates of `_programmes`, without the description."""
    return _programmes().defer("description")


def programme_detail() -> QuerySet[Programme]:
    """A programme with the list's aggregates, its description and `published_courses`: its
    published courses in programme order, each with its instructor and `enrollment_count`."""
    courses = (
        Course.objects.published()
        .select_related("instructor")
        .only("id", "slug", "title", "instructor", *(f"instructor__{name}" for name in USER_BRIEF_FIELDS))
        .annotate(enrollment_count=course_enrollment_count())
        # The prefetch's own join to the link table is reused: one row per link.
        .order_by("programme_links__position", "id")
    )
    return _programmes().prefetch_related(Prefetch("courses", queryset=courses, to_attr="published_courses"))


def programme_course_list(*, programme_id: int | str) -> QuerySet[Course]:
    """The published courses of a programme in programme order, as `course_list` shapes them."""
    return (
        course_list(user=None)
        .filter(programme_links__programme_id=programme_id)
        # The filter's join is reused: one row per course (a course is in a programme once).
        .order_by("programme_links__position", "id")
    )


def programme_exists(*, programme_id: int | str) -> bool:
    """Whether a programme with this id exists."""
    return Programme.objects.filter(pk=programme_id).exists()


def programme_editable_list() -> QuerySet[Programme]:
    """Programmes as an update or delete targets them: the row alone."""
    return Programme.objects.all()
