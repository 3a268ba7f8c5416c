"""One factory per model. Unique fields come from sequences; nothing uses get_or_create."""

from decimal import Decimal
from typing import Any

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts.models import User
from courses.models import Category, Course, Enrollment, Review
from programmes.models import Programme, ProgrammeCourse


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    role = User.Role.STUDENT
    password = factory.django.Password("password-123")


class InstructorFactory(UserFactory):
    role = User.Role.INSTRUCTOR


class StaffFactory(UserFactory):
    role = User.Role.STAFF
    is_staff = True


class CategoryFactory(DjangoModelFactory[Category]):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class ProgrammeFactory(DjangoModelFactory[Programme]):
    class Meta:
        model = Programme

    title = factory.Sequence(lambda n: f"Programme {n:04d}")
    slug = factory.Sequence(lambda n: f"programme-{n}")
    summary = factory.Faker("sentence")
    description = factory.Faker("paragraph")
    is_active = True


class CourseFactory(DjangoModelFactory[Course]):
    class Meta:
        model = Course
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Course {n:04d}")
    slug = factory.Sequence(lambda n: f"course-{n}")
    summary = factory.Faker("sentence")
    description = factory.Faker("paragraph")
    category = factory.SubFactory(CategoryFactory)
    instructor = factory.SubFactory(InstructorFactory)
    price = Decimal("49.00")
    capacity = None
    is_published = True

    @factory.post_generation
    def programmes(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        """`CourseFactory(programmes=[p1, p2])` links the course at the end of each programme."""
        if not create or not extracted:
            return
        for programme in extracted:
            position = ProgrammeCourse.objects.filter(programme=programme).count()
            ProgrammeCourse.objects.create(programme=programme, course=self, position=position)


class ProgrammeCourseFactory(DjangoModelFactory[ProgrammeCourse]):
    class Meta:
        model = ProgrammeCourse

    programme = factory.SubFactory(ProgrammeFactory)
    course = factory.SubFactory(CourseFactory)
    position = factory.Sequence(lambda n: n)


class EnrollmentFactory(DjangoModelFactory[Enrollment]):
    class Meta:
        model = Enrollment

    user = factory.SubFactory(UserFactory)
    course = factory.SubFactory(CourseFactory)
    status = Enrollment.Status.ACTIVE
    progress = 0
    amount_paid = factory.LazyAttribute(lambda o: o.course.price)
    # Set exactly when completed (enrollment_completed_at_iff_completed).
    completed_at = factory.LazyAttribute(lambda o: timezone.now() if o.status == Enrollment.Status.COMPLETED else None)


class ReviewFactory(DjangoModelFactory[Review]):
    class Meta:
        model = Review

    user = factory.SubFactory(UserFactory)
    course = factory.SubFactory(CourseFactory)
    rating = 4
    comment = factory.Faker("sentence")
