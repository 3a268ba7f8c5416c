import django_filters

from core.filters import StrictBooleanFilter, TieBreakOrderingFilter

from .models import Programme


class ProgrammeFilter(django_filters.FilterSet):
    is_active = StrictBooleanFilter()
    search = django_filters.CharFilter(field_name="title", lookup_expr="icontains", max_length=200)
    ordering = TieBreakOrderingFilter(fields=("title", "created_at"), default=("title",))

    class Meta:
        model = Programme
        fields = ("is_active", "search", "ordering")
