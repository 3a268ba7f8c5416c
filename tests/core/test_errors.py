"""Services recognise a broken constraint by its name, on PostgreSQL and on SQLite alike,
and the one exception handler maps the domain's errors to HTTP."""

from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from rest_framework.test import APIRequestFactory

from core.errors import Conflict, NotFound, violated_constraint
from core.exceptions import exception_handler
from courses.models import Enrollment
from tests.factories import CourseFactory, EnrollmentFactory, ProgrammeCourseFactory, ProgrammeFactory, ReviewFactory

pytestmark = pytest.mark.django_db


def broken(write: Any) -> str | None:
    with pytest.raises(IntegrityError) as exc, transaction.atomic():
        write()
    return violated_constraint(exc.value)


def test_a_column_unique_is_named_as_postgresql_names_it() -> None:
    CourseFactory(slug="taken")
    assert broken(lambda: CourseFactory(slug="taken")) == "courses_course_slug_key"


def test_a_unique_constraint_over_columns_by_its_name() -> None:
    enrollment = EnrollmentFactory()
    assert (
        broken(lambda: EnrollmentFactory(user=enrollment.user, course=enrollment.course))
        == "enrollment_one_per_user_course"
    )
    review = ReviewFactory()
    assert broken(lambda: ReviewFactory(user=review.user, course=review.course)) == "review_one_per_user_course"


def test_a_check_constraint_by_its_name() -> None:
    assert broken(lambda: CourseFactory(price=-1)) == "course_price_non_negative"


def test_completed_at_is_set_exactly_when_completed() -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    assert broken(lambda: EnrollmentFactory(status=Enrollment.Status.COMPLETED, completed_at=None)) == (
        "enrollment_completed_at_iff_completed"
    )
    assert broken(lambda: EnrollmentFactory(status=Enrollment.Status.ACTIVE, completed_at=when)) == (
        "enrollment_completed_at_iff_completed"
    )
    assert broken(lambda: EnrollmentFactory(status=Enrollment.Status.CANCELLED, completed_at=when)) == (
        "enrollment_completed_at_iff_completed"
    )
    EnrollmentFactory(status=Enrollment.Status.COMPLETED, completed_at=when)


@pytest.mark.postgres
def test_a_position_holds_one_course_per_programme() -> None:
    """Deferred to the commit (the admin swaps positions); checked at once here."""
    programme = ProgrammeFactory()
    ProgrammeCourseFactory(programme=programme, position=3)
    ProgrammeCourseFactory(programme=ProgrammeFactory(), position=3)  # another programme: fine

    def clash() -> None:
        ProgrammeCourseFactory(programme=programme, position=3)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS programmecourse_position_unique IMMEDIATE")

    assert broken(clash) == "programmecourse_position_unique"


def test_a_columns_own_check_is_named_as_postgresql_names_it() -> None:
    """A PositiveSmallIntegerField's `>= 0`: SQLite names the column only."""
    assert broken(lambda: EnrollmentFactory(progress=-1)) == "courses_enrollment_progress_check"


def test_an_unknown_status_is_refused_by_the_enums_values() -> None:
    assert broken(lambda: EnrollmentFactory(status="paused")) == "enrollment_status_valid"


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        (ValidationError({"slug": ["Taken."]}), 400, {"slug": ["Taken."]}),
        (ValidationError("Not like this."), 400, {"detail": "Not like this."}),
        (PermissionDenied("Not you."), 403, {"detail": "Not you."}),
        (NotFound("No such course."), 404, {"detail": "No such course."}),
        (Conflict("The course is full."), 409, {"detail": "The course is full."}),
    ],
)
def test_one_handler_maps_the_domains_errors_to_http(error: Exception, status: int, body: dict[str, Any]) -> None:
    request = APIRequestFactory().post("/courses/")
    response = exception_handler(error, {"request": request, "view": None})
    assert response is not None
    assert (response.status_code, response.data) == (status, body)
