"""What each model is called wherever Django shows a row (admin titles, inlines, messages,
history): a person reads names, not ids, and the pages that show them select what the
label reads with the row."""

from typing import Any

import pytest
from django.contrib.admin.sites import site
from django.contrib.contenttypes.models import ContentType
from django.test import Client

from core.models import IdempotencyKey
from courses.models import Enrollment, Review
from programmes.models import ProgrammeCourse
from tests.factories import (
    CategoryFactory,
    CourseFactory,
    EnrollmentFactory,
    ProgrammeCourseFactory,
    ProgrammeFactory,
    ReviewFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

AUTH = 2  # session + user


@pytest.fixture(autouse=True)
def _warm_content_types() -> None:
    """Cached per process: a running server has them already."""
    ContentType.objects.get_for_models(*site._registry)


@pytest.fixture
def course() -> Any:
    return CourseFactory(title="Statistics 101", category=CategoryFactory(name="Data"))


def test_every_label_names_what_a_person_knows(course: Any) -> None:
    learner = UserFactory(email="ada@example.com")
    link = ProgrammeCourseFactory(programme=ProgrammeFactory(title="Data Science"), course=course, position=2)
    enrollment = EnrollmentFactory(user=learner, course=course)
    review = ReviewFactory(user=learner, course=course, rating=4)

    assert str(ProgrammeCourse.objects.get(pk=link.pk)) == "Data Science — #2: Statistics 101"
    assert str(Enrollment.objects.get(pk=enrollment.pk)) == "ada@example.com — Statistics 101 (active)"
    assert str(Review.objects.get(pk=review.pk)) == "4/5 by ada@example.com — Statistics 101"
    assert str(course) == "Statistics 101"
    assert str(course.category) == "Data"
    assert str(link.programme) == "Data Science"
    assert str(learner) == "ada@example.com"
    assert str(IdempotencyKey(key="k-1", status_code=201)) == "Idempotency-Key 'k-1': 201"
    assert str(IdempotencyKey(key="k-2")) == "Idempotency-Key 'k-2': no answer yet"


@pytest.mark.parametrize("courses", [1, 30])
def test_programme_inline_labels_cost_no_query(
    admin_client: Client, django_assert_num_queries: Any, courses: int
) -> None:
    programme = ProgrammeFactory(title="Data Science")
    CourseFactory.create_batch(courses, programmes=[programme])
    first = ProgrammeCourse.objects.filter(programme=programme).select_related("course").order_by("position")[0]
    # + the programme + the inline's rows with their programme and course
    with django_assert_num_queries(AUTH + 2):
        response = admin_client.get(f"/admin/programmes/programme/{programme.pk}/change/")
    assert f"Data Science — #{first.position}: {first.course.title}" in response.content.decode()


@pytest.mark.parametrize(
    ("make", "url"),
    [
        (
            lambda c: ProgrammeCourseFactory(programme=ProgrammeFactory(title="Data Science"), course=c, position=2),
            "/admin/programmes/programmecourse/{pk}/change/",
        ),
        (
            lambda c: EnrollmentFactory(user=UserFactory(email="ada@example.com"), course=c),
            "/admin/courses/enrollment/{pk}/change/",
        ),
        (
            lambda c: ReviewFactory(user=UserFactory(email="ada@example.com"), course=c, rating=4),
            "/admin/courses/review/{pk}/change/",
        ),
    ],
)
def test_change_pages_show_the_label_in_their_budget(
    admin_client: Client, django_assert_num_queries: Any, course: Any, make: Any, url: str
) -> None:
    row = make(course)
    label = str(type(row).objects.select_related().get(pk=row.pk))
    # + the row with what its label reads + the two autocomplete labels
    with django_assert_num_queries(AUTH + 3):
        response = admin_client.get(url.format(pk=row.pk))
    assert response.status_code == 200
    assert label in response.content.decode()
