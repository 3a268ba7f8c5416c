"""Categories, courses, enrollments and reviews in the admin, at the large demo scale.

Big tables (courses, enrollments, reviews) use the estimating paginator, foreign keys to
users and courses use autocomplete, list filters only offer fixed choices or the twenty
categories, and counts come from correlated subqueries on the page's rows only.
"""

import csv
from collections.abc import Iterator
from typing import Any

from django.contrib import admin
from django.db.models import Count, OuterRef, Q, QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone

from accounts.models import User
from core.admin_pagination import EstimatedCountPaginator
from core.aggregates import count_subquery

from .models import Category, Course, Enrollment, Review

EXPORT_CHUNK_SIZE = 2_000


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "course_count")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Category]:
        course_count = count_subquery(Course.objects.filter(category=OuterRef("pk")), "category", Count("*"))
        return super().get_queryset(request).annotate(course_count=course_count)

    @admin.display(description="courses", ordering="course_count")
    def course_count(self, category: Category) -> int:
        return category.course_count  # type: ignore[attr-defined,no-any-return]  # annotation


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    # 50 rows, not 100: at millions of rows the page's cost is rendering, not SQL.
    list_per_page = 50
    list_display = (
        "title",
        "category",
        "instructor",
        "price",
        "capacity",
        "held_count",
        "is_published",
        "created_at",
    )
    list_select_related = ("category", "instructor")
    list_filter = ("is_published", "category")
    # Title only: it has a trigram index (courses.0003); an OR with another column would
    # scan the table.
    search_fields = ("title",)
    search_help_text = "Part of the course title."
    ordering = ("title", "id")
    autocomplete_fields = ("instructor",)
    prepopulated_fields = {"slug": ("title",)}
    readonly_fields = ("created_at", "updated_at")
    actions = ("publish", "unpublish")
    paginator = EstimatedCountPaginator
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Course]:
        # COUNT(*), not COUNT(id): the count then reads enrollment_course_agg_idx alone (an
        # index-only scan), for the page's rows only.
        held_count = count_subquery(
            Enrollment.objects.filter(course=OuterRef("pk"), status__in=Enrollment.HELD_STATUSES),
            "course",
            Count("*"),
        )
        return super().get_queryset(request).annotate(held_count=held_count)

    # Not sortable: ordering by it would count the enrollments of every course.
    @admin.display(description="enrollments (held)")
    def held_count(self, course: Course) -> int:
        return course.held_count  # type: ignore[attr-defined,no-any-return]  # annotation

    @admin.action(description="Publish selected courses")
    def publish(self, request: HttpRequest, queryset: QuerySet[Course]) -> None:
        changed = queryset.filter(is_published=False).update(is_published=True, updated_at=timezone.now())
        self.message_user(request, f"Published {changed} course(s).")

    @admin.action(description="Unpublish selected courses")
    def unpublish(self, request: HttpRequest, queryset: QuerySet[Course]) -> None:
        changed = queryset.filter(is_published=True).update(is_published=False, updated_at=timezone.now())
        self.message_user(request, f"Unpublished {changed} course(s).")


class UserOrCourseSearchAdmin(admin.ModelAdmin):
    """An admin whose search finds rows with `user` and `course` foreign keys by the user's
    e-mail or the course's title, as one phrase.

    Django's default search ORs two LIKEs across the joins, which no index can serve: it
    reads every enrollment. Here the matching users and courses come first, from their
    trigram indexes (accounts.0002, courses.0003), one query each:

    - a precise term (at most SEARCH_ID_LIMIT of each): the rows are looked up by those
      ids through the foreign keys' indexes; the cost follows the number of matches;
    - a broad one ("gmail", "intro"): matching rows are everywhere, so the changelist's
      own order index finds a page of them at once, checking each row against the two
      sets; a list of 200,000 ids would instead fetch and sort millions of rows.
    """

    # 50 rows, not 100: at millions of rows the page's cost is rendering, not SQL.
    list_per_page = 50

    SEARCH_ID_LIMIT = 1_000
    search_fields = ("user__email", "course__title")
    search_help_text = "Part of the learner's e-mail or of the course title."

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        users = User.objects.filter(email__icontains=term).order_by().values_list("pk", flat=True)
        courses = Course.objects.filter(title__icontains=term).order_by().values_list("pk", flat=True)
        user_ids = list(users[: self.SEARCH_ID_LIMIT + 1])
        course_ids = list(courses[: self.SEARCH_ID_LIMIT + 1])
        if len(user_ids) <= self.SEARCH_ID_LIMIT and len(course_ids) <= self.SEARCH_ID_LIMIT:
            return queryset.filter(Q(user_id__in=user_ids) | Q(course_id__in=course_ids)), False
        return queryset.filter(Q(user__in=users) | Q(course__in=courses)), False


