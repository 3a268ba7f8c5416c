from django.db import migrations, models
from django.db.models import Count


def check_existing_rows(apps, schema_editor):
    """Refuse, with the count and the fix, instead of failing on the constraint's own error."""
    ProgrammeCourse = apps.get_model("programmes", "ProgrammeCourse")
    clashes = (
        ProgrammeCourse.objects.using(schema_editor.connection.alias)
        .values("programme_id", "position")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    count = clashes.count()
    if count:
        first = clashes.order_by("programme_id", "position").first()
        raise RuntimeError(
            f"{count} programme position(s) hold more than one course (first: programme {first['programme_id']}, "
            f"position {first['position']}). Renumber each programme's courses 0..n-1 first."
        )


class Migration(migrations.Migration):
    """The many-to-many moves to Programme (programmes sit above courses); the table and
    its rows are unchanged, so adding the field writes nothing."""

    dependencies = [
        ("courses", "0006_enrollment_completed_at_iff_completed"),
        ("programmes", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="programme",
            name="courses",
            field=models.ManyToManyField(
                blank=True, related_name="programmes", through="programmes.ProgrammeCourse", to="courses.course"
            ),
        ),
        migrations.RunPython(check_existing_rows, migrations.RunPython.noop, elidable=False),
        migrations.AddConstraint(
            model_name="programmecourse",
            constraint=models.UniqueConstraint(
                deferrable=models.Deferrable.DEFERRED,
                fields=("programme", "position"),
                name="programmecourse_position_unique",
            ),
        ),
    ]
