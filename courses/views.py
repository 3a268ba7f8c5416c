from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from accounts.models import User
from core.deferred_page import DeferredPageMixin

from .filters import CourseFilter, EnrollmentFilter
from .models import Course, Enrollment
from .selectors import (
    course_detail,
    course_is_visible,
    course_list,
    course_review_list,
    enrollment_list,
    instructor_course_list,
)
from .serializers import (
    CourseDetailSerializer,
    CourseListSerializer,
    EnrollmentSerializer,
    InstructorCourseSerializer,
    ReviewSerializer,
)

# An id that fits the BigAutoField (any 18 digits do): a longer one is a 404 from the
# router, before a query could hand the driver an integer it cannot bind.
ID_PATTERN = r"[0-9]{1,18}"
# The schema types the path's id as the integer it is (the regex alone reads as a string).
ID_PARAMETER = OpenApiParameter("id", int, OpenApiParameter.PATH)


class IsInstructorOrStaff(permissions.BasePermission):
    """Instructors and staff; anyone else is a 403 (anonymous a 401)."""

    message = "Only instructors and staff have a course dashboard."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(
            user.is_authenticated
            and (user.is_staff or getattr(user, "role", None) in (User.Role.INSTRUCTOR, User.Role.STAFF))
        )


@extend_schema_view(
    list=extend_schema(summary="Published courses (staff: all courses)"),
    retrieve=extend_schema(summary="A course with its description, seats and programmes", parameters=[ID_PARAMETER]),
)
class CourseViewSet(
    DeferredPageMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Course]
):
    """Courses: public reads of the catalogue; staff also see unpublished courses."""

    filterset_class = CourseFilter
    lookup_value_regex = ID_PATTERN
    serializer_classes: dict[str, type[BaseSerializer[Any]]] = {
        "list": CourseListSerializer,
        "retrieve": CourseDetailSerializer,
        "reviews": ReviewSerializer,
    }

    def get_queryset(self) -> QuerySet[Course]:
        if self.action == "retrieve":
            return course_detail(user=self.request.user)
        return course_list(user=self.request.user)

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        return self.serializer_classes.get(self.action, CourseListSerializer)

    @extend_schema(
        summary="The course's reviews, newest first",
        responses=ReviewSerializer(many=True),
        filters=False,
        parameters=[ID_PARAMETER],
    )
    @action(detail=True, methods=["get"], filterset_class=None)
    def reviews(self, request: Request, pk: str) -> Response:
        page = self.paginate_queryset(course_review_list(user=request.user, course_id=pk))
        # Only an empty page needs to ask whether the course is there to be seen.
        if not page and not course_is_visible(user=request.user, course_id=pk):
            raise NotFound
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema_view(
    list=extend_schema(summary="The caller's enrollments (staff: everyone's)"),
    retrieve=extend_schema(summary="One of the caller's enrollments (staff: any)", parameters=[ID_PARAMETER]),
)
class EnrollmentViewSet(
    DeferredPageMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Enrollment]
):
    """The caller's enrollments (staff: everyone's); someone else's is a 404."""

    permission_classes = [permissions.IsAuthenticated]
    filterset_class = EnrollmentFilter
    serializer_class = EnrollmentSerializer
    lookup_value_regex = ID_PATTERN

    def get_queryset(self) -> QuerySet[Enrollment]:
        return enrollment_list(user=self.request.user)


@extend_schema_view(list=extend_schema(summary="The caller's courses with their figures (staff: all courses)"))
class InstructorCourseViewSet(DeferredPageMixin, mixins.ListModelMixin, viewsets.GenericViewSet[Course]):
    """The instructor dashboard: the caller's courses with their figures (staff: all courses)."""

    permission_classes = [IsInstructorOrStaff]
    serializer_class = InstructorCourseSerializer

    def get_queryset(self) -> QuerySet[Course]:
        return instructor_course_list(user=self.request.user)
