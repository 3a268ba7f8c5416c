from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from accounts.serializers import UserBriefSerializer
from core.filters import MAX_ID
from core.serializers import MAX_DESCRIPTION_LENGTH, StrictInputSerializer

from .models import Category, Course, Enrollment, Review

# Read shapes: every field is read-only, so the schema marks each one required. The write
# shapes, separate classes, are at the end.


class RoundedFloatField(serializers.FloatField):
    """A JSON number rounded half-up to `decimal_places` (an average, not money)."""

    def __init__(self, *, decimal_places: int = 2, **kwargs: Any) -> None:
        self.quantum = Decimal(1).scaleb(-decimal_places)
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> Any:
        return float(Decimal(str(value)).quantize(self.quantum, rounding=ROUND_HALF_UP))


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


class CourseProgrammeSerializer(serializers.Serializer[Any]):
    """A programme the course is in. A plain shape: programmes sit above courses, and the
    rows come from the relation they declare (prefetched by courses.selectors.course_detail)."""

    id = serializers.IntegerField(read_only=True)
    slug = serializers.SlugField(max_length=200, read_only=True)
    title = serializers.CharField(max_length=200, read_only=True)


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


# --- Write shapes ----------------------------------------------------------------------
# Only the fields a caller may set; anything else sent is ignored (DRF's convention), so
# `user`, `course`, `amount_paid`, `status`, timestamps and, for non-staff, `instructor`
# cannot be assigned. The rules (unique slugs, seats, roles) are in courses.services.


# The schema gives the range: 0 and 2**63 are refused (an id in range naming no row is
# the one refusal a schema cannot state).
@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID, "format": "int64"})
class IdRelatedField(serializers.PrimaryKeyRelatedField):  # type: ignore[type-arg]
    """A primary key within the column's range (a larger integer is a 400, not a driver error)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, int | str) or (isinstance(data, str) and not data.isdigit()):
            self.fail("incorrect_type", data_type=type(data).__name__)
        # An integer out of range (0, -1, 2**63) is no object: "Invalid pk", not "incorrect type".
        if not 1 <= int(data) <= MAX_ID:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(int(data))


class CourseWriteSerializer(StrictInputSerializer[Course]):
    """`POST /courses/`, `PUT|PATCH /courses/{id}/`."""

    title = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=200)
    summary = serializers.CharField(max_length=500, required=False, allow_blank=True)
    # Bounded, like every text a client sends (found by tests/core/test_bad_input.py: a
    # 3 MB description was stored as it came).
    description = serializers.CharField(required=False, allow_blank=True, max_length=MAX_DESCRIPTION_LENGTH)
    price = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal(0))
    category = IdRelatedField(queryset=Category.objects.all())
    capacity = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False, allow_null=True)
    is_published = serializers.BooleanField(required=False)
    programmes = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False, max_length=1000
    )
    instructor = IdRelatedField(queryset=User.objects.all(), required=False, help_text="Staff only; ignored otherwise.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and not request.user.is_staff:
            # Not validated, not looked up: for non-staff it is simply ignored.
            self.fields.pop("instructor")


class EnrollmentProgressSerializer(StrictInputSerializer[Enrollment]):
    """`PATCH /enrollments/{id}/`: progress only."""

    progress = serializers.IntegerField(min_value=0, max_value=100)


class BulkEnrollmentSerializer(StrictInputSerializer[Any]):
    """`POST /courses/{id}/enrollments/bulk/`."""

    user_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), allow_empty=False, max_length=10_000
    )


class BulkEnrollmentResultSerializer(serializers.Serializer[Any]):
    created = serializers.IntegerField(read_only=True)
    skipped = serializers.IntegerField(read_only=True)


class ReviewCreateSerializer(StrictInputSerializer[Review]):
    """`POST /courses/{id}/reviews/`."""

    rating = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")
