from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.db.models import Q

if TYPE_CHECKING:
    from accounts.models import User


class Category(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)

    class Meta:
        ordering = ("name", "id")
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class CourseQuerySet(models.QuerySet["Course"]):
    def published(self) -> "CourseQuerySet":
        return self.filter(is_published=True)

    def visible_to(self, user: "User | None") -> "CourseQuerySet":
        """Staff see every course; everyone else the published ones."""
        if user is not None and user.is_authenticated and user.is_staff:
            return self.all()
        return self.published()


class Course(models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    summary = models.CharField(max_length=500, blank=True)
    description = models.TextField(blank=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="courses")
    instructor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="taught_courses")
    price = models.DecimalField(max_digits=10, decimal_places=2)
    capacity = models.PositiveIntegerField(null=True, blank=True, help_text="Empty means unlimited.")
    is_published = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # `programmes`: the reverse side of Programme.courses (programmes sit above courses).

    objects = CourseQuerySet.as_manager()

    class Meta:
        ordering = ("title", "id")
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="course_price_non_negative"),
        ]
        indexes = [
            # Public lists filter on is_published and order by one of these, id last.
            models.Index(fields=["is_published", "title", "id"], name="course_pub_title_idx"),
            models.Index(fields=["is_published", "price", "id"], name="course_pub_price_idx"),
            models.Index(fields=["is_published", "created_at", "id"], name="course_pub_created_idx"),
            models.Index(fields=["title", "id"], name="course_title_id_idx"),
            # A category's published courses in title order: without it the planner walks
            # course_pub_title_idx and discards the other categories' rows (45-115 ms at
            # the large scale; 0.5 ms with it, bench/RESULTS.md).
            models.Index(
                fields=["category", "title", "id"], condition=Q(is_published=True), name="course_pub_cat_title_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Enrollment(models.Model):
    # A module-level enum, so that the constraints below can name its values.
    Status = EnrollmentStatus

    # Statuses that hold a seat and count as a student of the course.
    HELD_STATUSES = (Status.ACTIVE, Status.COMPLETED)

    # No single-column indexes on the keys: the unique (user, course) constraint and
    # enrollment_course_agg_idx lead with them already, and each extra index slows writes.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="enrollments", db_index=False
    )
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="enrollments", db_index=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    progress = models.PositiveSmallIntegerField(default=0)
    amount_paid = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    enrolled_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-enrolled_at", "id")
        constraints = [
            models.UniqueConstraint(fields=["user", "course"], name="enrollment_one_per_user_course"),
            models.CheckConstraint(condition=Q(progress__gte=0, progress__lte=100), name="enrollment_progress_range"),
            models.CheckConstraint(condition=Q(amount_paid__gte=0), name="enrollment_amount_non_negative"),
            models.CheckConstraint(condition=Q(status__in=EnrollmentStatus.values), name="enrollment_status_valid"),
            # A completion date exactly when completed: a cancel or re-enrol clears it.
            models.CheckConstraint(
                condition=(
                    Q(status=EnrollmentStatus.COMPLETED, completed_at__isnull=False)
                    | (~Q(status=EnrollmentStatus.COMPLETED) & Q(completed_at__isnull=True))
                ),
                name="enrollment_completed_at_iff_completed",
            ),
        ]
        indexes = [
            # Per-course aggregates (counts, revenue, progress) read only this index.
            models.Index(
                fields=["course", "status", "user", "progress", "amount_paid"], name="enrollment_course_agg_idx"
            ),
            # A learner's own list, newest first.
            models.Index(fields=["user", "-enrolled_at", "id"], name="enrollment_user_recent_idx"),
            models.Index(fields=["-enrolled_at", "id"], name="enrollment_recent_idx"),
            # One status, newest first (the admin's status filter, the API's ?status=): its
            # deep pages walk this index alone instead of sorting every row of that status.
            models.Index(fields=["status", "-enrolled_at", "id"], name="enrollment_status_recent_idx"),
        ]

    def __str__(self) -> str:
        # Reads the user and the course: lists that show it select them (admin).
        return f"{self.user.email} — {self.course.title} ({self.get_status_display().lower()})"


class Review(models.Model):
    # Covered by the unique (user, course) constraint and review_course_recent_idx.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews", db_index=False)
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="reviews", db_index=False)
    rating = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "id")
        constraints = [
            models.UniqueConstraint(fields=["user", "course"], name="review_one_per_user_course"),
            models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="review_rating_range"),
        ]
        indexes = [
            models.Index(fields=["course", "-created_at", "id"], name="review_course_recent_idx"),
            models.Index(fields=["course", "rating"], name="review_course_rating_idx"),
        ]

    def __str__(self) -> str:
        # Reads the user and the course: lists that show it select them (admin).
        return f"{self.rating}/5 by {self.user.email} — {self.course.title}"


# Programmes sit above courses and declare the relation (Programme.courses, through
# ProgrammeCourse). Course writes and the course detail reach its rows through it, by
# the relation rather than an import, so courses never imports programmes.


def linked_programmes() -> models.QuerySet[Any]:
    """Every programme, as rows of the model on the other side of `Course.programmes`."""
    return Course._meta.get_field("programmes").related_model._default_manager.all()


def programme_links() -> models.QuerySet[Any]:
    """Every course-in-programme link (`programme_id`, `course_id`, `position`)."""
    return Course.programmes.through._default_manager.all()


def programme_link(**fields: Any) -> models.Model:
    """A new, unsaved course-in-programme link."""
    return Course.programmes.through(**fields)
