"""Programme services: rules and exact query budgets (savepoints counted: see
tests/courses/test_services.py)."""

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from courses.models import Course, Enrollment
from programmes.models import Programme, ProgrammeCourse
from programmes.services import programme_create, programme_delete, programme_update
from tests.factories import CourseFactory, EnrollmentFactory, ProgrammeFactory

pytestmark = pytest.mark.django_db


def test_create() -> None:
    programme = programme_create(title="Data", slug="data", summary="S", description="D", is_active=False)
    stored = Programme.objects.get(pk=programme.pk)
    assert (stored.title, stored.slug, stored.summary, stored.description, stored.is_active) == (
        "Data",
        "data",
        "S",
        "D",
        False,
    )


def test_create_duplicate_slug_is_400() -> None:
    ProgrammeFactory(slug="data")
    with pytest.raises(ValidationError) as exc:
        programme_create(title="Other", slug="data")
    assert "slug" in exc.value.message_dict
    assert Programme.objects.count() == 1


def test_create_query_budget(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(3):  # SAVEPOINT, INSERT, RELEASE
        programme_create(title="Data", slug="data")


def test_update() -> None:
    programme = ProgrammeFactory(slug="data", title="Old")
    programme_update(programme=programme, fields={"title": "New", "slug": "data", "is_active": False})
    stored = Programme.objects.get(pk=programme.pk)
    assert (stored.title, stored.is_active) == ("New", False)


def test_update_slug_taken_is_400_and_changes_nothing() -> None:
    ProgrammeFactory(slug="taken")
    programme = ProgrammeFactory(slug="mine", title="Old")
    with pytest.raises(ValidationError):
        programme_update(programme=programme, fields={"slug": "taken", "title": "New"})
    stored = Programme.objects.get(pk=programme.pk)
    assert (stored.slug, stored.title) == ("mine", "Old")


def test_update_unknown_field_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        programme_update(programme=ProgrammeFactory(), fields={"id": 3})


def test_update_query_budget(django_assert_num_queries: Any) -> None:
    programme = ProgrammeFactory(slug="old")
    with django_assert_num_queries(3):  # SAVEPOINT, UPDATE, RELEASE
        programme_update(programme=programme, fields={"slug": "new", "title": "T"})


def test_delete_keeps_courses_and_enrollments() -> None:
    programme = ProgrammeFactory()
    courses = CourseFactory.create_batch(2, programmes=[programme])
    EnrollmentFactory(course=courses[0])
    programme_delete(programme=programme)
    assert not Programme.objects.exists()
    assert not ProgrammeCourse.objects.exists()
    assert Course.objects.count() == 2
    assert Enrollment.objects.count() == 1


@pytest.mark.parametrize("courses", [1, 30])
def test_delete_query_budget(django_assert_num_queries: Any, courses: int) -> None:
    programme = ProgrammeFactory()
    CourseFactory.create_batch(courses, programmes=[programme])
    with django_assert_num_queries(4):  # SAVEPOINT, DELETE links, DELETE programme, RELEASE
        programme_delete(programme=programme)
