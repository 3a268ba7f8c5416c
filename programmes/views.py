from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from core.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from core.schema import FORBIDDEN, ID_PARAMETER, ID_PATTERN
from courses.serializers import CourseListSerializer

from .filters import ProgrammeFilter
from .models import Programme
from .permissions import StaffWritesOrReadOnly
from .selectors import (
    programme_course_list,
    programme_detail,
    programme_editable_list,
    programme_exists,
    programme_list,
)
from .serializers import ProgrammeDetailSerializer, ProgrammeListSerializer, ProgrammeWriteSerializer
from .services import programme_create, programme_delete, programme_update


@extend_schema_view(
    list=extend_schema(summary="Programmes"),
    retrieve=extend_schema(summary="A programme with its description and published courses", parameters=[ID_PARAMETER]),
    create=extend_schema(
        summary="Create a programme (staff)",
        request=ProgrammeWriteSerializer,
        responses={201: ProgrammeDetailSerializer, 403: FORBIDDEN},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    ),
    update=extend_schema(
        summary="Replace a programme (staff)",
        request=ProgrammeWriteSerializer,
        responses={200: ProgrammeDetailSerializer, 403: FORBIDDEN},
        parameters=[ID_PARAMETER],
    ),
    partial_update=extend_schema(
        summary="Change a programme (staff)",
        request=ProgrammeWriteSerializer,
        responses={200: ProgrammeDetailSerializer, 403: FORBIDDEN},
        parameters=[ID_PARAMETER],
    ),
    destroy=extend_schema(
        summary="Delete a programme (staff); its courses stay",
        responses={204: None, 403: FORBIDDEN},
        parameters=[ID_PARAMETER],
    ),
)
class ProgrammeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Programme]):
    """Programmes: public reads, staff writes."""

    permission_classes = [StaffWritesOrReadOnly]
    cursor_pages = True  # core.pagination.cursor_pages; the `courses` action turns it off
    filterset_class = ProgrammeFilter
    # Cached anonymous reads, with the catalogue families each page reads (core.catalogue_routes).
    catalogue_families = {
        "list": ("programmes", "courses"),
        "retrieve": ("programmes", "courses", "users"),
        "courses": ("programmes", "courses", "users", "reviews"),
    }
    lookup_value_regex = ID_PATTERN
    serializer_classes: dict[str, type[BaseSerializer[Any]]] = {
        "list": ProgrammeListSerializer,
        "retrieve": ProgrammeDetailSerializer,
        "courses": CourseListSerializer,
        "create": ProgrammeWriteSerializer,
        "update": ProgrammeWriteSerializer,
        "partial_update": ProgrammeWriteSerializer,
    }

    def get_queryset(self) -> QuerySet[Programme]:
        if self.action in ("update", "partial_update", "destroy"):
            return programme_editable_list()
        if self.action == "retrieve":
            return programme_detail()
        return programme_list()

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        return self.serializer_classes.get(self.action, ProgrammeListSerializer)

    def _written(self, programme: Programme) -> dict[str, Any]:
        """A programme just written, as `GET /programmes/{id}/` shows it."""
        fresh = programme_detail().get(pk=programme.pk)
        return ProgrammeDetailSerializer(fresh, context=self.get_serializer_context()).data

    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        programme = programme_create(**serializer.validated_data)
        return Response(self._written(programme), status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        programme = self.get_object()
        serializer = self.get_serializer(data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        programme_update(programme=programme, fields=serializer.validated_data)
        return Response(self._written(programme))

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        programme_delete(programme=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="The programme's published courses in programme order, as course list items",
        responses=CourseListSerializer(many=True),
        filters=False,
        parameters=[ID_PARAMETER],
    )
    # Programme order is a position on the link, not a keyset: page numbers only (a
    # `cursor` is then an unknown parameter, ignored, and the schema does not offer it).
    @action(detail=True, methods=["get"], filterset_class=None, cursor_pages=False)
    def courses(self, request: Request, pk: str) -> Response:
        # A list of another model than the viewset's: typed for the viewset's own.
        page = self.paginate_queryset(programme_course_list(programme_id=pk))  # type: ignore[arg-type]
        # Only an empty page needs to ask whether the programme exists.
        if not page and not programme_exists(programme_id=pk):
            raise NotFound
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
