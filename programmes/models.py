from django.db import models


class ProgrammeQuerySet(models.QuerySet["Programme"]):
    def active(self) -> "ProgrammeQuerySet":
        return self.filter(is_active=True)


class Programme(models.Model):
    """A named path through several courses, each at a position set per programme."""

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    summary = models.CharField(max_length=500, blank=True)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    courses = models.ManyToManyField("courses.Course", through="ProgrammeCourse", related_name="programmes", blank=True)

    objects = ProgrammeQuerySet.as_manager()

    class Meta:
        ordering = ("title", "id")
        indexes = [
            # The list's orderings, each with the id tie-breaker.
            models.Index(fields=["title", "id"], name="programme_title_id_idx"),
            models.Index(fields=["created_at", "id"], name="programme_created_id_idx"),
            models.Index(fields=["is_active", "title", "id"], name="programme_active_title_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class ProgrammeCourse(models.Model):
    """A course's place in a programme."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="course_links")
    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="programme_links")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("programme", "position", "id")
        constraints = [
            models.UniqueConstraint(fields=["programme", "course"], name="programmecourse_unique"),
            # Checked at commit, so that the admin's inline can swap two positions. SQLite
            # cannot defer a unique constraint and goes without (W038, silenced in settings).
            models.UniqueConstraint(
                fields=["programme", "position"],
                name="programmecourse_position_unique",
                deferrable=models.Deferrable.DEFERRED,
            ),
        ]
        indexes = [
            models.Index(fields=["programme", "position", "id"], name="programmecourse_order_idx"),
        ]

    def __str__(self) -> str:
        # Reads the programme and the course: lists that show it select them (admin).
        return f"{self.programme.title} — #{self.position}: {self.course.title}"
