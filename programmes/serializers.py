from rest_framework import serializers

from accounts.serializers import UserBriefSerializer
from core.serializers import MAX_DESCRIPTION_LENGTH, StrictInputSerializer
from courses.models import Course
from programmes.models import Programme

# Read shapes: every field is read-only, so the schema marks each one required. The write
# shape, a separate class, is at the end.


class ProgrammeListSerializer(serializers.ModelSerializer[Programme]):
    # Annotations from programmes.selectors.programme_list.
    course_count = serializers.IntegerField(read_only=True)
    student_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Programme
        fields: tuple[str, ...] = (
            "id",
            "slug",
            "title",
            "summary",
            "is_active",
            "course_count",
            "student_count",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class ProgrammeDetailCourseSerializer(serializers.ModelSerializer[Course]):
    instructor = UserBriefSerializer(read_only=True)
    # Annotation from the prefetch of programmes.selectors.programme_detail.
    enrollment_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Course
        fields = ("id", "slug", "title", "instructor", "enrollment_count")
        read_only_fields = fields


class ProgrammeDetailSerializer(ProgrammeListSerializer):
    # Prefetched by programmes.selectors.programme_detail, in programme order.
    courses = ProgrammeDetailCourseSerializer(source="published_courses", many=True, read_only=True)

    class Meta(ProgrammeListSerializer.Meta):
        fields = (*ProgrammeListSerializer.Meta.fields, "description", "courses")
        read_only_fields = fields


class ProgrammeWriteSerializer(StrictInputSerializer[Programme]):
    """`POST /programmes/`, `PUT|PATCH /programmes/{id}/`: only these fields can be set; the
    rules (a unique slug) are in programmes.services."""

    title = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=200)
    summary = serializers.CharField(max_length=500, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True, max_length=MAX_DESCRIPTION_LENGTH)
    is_active = serializers.BooleanField(required=False)
