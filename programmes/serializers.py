from rest_framework import serializers

from .models import Programme


class ProgrammeListSerializer(serializers.ModelSerializer[Programme]):
    # Annotations from programmes.selectors.programme_list.
    course_count = serializers.IntegerField(read_only=True)
    student_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Programme
        fields = (
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
