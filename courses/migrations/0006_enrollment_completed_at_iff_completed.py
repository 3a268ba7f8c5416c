from django.db import migrations, models
from django.db.models import Q


def check_existing_rows(apps, schema_editor):
    """Refuse, with the count and the fix, instead of failing on the constraint's own error."""
    Enrollment = apps.get_model("courses", "Enrollment")
    completed = Q(status="completed")
    bad = Enrollment.objects.using(schema_editor.connection.alias).filter(
        (completed & Q(completed_at__isnull=True)) | (~completed & Q(completed_at__isnull=False))
    )
    count = bad.count()
    if count:
        raise RuntimeError(
            f"{count} enrollment(s) disagree between status and completed_at (ids from {bad.order_by('id').first().id}). "
            "Fix them first, e.g. UPDATE courses_enrollment SET completed_at = NULL WHERE status <> 'completed'; "
            "and set completed_at on completed ones."
        )


class Migration(migrations.Migration):

    dependencies = [
        ("courses", "0005_course_published_category_title_idx"),
    ]

    operations = [
        migrations.RunPython(check_existing_rows, migrations.RunPython.noop, elidable=False),
        migrations.AddConstraint(
            model_name="enrollment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("completed_at__isnull", False), ("status", "completed")),
                    models.Q(models.Q(("status", "completed"), _negated=True), ("completed_at__isnull", True)),
                    _connector="OR",
                ),
                name="enrollment_completed_at_iff_completed",
            ),
        ),
    ]
