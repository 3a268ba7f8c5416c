import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from core.filters import StrictBooleanFilter, TieBreakOrderingFilter

from .models import Programme


class ProgrammeFilter(django_filters.FilterSet):
    # A boolean in the schema (its choices are the strings "true" and "false" on the wire).
    is_active = extend_schema_field(OpenApiTypes.BOOL)(StrictBooleanFilter())
    search = django_filters.CharFilter(field_name="title", lookup_expr="icontains", max_length=200)
    ordering = TieBreakOrderingFilter(fields=("title", "created_at"), default=("title",))

    class Meta:
        model = Programme
        fields = ("is_active", "search", "ordering")