class _Echo:
    """A file whose write() returns the line: csv.writer then yields lines one by one."""

    def write(self, value: str) -> str:
        return value


def _csv_safe(value: Any) -> Any:
    """Keep a spreadsheet from reading a cell as a formula (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@admin.register(Enrollment)
class EnrollmentAdmin(UserOrCourseSearchAdmin):
    list_display = ("id", "user", "course", "status", "progress", "amount_paid", "enrolled_at", "completed_at")
    list_select_related = ("user", "course")
    list_filter = ("status",)
    # The enrollment_recent_idx order: a page is an index range, not a sort.
    ordering = ("-enrolled_at", "id")
    autocomplete_fields = ("user", "course")
    readonly_fields = ("enrolled_at",)
    actions = ("cancel", "export_csv")
    paginator = EstimatedCountPaginator
    show_full_result_count = False

    EXPORT_COLUMNS = (
        ("id", "id"),
        ("user_email", "user__email"),
        ("course_slug", "course__slug"),
        ("course_title", "course__title"),
        ("status", "status"),
        ("progress", "progress"),
        ("amount_paid", "amount_paid"),
        ("enrolled_at", "enrolled_at"),
        ("completed_at", "completed_at"),
    )

    @admin.action(description="Cancel selected active enrollments")
    def cancel(self, request: HttpRequest, queryset: QuerySet[Enrollment]) -> None:
        # As enrollment_cancel does for one: active ones only; completed ones stay completed.
        cancelled = queryset.filter(status=Enrollment.Status.ACTIVE).update(status=Enrollment.Status.CANCELLED)
        self.message_user(
            request, f"Cancelled {cancelled} active enrollment(s); completed and cancelled ones are unchanged."
        )

    @admin.action(description="Export selected enrollments as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Enrollment]) -> StreamingHttpResponse:
        # values_list joins users and courses in the one query (what select_related would
        # do, without building model instances), and iterator() reads it in chunks through
        # a server-side cursor on PostgreSQL: memory stays flat for a million rows.
        rows = (
            queryset.order_by("pk")
            .values_list(*(lookup for _header, lookup in self.EXPORT_COLUMNS))
            .iterator(chunk_size=EXPORT_CHUNK_SIZE)
        )
        writer = csv.writer(_Echo())

        def lines() -> Iterator[str]:
            yield writer.writerow([header for header, _lookup in self.EXPORT_COLUMNS])
            for row in rows:
                yield writer.writerow([_csv_safe(value) for value in row])

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="enrollments.csv"'
        return response


class RatingFilter(admin.SimpleListFilter):
    """Fixed choices 1-5: the default filter would SELECT DISTINCT rating over every review."""

    title = "rating"
    parameter_name = "rating"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(n), "★" * n) for n in range(5, 0, -1)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value in {"1", "2", "3", "4", "5"}:
            return queryset.filter(rating=int(value))
        return queryset


@admin.register(Review)
class ReviewAdmin(UserOrCourseSearchAdmin):
    list_display = ("id", "user", "course", "rating", "short_comment", "created_at")
    list_select_related = ("user", "course")
    list_filter = (RatingFilter,)
    # Newest first by id (the primary key index); there is no index on created_at alone.
    ordering = ("-id",)
    autocomplete_fields = ("user", "course")
    readonly_fields = ("created_at",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False

    @admin.display(description="comment")
    def short_comment(self, review: Review) -> str:
        return review.comment if len(review.comment) <= 60 else review.comment[:59] + "…"
