"""Reads of accounts: every query an endpoint runs is built here."""

from django.db.models import Count, Q, QuerySet

from .models import User

# The columns a user's `{id, name}` needs (User.name reads only these).
USER_BRIEF_FIELDS = ("id", "first_name", "last_name", "email")

# The enrollment statuses that hold a seat: courses' Enrollment.HELD_STATUSES, spelled out
# because accounts sits below courses (tests/accounts/test_selectors.py keeps them equal).
HELD_ENROLLMENT_STATUSES = ("active", "completed")


def user_profile_list() -> QuerySet[User]:
    """Users with `enrollment_count`: their enrollments holding a seat (active or completed),
    the same rule as a course's `enrollment_count`."""
    return User.objects.annotate(
        enrollment_count=Count("enrollments", filter=Q(enrollments__status__in=HELD_ENROLLMENT_STATUSES))
    )


def user_profile(*, user_id: int) -> User:
    """One user as `GET /me/` shows them (see user_profile_list)."""
    return user_profile_list().get(pk=user_id)
