"""Reads of accounts: every query an endpoint runs is built here."""

from django.db.models import Count, Q, QuerySet

from courses.models import Enrollment

from .models import User


def user_profile_list() -> QuerySet[User]:
    """Users with `enrollment_count`: their enrollments holding a seat (active or completed),
    the same rule as a course's `enrollment_count`."""
    return User.objects.annotate(
        enrollment_count=Count("enrollments", filter=Q(enrollments__status__in=Enrollment.HELD_STATUSES))
    )


def user_profile(*, user_id: int) -> User:
    """One user as `GET /me/` shows them (see user_profile_list)."""
    return user_profile_list().get(pk=user_id)
