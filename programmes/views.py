from django.db.models import QuerySet
from rest_framework import mixins, viewsets

from .filters import ProgrammeFilter
from .models import Programme
from .selectors import programme_list
from .serializers import ProgrammeListSerializer


class ProgrammeViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[Programme]):
    """Programmes: public reads."""

    serializer_class = ProgrammeListSerializer
    filterset_class = ProgrammeFilter
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self) -> QuerySet[Programme]:
        return programme_list()
