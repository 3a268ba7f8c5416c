from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from core.deferred_page import DeferredPageMixin
from courses.selectors import programme_course_list
from courses.serializers import CourseListSerializer
from courses.views import ID_PARAMETER, ID_PATTERN

from .filters import ProgrammeFilter
from .models import Programme
from .selectors import programme_detail, programme_exists, programme_list
from .serializers import ProgrammeDetailSerializer, ProgrammeListSerializer


@extend_schema_view(
    list=extend_schema(summary="Programmes"),
    retrieve=extend_schema(summary="A programme with its description and published courses", parameters=[ID_PARAMETER]),
)
class ProgrammeViewSet(
    DeferredPageMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Programme]
):
    """Programmes: public reads."""

    filterset_class = ProgrammeFilter
    lookup_value_regex = ID_PATTERN
    serializer_classes: dict[str, type[BaseSerializer[Any]]] = {
        "list": ProgrammeListSerializer,
        "retrieve": ProgrammeDetailSerializer,
        "courses": CourseListSerializer,
    }

    def get_queryset(self) -> QuerySet[Programme]:
        if self.action == "retrieve":
            return programme_detail()
        return programme_list()

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        return self.serializer_classes.get(self.action, ProgrammeListSerializer)

    @extend_schema(
        summary="The programme's published courses in programme order, as course list items",
        responses=CourseListSerializer(many=True),
        filters=False,
        parameters=[ID_PARAMETER],
    )
    @action(detail=True, methods=["get"], filterset_class=None)
    def courses(self, request: Request, pk: str) -> Response:
        page = self.paginate_queryset(programme_course_list(programme_id=pk))
        # Only an empty page needs to ask whether the programme exists.
        if not page and not programme_exists(programme_id=pk):
            raise NotFound
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
