import pytest

from accounts.selectors import HELD_ENROLLMENT_STATUSES, user_profile
from courses.models import Enrollment
from tests.factories import EnrollmentFactory

pytestmark = pytest.mark.django_db


def test_held_statuses_are_the_courses_own() -> None:
    """accounts sits below courses and spells the statuses out; they must stay the same."""
    assert set(HELD_ENROLLMENT_STATUSES) == {str(status) for status in Enrollment.HELD_STATUSES}


def test_enrollment_count_counts_held_seats_only() -> None:
    held = EnrollmentFactory(status=Enrollment.Status.ACTIVE)
    EnrollmentFactory(user=held.user, status=Enrollment.Status.COMPLETED)
    EnrollmentFactory(user=held.user, status=Enrollment.Status.CANCELLED)
    assert user_profile(user_id=held.user.pk).enrollment_count == 2
