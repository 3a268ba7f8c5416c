"""Programmes and their ordered courses in the admin."""

from typing import Any

from django.contrib import admin
from django.db.models import Count, OuterRef, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from core.admin_pagination import EstimatedCountPaginator
from core.aggregates import count_subquery

from .models import Programme, ProgrammeCourse


class ProgrammeCourseInline(admin.TabularInline):
    """The programme's courses in order: positions can change, rows can go, courses are
    shown as links. The course title comes with the rows (select_related), so the inline
    costs one query however many rows it has; an editable course widget would cost one
    per row."""

    model = ProgrammeCourse
    fields = ("position", "course")
    readonly_fields = ("course",)
    ordering = ("position", "id")
    extra = 0
    verbose_name_plural = "courses, in order"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProgrammeCourse]:
        # The programme too: each row is labelled with str(link), which names both.
        return super().get_queryset(request).select_related("programme", "course")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # new courses come through ProgrammeCourseAddInline


class ProgrammeCourseAddInline(admin.TabularInline):
    """Blank rows to add courses, picked by autocomplete (40,000 courses fit no <select>)."""

    model = ProgrammeCourse
    fields = ("course", "position")
    autocomplete_fields = ("course",)
    extra = 3
    max_num = 20  # per save: the form stays small
    verbose_name_plural = "add courses"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProgrammeCourse]:
        return super().get_queryset(request).none()

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin):
    # 50 rows, not 100: at millions of rows the page's cost is rendering, not SQL.
    list_per_page = 50
    list_display = ("title", "slug", "is_active", "course_count", "created_at")
    list_filter = ("is_active",)
    search_fields = ("title", "slug")
    ordering = ("title", "id")
    prepopulated_fields = {"slug": ("title",)}
    readonly_fields = ("created_at", "updated_at")
    inlines = (ProgrammeCourseInline, ProgrammeCourseAddInline)
    actions = ("activate", "deactivate")
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Programme]:
        # All of a programme's courses, drafts included: staff manage both.
        course_count = count_subquery(ProgrammeCourse.objects.filter(programme=OuterRef("pk")), "programme", Count("*"))
        return super().get_queryset(request).annotate(course_count=course_count)

    @admin.display(description="courses", ordering="course_count")
    def course_count(self, programme: Programme) -> int:
        return programme.course_count  # type: ignore[attr-defined,no-any-return]  # annotation

    @admin.action(description="Activate selected programmes")
    def activate(self, request: HttpRequest, queryset: QuerySet[Programme]) -> None:
        changed = queryset.filter(is_active=False).update(is_active=True, updated_at=timezone.now())
        self.message_user(request, f"Activated {changed} programme(s).")

    @admin.action(description="Deactivate selected programmes")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Programme]) -> None:
        changed = queryset.filter(is_active=True).update(is_active=False, updated_at=timezone.now())
        self.message_user(request, f"Deactivated {changed} programme(s).")


@admin.register(ProgrammeCourse)
class ProgrammeCourseAdmin(admin.ModelAdmin):
    # 50 rows, not 100: at millions of rows the page's cost is rendering, not SQL.
    list_per_page = 50
    list_display = ("programme", "position", "course")
    list_select_related = ("programme", "course")
    search_fields = ("programme__title", "course__title")
    autocomplete_fields = ("programme", "course")
    # The order index (programme_id, position, id); `programme` alone would sort by the
    # programme's title through a join.
    ordering = ("programme_id", "position", "id")
    paginator = EstimatedCountPaginator
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProgrammeCourse]:
        # The change, history and delete pages show str(link), which names both.
        return super().get_queryset(request).select_related("programme", "course")
