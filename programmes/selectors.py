"""Reads of programmes: every query an endpoint runs is built here."""

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from courses.models import Enrollment

from .models import Programme, ProgrammeCourse


def _count_subquery(queryset: QuerySet, group_by: str, expression: Count) -> Coalesce:  # type: ignore[type-arg]
    """One correlated COUNT per row, grouped on the outer key, 0 when nothing matches.

    Subqueries keep two aggregates over different relations from multiplying each other.
    """
    counted = queryset.order_by().values(group_by).annotate(n=expression).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def programme_list() -> QuerySet[Programme]:
    """Programmes with `course_count` (published courses) and `student_count` (distinct users
    holding a seat in any of its published courses), both annotations."""
    course_count = _count_subquery(
        ProgrammeCourse.objects.filter(programme=OuterRef("pk"), course__is_published=True),
        "programme",
        Count("pk"),
    )
    student_count = _count_subquery(
        Enrollment.objects.filter(
            course__programme_links__programme=OuterRef("pk"),
            course__is_published=True,
            status__in=Enrollment.HELD_STATUSES,
        ),
        "course__programme_links__programme",
        Count("user", distinct=True),
    )
    return Programme.objects.annotate(course_count=course_count, student_count=student_count)
