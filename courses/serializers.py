from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from rest_framework import serializers

from accounts.models import User
from programmes.models import Programme

from .models import Category, Course, Enrollment, Review

# Read shapes only: every field is read-only, so the schema marks each one required.


class RoundedFloatField(serializers.FloatField):
    """A JSON number rounded half-up to `decimal_places` (an average, not money)."""

    def __init__(self, *, decimal_places: int = 2, **kwargs: Any) -> None:
        self.quantum = Decimal(1).scaleb(-decimal_places)
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> Any:
        return float(Decimal(str(value)).quantize(self.quantum, rounding=ROUND_HALF_UP))


class UserBriefSerializer(serializers.ModelSerializer[User]):
    name = serializers.CharField(read_only=True)  # User.name reads loaded columns only.

    class Meta:
        model = User
        fields = ("id", "name")
        read_only_fields = fields


class CategoryBriefSerializer(serializers.ModelSerializer[Category]):
    class Meta:
        model = Category
        fields = ("id", "name")
        read_only_fields = fields


class CourseBriefSerializer(serializers.ModelSerializer[Course]):
    class Meta:
        model = Course
        fields = ("id", "slug", "title")
        read_only_fields = fields


class CourseProgrammeSerializer(serializers.ModelSerializer[Programme]):
    class Meta:
        model = Programme
        fields = ("id", "slug", "title")
        read_only_fields = fields


class CourseListSerializer(serializers.ModelSerializer[Course]):
    category = CategoryBriefSerializer(read_only=True)
    instructor = UserBriefSerializer(read_only=True)
    # Annotations from courses.selectors.course_list (review_stats is a dict).
    enrollment_count = serializers.IntegerField(read_only=True)
    rating_average = RoundedFloatField(source="review_stats.rating_average", allow_null=True)
    rating_count = serializers.IntegerField(source="review_stats.rating_count", read_only=True)

    class Meta:
        model = Course
        fields: tuple[str, ...] = (
            "id",
            "slug",
            "title",
            "summary",
            "price",
            "category",
            "instructor",
            "is_published",
            "enrollment_count",
            "rating_average",
            "rating_count",
            "created_at",
        )
        read_only_fields = fields


class CourseDetailSerializer(CourseListSerializer):
    # Annotation from courses.selectors.course_detail; null when the capacity is unlimited.
    seats_left = serializers.IntegerField(read_only=True, allow_null=True)
    programmes = CourseProgrammeSerializer(many=True, read_only=True)  # Prefetched by course_detail.

    class Meta(CourseListSerializer.Meta):
        fields = (*CourseListSerializer.Meta.fields, "description", "capacity", "seats_left", "programmes")
        read_only_fields = fields


class ReviewSerializer(serializers.ModelSerializer[Review]):
    user = UserBriefSerializer(read_only=True)

    class Meta:
        model = Review
        fields = ("id", "user", "rating", "comment", "created_at")
        read_only_fields = fields


class EnrollmentSerializer(serializers.ModelSerializer[Enrollment]):
    user = UserBriefSerializer(read_only=True)
    course = CourseBriefSerializer(read_only=True)

    class Meta:
        model = Enrollment
        fields = ("id", "user", "course", "status", "progress", "amount_paid", "enrolled_at", "completed_at")
        read_only_fields = fields


class InstructorCourseSerializer(serializers.ModelSerializer[Course]):
    # From enrollment_stats and review_stats (dicts), annotations of
    # courses.selectors.instructor_course_list.
    student_count = serializers.IntegerField(source="enrollment_stats.student_count", read_only=True)
    active_count = serializers.IntegerField(source="enrollment_stats.active_count", read_only=True)
    completed_count = serializers.IntegerField(source="enrollment_stats.completed_count", read_only=True)
    revenue = serializers.DecimalField(
        source="enrollment_stats.revenue", max_digits=None, decimal_places=2, read_only=True
    )
    average_progress = RoundedFloatField(source="enrollment_stats.average_progress", allow_null=True)
    rating_average = RoundedFloatField(source="review_stats.rating_average", allow_null=True)
    rating_count = serializers.IntegerField(source="review_stats.rating_count", read_only=True)

    class Meta:
        model = Course
        fields = (
            "id",
            "title",
            "is_published",
            "student_count",
            "active_count",
            "completed_count",
            "revenue",
            "average_progress",
            "rating_average",
            "rating_count",
        )
        read_only_fields = fields
