from typing import Any, cast

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from accounts.models import User
from accounts.permissions import MayEnroll
from core.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from core.permissions import IsStaff
from core.schema import CONFLICT, FORBIDDEN, ID_PARAMETER, ID_PATTERN

from .filters import CourseFilter, EnrollmentFilter
from .models import Course, Enrollment
from .permissions import CourseWritePermission, IsInstructorOrStaff
from .selectors import (
    course_detail,
    course_editable_list,
    course_enrollable_list,
    course_is_visible,
    course_list,
    course_review_list,
    enrollment_list,
    instructor_course_list,
)
from .serializers import (
    BulkEnrollmentResultSerializer,
    BulkEnrollmentSerializer,
    CourseDetailSerializer,
    CourseListSerializer,
    CourseWriteSerializer,
    EnrollmentProgressSerializer,
    EnrollmentSerializer,
    InstructorCourseSerializer,
    ReviewCreateSerializer,
    ReviewSerializer,
)
from .services import (
    course_create,
    course_delete,
    course_update,
    enrollment_cancel,
    enrollment_create,
    enrollment_update_progress,
    enrollments_bulk_create,
    review_create,
)


@extend_schema_view(
    list=extend_schema(summary="Published courses (staff: all courses)"),
    retrieve=extend_schema(summary="A course with its description, seats and programmes", parameters=[ID_PARAMETER]),
    create=extend_schema(
        summary="Create a course (staff or instructor; an instructor is always its instructor)",
        request=CourseWriteSerializer,
        responses={201: CourseDetailSerializer, 403: FORBIDDEN},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    ),
    update=extend_schema(
        summary="Replace a course (staff or its instructor)",
        request=CourseWriteSerializer,
        responses={200: CourseDetailSerializer, 403: FORBIDDEN},
        parameters=[ID_PARAMETER],
    ),
    partial_update=extend_schema(
        summary="Change a course (staff or its instructor)",
        request=CourseWriteSerializer,
        responses={200: CourseDetailSerializer, 403: FORBIDDEN},
        parameters=[ID_PARAMETER],
    ),
    destroy=extend_schema(
        summary="Delete a course without enrollments (else 409)",
        responses={204: None, 403: FORBIDDEN, 409: CONFLICT},
        parameters=[ID_PARAMETER],
    ),
)
class CourseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Course]):
    """Courses: public reads of the catalogue (staff also see unpublished courses); writes by
    staff or the course's instructor; enrol, bulk enrol and review."""

    permission_classes = [CourseWritePermission]
    filterset_class = CourseFilter
    # Cached anonymous reads, with the catalogue families each page reads (core.catalogue_routes);
    # only the detail shows exact seats.
    catalogue_families = {
        "list": ("programmes", "courses", "users", "reviews"),
        "retrieve": ("programmes", "courses", "users", "reviews", "seats"),
        "reviews": ("courses", "users", "reviews"),
    }
    lookup_value_regex = ID_PATTERN
    serializer_classes: dict[str, type[BaseSerializer[Any]]] = {
        "list": CourseListSerializer,
        "retrieve": CourseDetailSerializer,
        "reviews": ReviewSerializer,
        "create": CourseWriteSerializer,
        "update": CourseWriteSerializer,
        "partial_update": CourseWriteSerializer,
    }

    def get_queryset(self) -> QuerySet[Course]:
        if self.action in ("update", "partial_update", "destroy"):
            return course_editable_list()
        if self.action in ("enroll", "enrollments_bulk") or (
            self.action == "reviews" and self.request.method == "POST"
        ):
            return course_enrollable_list(user=self.request.user)
        if self.action == "retrieve":
            return course_detail(user=self.request.user)
        return course_list(user=self.request.user)

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        return self.serializer_classes.get(self.action, CourseListSerializer)

    def _written(self, course: Course) -> dict[str, Any]:
        """A course just written, as `GET /courses/{id}/` shows it, published or not."""
        fresh = course_detail(user=self.request.user, all_courses=True).get(pk=course.pk)
        return CourseDetailSerializer(fresh, context=self.get_serializer_context()).data

    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        course = course_create(actor=cast(User, request.user), **serializer.validated_data)
        return Response(self._written(course), status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        course = self.get_object()
        serializer = self.get_serializer(data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        course_update(course=course, actor=cast(User, request.user), fields=serializer.validated_data)
        return Response(self._written(course))

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        course_delete(course=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Enrol the caller: 201 the first time, 200 when already enrolled (a cancelled one is reactivated)",
        request=None,
        responses={201: EnrollmentSerializer, 200: EnrollmentSerializer, 403: FORBIDDEN, 409: CONFLICT},
        filters=False,
        parameters=[ID_PARAMETER, IDEMPOTENCY_KEY_PARAMETER],
    )
    # MayEnroll: a 403 for an unconfirmed e-mail address when UNVERIFIED_USERS_MAY_ENROLL=false.
    @action(
        detail=True, methods=["post"], filterset_class=None, permission_classes=[permissions.IsAuthenticated, MayEnroll]
    )
    @idempotent
    def enroll(self, request: Request, pk: str) -> Response:
        enrollment, created = enrollment_create(user=cast(User, request.user), course=self.get_object())
        return Response(
            EnrollmentSerializer(enrollment).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(
        summary="Enrol many users at once (staff; up to 10,000 ids; all or nothing within capacity)",
        request=BulkEnrollmentSerializer,
        responses={200: BulkEnrollmentResultSerializer, 403: FORBIDDEN, 409: CONFLICT},
        filters=False,
        parameters=[ID_PARAMETER, IDEMPOTENCY_KEY_PARAMETER],
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="enrollments/bulk",
        filterset_class=None,
        permission_classes=[IsStaff],
    )
    @idempotent
    def enrollments_bulk(self, request: Request, pk: str) -> Response:
        # The course first, as every other write on one: no such course is a 404 whatever the body.
        course = self.get_object()
        serializer = BulkEnrollmentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = enrollments_bulk_create(course=course, user_ids=serializer.validated_data["user_ids"])
        return Response(result)

    @extend_schema(
        methods=["GET"],
        summary="The course's reviews, newest first",
        responses=ReviewSerializer(many=True),
        filters=False,
        parameters=[ID_PARAMETER],
    )
    @extend_schema(
        methods=["POST"],
        summary="Review the course (a learner with an active or completed enrollment; one each)",
        request=ReviewCreateSerializer,
        responses={201: ReviewSerializer, 403: FORBIDDEN, 409: CONFLICT},
        filters=False,
        parameters=[ID_PARAMETER, IDEMPOTENCY_KEY_PARAMETER],
    )
    @action(detail=True, methods=["get", "post"], filterset_class=None)
    @idempotent
    def reviews(self, request: Request, pk: str) -> Response:
        if request.method == "POST":
            return self._review_create(request)
        # A list of another model than the viewset's: typed for the viewset's own.
        page = self.paginate_queryset(course_review_list(user=request.user, course_id=pk))  # type: ignore[arg-type]
        # Only an empty page needs to ask whether the course is there to be seen.
        if not page and not course_is_visible(user=request.user, course_id=pk):
            raise NotFound
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def _review_create(self, request: Request) -> Response:
        course = self.get_object()
        serializer = ReviewCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = review_create(user=cast(User, request.user), course=course, **serializer.validated_data)
        return Response(ReviewSerializer(review).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="The caller's enrollments (staff: everyone's)"),
    retrieve=extend_schema(summary="One of the caller's enrollments (staff: any)", parameters=[ID_PARAMETER]),
    partial_update=extend_schema(
        summary="Set the progress (0-100; 100 completes it). Other fields are read-only and ignored",
        request=EnrollmentProgressSerializer,
        responses={200: EnrollmentSerializer, 409: CONFLICT},
        parameters=[ID_PARAMETER],
    ),
)
class EnrollmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Enrollment]):
    """The caller's enrollments (staff: everyone's); someone else's is a 404, to read or to
    change."""

    permission_classes = [permissions.IsAuthenticated]
    filterset_class = EnrollmentFilter
    serializer_class = EnrollmentSerializer
    lookup_value_regex = ID_PATTERN

    def get_queryset(self) -> QuerySet[Enrollment]:
        return enrollment_list(user=self.request.user)

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.action == "partial_update":
            return EnrollmentProgressSerializer
        return EnrollmentSerializer

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        enrollment = self.get_object()
        serializer = self.get_serializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        if "progress" in serializer.validated_data:
            enrollment_update_progress(enrollment=enrollment, progress=serializer.validated_data["progress"])
        return Response(EnrollmentSerializer(enrollment).data)

    @extend_schema(
        summary="Cancel the enrollment, freeing its seat (a completed one: 409)",
        request=None,
        responses={200: EnrollmentSerializer, 409: CONFLICT},
        filters=False,
        parameters=[ID_PARAMETER, IDEMPOTENCY_KEY_PARAMETER],
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    @idempotent
    def cancel(self, request: Request, pk: str) -> Response:
        enrollment = enrollment_cancel(enrollment=self.get_object())
        return Response(EnrollmentSerializer(enrollment).data)


@extend_schema_view(
    list=extend_schema(
        summary="The caller's courses with their figures (staff: all courses)",
        responses={200: InstructorCourseSerializer(many=True), 403: FORBIDDEN},
    )
)
class InstructorCourseViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[Course]):
    """The instructor dashboard: the caller's courses with their figures (staff: all courses)."""

    permission_classes = [IsInstructorOrStaff]
    serializer_class = InstructorCourseSerializer

    def get_queryset(self) -> QuerySet[Course]:
        return instructor_course_list(user=self.request.user)
